"""Show a docstring verbatim when it is plain text that reST would misread.

lamina's docstrings are written to be read in ``help()``: shapes and formulas in plain text
(``x: (N, C, H, W)``, ``|x|``, ``2*ph``, ``name_``), with reST markup where it helps. A
docstring that parses as reST without a single warning is rendered as reST; any other one is
shown as a literal block, exactly as ``help()`` shows it, instead of being mangled (or failing
the ``-W`` build).
"""

import copy
import io

from docutils.frontend import get_default_settings
from docutils.parsers.rst import Parser
from docutils.readers.standalone import Reader
from docutils.utils import new_document

PARSER, READER = Parser(), Reader()
SETTINGS = get_default_settings(Parser, Reader)  # built once: docutils' option parsing is slow
SETTINGS.report_level, SETTINGS.halt_level = 2, 5
SETTINGS.file_insertion_enabled = SETTINGS.raw_enabled = False


def parses_cleanly(text):
    """True when docutils parses `text` (and resolves its references and substitutions) with
    no message of level WARNING or above."""
    settings = copy.copy(SETTINGS)
    settings.warning_stream = stream = io.StringIO()
    document = new_document("<docstring>", settings)
    PARSER.parse(text, document)
    document.transformer.populate_from_components((PARSER, READER))
    document.transformer.apply_transforms()
    return not stream.getvalue()


def as_literal(lines):
    """`lines` as a reST literal block."""
    return ["::", ""] + ["   " + line if line.strip() else "" for line in lines] + [""]


def keep_or_quote(app, what, name, obj, options, lines):
    if lines and not parses_cleanly("\n".join(lines)):
        lines[:] = as_literal(lines)


def setup(app):
    app.connect("autodoc-process-docstring", keep_or_quote, priority=900)  # after napoleon
    return {"parallel_read_safe": True, "parallel_write_safe": True}
