"""``.. markdown-table:: PATH`` with ``:section: TITLE``: the first pipe table under that
heading of a Markdown file, as a reST table (so BENCHMARKS.md stays the one home of the
benchmark numbers)."""

import pathlib

from docutils import nodes
from docutils.parsers.rst import Directive, directives

from sphinx.errors import ExtensionError


def markdown_table(text, section):
    """Rows (lists of cells) of the first pipe table after the heading `section`."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines)
              if line.lstrip("#").strip() == section and line.startswith("#")]
    if not starts:
        raise ExtensionError(f"markdown-table: no heading {section!r}")
    rows = []
    for line in lines[starts[0] + 1:]:
        if line.startswith("|"):
            cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
            if not all(set(cell) <= set("-: ") for cell in cells):
                rows.append(cells)
        elif rows:
            break
    if not rows:
        raise ExtensionError(f"markdown-table: no table under {section!r}")
    return rows


class MarkdownTable(Directive):
    required_arguments = 1
    option_spec = {"section": directives.unchanged_required}

    def run(self):
        env = self.state.document.settings.env
        relative, path = env.relfn2path(self.arguments[0])
        env.note_dependency(relative)
        rows = markdown_table(pathlib.Path(path).read_text(encoding="utf-8"),
                              self.options["section"])
        table = nodes.table()
        group = nodes.tgroup(cols=len(rows[0]))
        table += group
        group += [nodes.colspec(colwidth=1) for _ in rows[0]]
        for part, part_rows in ((nodes.thead(), rows[:1]), (nodes.tbody(), rows[1:])):
            for cells in part_rows:
                row = nodes.row()
                for cell in cells:
                    entry = nodes.entry()
                    inline, _ = self.state.inline_text(cell.replace("`", "``"), self.lineno)
                    entry += nodes.paragraph("", "", *inline)
                    row += entry
                part += row
            group += part
        return [table]


def setup(app):
    app.add_directive("markdown-table", MarkdownTable)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
