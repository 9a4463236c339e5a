"""A DOCX report (and DOC, WPS, RTF once LibreOffice has made them DOCX): paragraphs and tables in body order.

python-docx's ``row.cells`` already gives a merged cell once per grid position it covers, which is
exactly the grid ``Table`` promises. A table used only to frame the report (one column, or a cell
holding whole paragraphs) is read through as paragraphs, so its inner tables are found as tables.
"""

from __future__ import annotations

import io
import zipfile

import docx
from docx.opc.exceptions import PackageNotFoundError
from docx.oxml.ns import qn
from docx.table import Table as DocxTable
from docx.text.paragraph import Paragraph
from lxml import etree

from parsing.document import Block, Document, Table, Unreadable
from parsing.formats.limits import check_zip

_P, _TBL, _SDT, _SDT_CONTENT, _CUSTOM_XML = qn("w:p"), qn("w:tbl"), qn("w:sdt"), qn("w:sdtContent"), qn("w:customXml")
#: A cell with more text than this holds paragraphs of a report, not a figure or a label.
_LAYOUT_CELL_CHARS = 400


def read_docx(body: bytes, format: str = "docx") -> Document:
    check_zip(body, format)
    try:
        document = docx.Document(io.BytesIO(body))
    except (PackageNotFoundError, zipfile.BadZipFile, KeyError, ValueError, etree.XMLSyntaxError, OSError) as e:
        raise Unreadable(f"{format.upper()}: not a readable Word document ({type(e).__name__}: {e})") from e
    blocks: list[Block] = []
    _read(document.element.body, document, blocks)
    return Document(format, blocks)


def _read(container, parent, blocks: list[Block]) -> None:
    for child in container.iterchildren():
        if child.tag == _P:
            text = Paragraph(child, parent).text.strip()
            if text:
                blocks.append(text)
        elif child.tag == _TBL:
            table = DocxTable(child, parent)
            cells = [row.cells for row in table.rows]
            rows = [[_cell_text(cell) for cell in row] for row in cells]
            if _is_layout(cells, rows):
                for cell in _distinct(cells):
                    _read(cell._tc, cell, blocks)
            elif rows:
                width = max(len(r) for r in rows)
                grid = [r + [""] * (width - len(r)) for r in rows]
                blocks.append(Table(grid, f"table {sum(isinstance(b, Table) for b in blocks) + 1}"))
        elif child.tag in (_SDT, _CUSTOM_XML):
            content = child.find(_SDT_CONTENT) if child.tag == _SDT else child
            if content is not None:
                _read(content, parent, blocks)


def _is_layout(cells: list[list], rows: list[list[str]]) -> bool:
    one_column = all(len({cell._tc for cell in row}) <= 1 for row in cells)
    return one_column or any(len(text) > _LAYOUT_CELL_CHARS for row in rows for text in row)


def _distinct(cells: list[list]) -> list:
    """Each cell once, in reading order (a merged cell appears in every row and column it covers)."""
    seen, distinct = set(), []
    for row in cells:
        for cell in row:
            if cell._tc not in seen:
                seen.add(cell._tc)
                distinct.append(cell)
    return distinct


def _cell_text(cell) -> str:
    """A cell's paragraphs, one a line, with the text of any table nested in it (a row a line)."""
    lines: list[str] = []
    for child in cell._tc.iterchildren():
        if child.tag == _P:
            lines.append(Paragraph(child, cell).text.strip())
        elif child.tag == _TBL:
            for row in DocxTable(child, cell).rows:
                lines.append(" ".join(text for text in map(_cell_text, row.cells) if text))
    return "\n".join(line for line in lines if line)
