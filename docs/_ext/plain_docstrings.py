"""Show a docstring verbatim when it is plain text that reST would misread.

lamina's docstrings are written to be read in ``help()``: shapes and formulas in plain text
(``x: (N, C, H, W)``, ``|x|``, ``2*ph``, ``name_``), with reST markup where it helps. A
docstring that parses as reST without a single warning is rendered as reST; any other one is
shown as a literal block, exactly as ``help()`` shows it, instead of being mangled (or failing
the ``-W`` build).
"""

import io

from docutils.core import publish_doctree


def parses_cleanly(text):
    """True when docutils parses `text` with no message of level WARNING or above."""
    stream = io.StringIO()
    publish_doctree(text, settings_overrides={
        "report_level": 2, "halt_level": 5, "warning_stream": stream,
        "file_insertion_enabled": False, "raw_enabled": False})
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
