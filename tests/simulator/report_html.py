"""A report's body as county portals publish it: prose paragraphs and the three tables as real HTML grids.

Portals paste reports from Word or type them into a CMS editor, so the markup of the same template varies:
``<th>`` or ``<td>`` headers, Word's ``<p><span>`` inside cells, ``&nbsp;`` in blank cells, tables wrapped in
divs, the application table's header merged as in the template or flattened to one row, its group labels
merged down (rowspan) or printed once above blank cells. Each report draws its own (seeded by its identity).
"""

from __future__ import annotations

import html
import random
import re
from dataclasses import dataclass

from .documents import TABLE, Grid, Report, Span, grids

_HEADING = re.compile(r"^(?:[一二三四五六七八九十]+、|（[一二三四五六七八九十]+）|\d+、)")
_CLASSES = ("MsoNormalTable", "MsoTableGrid", "table", "xxgk-table", "ke-zeroborder", "")


@dataclass(frozen=True)
class Style:
    header_tag: str = "td"
    table_class: str = "MsoNormalTable"
    wrappers: int = 0
    word: bool = False  # cells hold Word's <p><span>…</span></p>
    blank: str = ""  # what a blank cell holds: "" or "&nbsp;"
    header: str = "template"  # the application table's header: "template" | "flat"
    merged: bool = True

    @classmethod
    def draw(cls, identity: str) -> Style:
        rng = random.Random(f"html:{identity}")
        return cls(rng.choice(["td", "td", "th"]), rng.choice(_CLASSES), rng.choice([0, 0, 1, 2]),
                   rng.random() < 0.4, rng.choice(["", "&nbsp;"]), "flat" if rng.random() < 0.15 else "template",
                   rng.random() > 0.15)


def _cell(span: Span, style: Style) -> str:
    tag = style.header_tag if span.header else "td"
    attrs = (f' rowspan="{span.rowspan}"' if span.rowspan > 1 else "") + (
        f' colspan="{span.colspan}"' if span.colspan > 1 else "")
    text = html.escape(span.text) if span.text else style.blank
    if style.word and span.text:
        text = f"<p align=\"center\"><span>{text}</span></p>"
    return f'<{tag}{attrs} valign="middle">{text}</{tag}>'


def table_html(grid: Grid, style: Style) -> str:
    rows = "".join("<tr>" + "".join(_cell(s, style) for s in row) + "</tr>\n" for row in grid.by_row())
    klass = f' class="{style.table_class}"' if style.table_class else ""
    table = f'<table{klass} border="1" cellspacing="0" cellpadding="0" width="100%"><tbody>\n{rows}</tbody></table>'
    for k in range(style.wrappers):
        table = f'<div class="{"table-wrap" if k == 0 else "Section1"}">{table}</div>'
    return table


def report_html(report: Report, style: Style | None = None, title: bool = False) -> str:
    """The article body; `title` puts the report's heading first (a file's print version has it)."""
    style = style or Style.draw(report.identity)
    tables = grids(report, style.header, style.merged)
    out = [f'<p style="text-align:center"><strong>{html.escape(report.title)}</strong></p>'] if title else []
    for line in report.lines:
        if line.startswith(TABLE):
            out.append(table_html(tables[line.removeprefix(TABLE)], style))
        elif _HEADING.match(line):
            out.append(f"<p><strong>{html.escape(line)}</strong></p>")
        else:
            out.append(f'<p style="text-indent:2em;">{html.escape(line)}</p>')
    return "\n".join(out)
