"""A report as a Word file and its tables as a spreadsheet (附表), as agencies attach them.

DOCX: 2021 reports fill the official blank template's own three tables (corpus/report-template-2021.docx,
国办公开办函〔2021〕30号) and put the prose around them; 2019-format reports have no bundled template, so
their tables are built from the grids with the same merges. XLSX: one sheet, the report's title and the
three tables under their section headings, merged cells as in the template; some agencies type the
numbers as text, most as numbers.
"""

from __future__ import annotations

import copy
import io
import random
import re
from pathlib import Path
from xml.sax.saxutils import escape

from .documents import TABLE, Grid, Report, grids
from .files import stable_zip

TEMPLATE_DOCX = Path(__file__).with_name("corpus") / "report-template-2021.docx"
_SECTION = re.compile(r"^(?:[一二三四五六七八九十]+、|\d+、)")


def make_docx(report: Report) -> bytes:
    import docx
    from docx.table import Table

    document = docx.Document(str(TEMPLATE_DOCX))
    body = document.element.body
    tables = dict(zip(("art20", "applications", "review"), body.tbl_lst, strict=True))
    for element in list(body):  # the template's paragraphs go; its tables come back in the report's order
        if element is not body.sectPr:
            body.remove(element)
    shaped = grids(report)
    if report.template != "2021":
        look = tables["applications"].tblPr  # the template's borders and layout
        tables = {name: _built_table(grid, look) for name, grid in shaped.items()}
    document.add_paragraph(report.title).alignment = 1
    for line in report.lines:
        if line.startswith(TABLE):
            name = line.removeprefix(TABLE)
            if report.template == "2021":
                table = Table(tables[name], document._body)
                cells = table._cells  # the grid, row by row (table.cell() recomputes it at every call)
                for span in shaped[name].spans:
                    if span.key:
                        cells[span.row * shaped[name].cols + span.col].text = span.text
            body.sectPr.addprevious(tables[name])
        else:
            document.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    return stable_zip(out.getvalue())


_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_WIDTH = 8800  # twips across the text column of an A4 page


def _built_table(grid: Grid, look):  # -> a w:tbl element
    """The grid as Word writes merged cells (w:gridSpan across, w:vMerge down), built as XML at once:
    python-docx's cell.merge() walks the whole table for every merge."""
    from docx.oxml import parse_xml

    covering = {(r, c): s for s in grid.spans for r in range(s.row, s.row + s.rowspan)
                for c in range(s.col, s.col + s.colspan)}
    width = _WIDTH // grid.cols
    rows = []
    for r in range(grid.rows):
        cells, c = [], 0
        while c < grid.cols:
            span = covering.get((r, c))
            extent = span.colspan if span else 1
            props = f'<w:tcW w:w="{width * extent}" w:type="dxa"/>' + (
                f'<w:gridSpan w:val="{extent}"/>' if extent > 1 else "")
            text = ""
            if span and span.rowspan > 1:
                props += '<w:vMerge w:val="restart"/>' if span.row == r else "<w:vMerge/>"
            if span and span.row == r:
                text = f"<w:r><w:t xml:space=\"preserve\">{escape(span.text)}</w:t></w:r>" if span.text else ""
            cells.append(f'<w:tc><w:tcPr>{props}</w:tcPr><w:p><w:pPr><w:jc w:val="center"/></w:pPr>{text}</w:p></w:tc>')
            c += extent
        rows.append(f"<w:tr>{''.join(cells)}</w:tr>")
    columns = "".join(f'<w:gridCol w:w="{width}"/>' for _ in range(grid.cols))
    table = parse_xml(f'<w:tbl xmlns:w="{_W}"><w:tblGrid>{columns}</w:tblGrid>{"".join(rows)}</w:tbl>')
    table.insert(0, copy.deepcopy(look))
    return table


def make_xlsx(report: Report) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment

    rng = random.Random(f"xlsx:{report.identity}")
    as_text = rng.random() < 0.3
    book = Workbook()
    sheet = book.active
    sheet.title = "附表"
    sheet.cell(1, 1, report.title)
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=15)
    row = 3
    headings = [line for line in report.lines if _SECTION.match(line)]
    for name, grid in grids(report).items():
        caption = next((h for h in headings if _caption(name, h)), name)
        sheet.cell(row, 1, caption)
        row += 1
        for span in grid.spans:
            value = report.stats.cells[span.key] if span.key else span.text
            if value is None or value == "":
                value = None
            elif as_text and isinstance(value, int | float):
                value = span.text
            cell = sheet.cell(row + span.row, 1 + span.col, value)
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            if isinstance(value, int) and report.stats.thousands:
                cell.number_format = "#,##0"
            if span.rowspan > 1 or span.colspan > 1:
                sheet.merge_cells(start_row=row + span.row, start_column=1 + span.col,
                                  end_row=row + span.row + span.rowspan - 1, end_column=span.col + span.colspan)
        row += grid.rows + 1
    out = io.BytesIO()
    book.save(out)
    return stable_zip(out.getvalue())


def _caption(name: str, heading: str) -> bool:
    return {"art20": "主动", "applications": "收到和处理", "review": "行政复议"}[name] in heading
