"""parsing.formats against hostile files: each is small, built here, and would hold a parse worker for
minutes or gigabytes without the bounds of ``parsing.formats.limits``; each must be refused or read within
bounds in well under a few seconds."""

from __future__ import annotations

import io
import re
import time
import zipfile

import cv2
import docx
import numpy as np
import openpyxl
import pymupdf
import pytest

from parsing.document import Unreadable
from parsing.formats import limits, ocr, read
from parsing.formats.kinds import kind_of
from parsing.formats.limits import MAX_PAGE_PIXELS, PAGE_NUMBER, is_cjk

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class _Timer:
    def __enter__(self) -> _Timer:
        self.start = time.monotonic()
        return self

    def __exit__(self, *_: object) -> None:
        self.seconds = time.monotonic() - self.start


def _rezipped(body: bytes, change: dict[str, bytes], extra: int = 0) -> bytes:
    """A zip with some entries' contents replaced and ``extra`` empty entries added."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(body)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            target.writestr(item.filename, change.get(item.filename, source.read(item.filename)))
        for k in range(extra):
            target.writestr(f"extra/item{k}.xml", b"")
    return out.getvalue()


def _docx(text: str = "一、总体情况") -> bytes:
    document = docx.Document()
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _xlsx(fill, sheets: int = 1) -> bytes:
    book = openpyxl.Workbook()
    for k in range(sheets):
        fill(book.active if k == 0 else book.create_sheet(f"S{k}"))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# -- builders of the hostile files (also used to time the code before the bounds) ------------------------


def html_spans() -> bytes:
    """61 KB: one row of 1,600 cells each spanning 99 rows and 999 columns, over 39 more rows."""
    cells = '<td rowspan="99" colspan="999">x</td>' * 1600
    return f"<html><body><table><tr>{cells}</tr>{'<tr><td>a</td><td>b</td></tr>' * 39}</table></body></html>".encode()


def html_css() -> bytes:
    return ("<html><head><style>" + "a" * 20000 + "</style></head><body><p>一、总体情况</p></body></html>").encode()


def docx_bomb(paragraphs: int = 8_000_000) -> bytes:
    """A real DOCX whose document.xml holds millions of empty paragraphs: ~50 KB that inflates to 48 MiB."""
    body = _docx()
    xml = zipfile.ZipFile(io.BytesIO(body)).read("word/document.xml")
    return _rezipped(body, {"word/document.xml": xml.replace(b"</w:body>", b"<w:p/>" * paragraphs + b"</w:body>")})


def xlsx_merges() -> bytes:
    """A sheet 5,000 rows deep with 1,000 merged ranges over all of it (5 KB)."""
    def fill(sheet) -> None:
        sheet["A5000"] = "x"

    body = _xlsx(fill)
    xml = zipfile.ZipFile(io.BytesIO(body)).read("xl/worksheets/sheet1.xml")
    merges = b'<mergeCells count="1000">' + b'<mergeCell ref="A1:GR5000"/>' * 1000 + b"</mergeCells>"
    return _rezipped(body, {"xl/worksheets/sheet1.xml": xml.replace(b"</sheetData>", b"</sheetData>" + merges)})


def xlsx_wide_sheets(sheets: int = 30) -> bytes:
    """Sheets each holding one cell at GR5000, so each reads as a 5,000 × 200 grid."""
    def fill(sheet) -> None:
        sheet["GR5000"] = 1

    return _xlsx(fill, sheets)


def pdf_huge_scan(side: float = 14400) -> bytes:
    """One page ``side`` pt square (14,400: 5 m a side) holding an image and no text: a scan to rasterise."""
    ok, png = cv2.imencode(".png", np.full((20, 20, 3), 255, np.uint8))
    pdf = pymupdf.open()
    page = pdf.new_page(width=side, height=side)
    page.insert_image(pymupdf.Rect(0, 0, 100, 100), stream=png.tobytes())
    return pdf.tobytes()


def pdf_dense_grid(n: int = 50) -> bytes:
    """A page ruled into n × n cells, a character in each of its first row's and its diagonal's (Chinese, or
    the page would go to OCR as garbled)."""
    pdf = pymupdf.open()
    page = pdf.new_page(width=842, height=842)
    step = 800 / n
    for k in range(n + 1):
        page.draw_line((20, 20 + k * step), (820, 20 + k * step), width=0.5)
        page.draw_line((20 + k * step, 20), (20 + k * step, 820), width=0.5)
    for i, j in sorted({*((0, j) for j in range(n)), *((k, k) for k in range(n))}):
        page.insert_text((22 + j * step, 20 + (i + 0.8) * step), "一二三四五六七八九十"[(i + j) % 10],
                         fontname="china-s", fontsize=8)
    return pdf.tobytes()


def graph_paper(cells: int, spacing: int = 16) -> np.ndarray:
    """A binary image (ink 255) ruled every ``spacing`` pixels into cells × cells."""
    size = cells * spacing + 2
    binary = np.zeros((size, size), np.uint8)
    for k in range(0, size, spacing):
        binary[k:k + 2, :] = 255
        binary[:, k:k + 2] = 255
    return binary


def png_bomb(side: int = 9000) -> bytes:
    """A grey PNG declaring side × side pixels (81 Mpx), ~100 KB on disk."""
    ok, png = cv2.imencode(".png", np.full((side, side), 255, np.uint8), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    return png.tobytes()


# -- HTML ---------------------------------------------------------------------------------------------------


def test_spans_cannot_explode_an_html_table() -> None:
    with _Timer() as timer, pytest.raises(Unreadable, match="cells"):
        read(html_spans(), "text/html")
    assert timer.seconds < 2


def test_colspan_is_clamped_as_browsers_clamp_it() -> None:
    body = '<html><body><table><tr><td colspan="5000">x</td><td>y</td></tr><tr><td>1</td></tr></table></body></html>'
    [table] = read(body.encode(), "text/html").tables
    assert len(table.rows[0]) == 1001 and table.rows[0][999] == "x" and table.rows[0][1000] == "y"


def test_a_style_without_braces_is_read_in_linear_time() -> None:
    with _Timer() as timer:
        document = read(html_css(), "text/html")
    assert document.paragraphs == ["一、总体情况"]
    assert timer.seconds < 0.5


# -- zips ---------------------------------------------------------------------------------------------------


def test_a_docx_zip_bomb_is_refused_before_it_inflates() -> None:
    bomb = docx_bomb()
    assert len(bomb) < 200_000
    with _Timer() as timer, pytest.raises(Unreadable, match="word/document.xml inflates .*-fold"):
        read(bomb, DOCX)
    assert timer.seconds < 1


def test_a_zip_of_too_many_entries_is_refused_by_the_sniffer_too() -> None:
    body = _rezipped(_docx(), {}, extra=limits.MAX_ZIP_ENTRIES + 1)
    with pytest.raises(Unreadable, match="entries"):
        kind_of(body)
    with pytest.raises(Unreadable, match="entries"):
        read(body, DOCX)


def test_check_zip_passes_a_real_docx_and_refuses_declared_sizes_past_the_caps(monkeypatch) -> None:
    limits.check_zip(_docx(), "docx")
    monkeypatch.setattr(limits, "MAX_ZIP_TOTAL_BYTES", 1000)
    with pytest.raises(Unreadable, match="the zip inflates to"):
        limits.check_zip(_docx(), "docx")


def test_overlapping_merges_cannot_multiply_a_sheet() -> None:
    with _Timer() as timer, pytest.raises(Unreadable, match="merged"):
        read(xlsx_merges(), XLSX)
    assert timer.seconds < 3


def test_a_workbook_of_many_full_sized_sheets_is_refused() -> None:
    with _Timer() as timer, pytest.raises(Unreadable, match="cells"):
        read(xlsx_wide_sheets(), XLSX)
    assert timer.seconds < 5


def test_a_broken_cell_inside_a_sheet_is_unreadable_not_a_crash() -> None:
    def fill(sheet) -> None:
        sheet["A1"] = 1

    body = _xlsx(fill)
    xml = zipfile.ZipFile(io.BytesIO(body)).read("xl/worksheets/sheet1.xml")
    broken = _rezipped(body, {"xl/worksheets/sheet1.xml": re.sub(rb"<v>1</v>", b"<v>one</v>", xml)})
    with pytest.raises(Unreadable, match="XLSX"):
        read(broken, XLSX)


# -- PDF ----------------------------------------------------------------------------------------------------


def test_a_huge_scanned_page_is_rasterised_within_the_pixel_cap() -> None:
    from parsing.formats.pdf import _pixmap

    with pymupdf.open(stream=pdf_huge_scan(), filetype="pdf") as pdf, _Timer() as timer:
        pixmap = _pixmap(pdf[0])
    assert pixmap.width * pixmap.height <= MAX_PAGE_PIXELS and pixmap.width >= 2000
    assert timer.seconds < 2


def test_a_page_of_thousands_of_cells_is_read_as_text_only() -> None:
    with _Timer() as timer:
        document = read(pdf_dense_grid(), "application/pdf")
    assert document.tables == []
    assert any("read as text only" in note for note in document.notes)
    assert "一二三四" in document.text
    assert timer.seconds < 3


# -- OCR ----------------------------------------------------------------------------------------------------


def test_graph_paper_is_not_a_table_and_costs_nothing() -> None:
    notes: list[str] = []
    with _Timer() as timer:
        grids, _ = ocr.find_grids(graph_paper(90), 12.0, notes, "page 1")
    assert grids == [] and notes == ["page 1: a ruling of 90 × 90 cells is not read as a table"]
    assert timer.seconds < 2


def test_a_large_ruled_grid_is_found_in_linear_time() -> None:
    """70 × 70 cells (under the cap): their union and their rectangles without a scan of the grid per cell."""
    with _Timer() as timer:
        [grid], _ = ocr.find_grids(graph_paper(70), 12.0, [], "page 1")
        rects = [grid.rect(cell) for cell in set(grid.cell_of.values())]
    assert len(rects) == 70 * 70 and len(grid.xs) == len(grid.ys) == 71
    assert timer.seconds < 2


def test_an_image_bomb_is_refused_from_its_header() -> None:
    bomb = png_bomb()
    assert len(bomb) < 1_000_000
    with _Timer() as timer, pytest.raises(Unreadable, match="9000 × 9000 pixels"):
        read(bomb, "image/png")
    assert timer.seconds < 1


def test_a_large_scan_is_scaled_to_the_page_cap_and_pages_are_decoded_one_at_a_time() -> None:
    ok, png = cv2.imencode(".png", np.full((4000, 4000), 255, np.uint8))
    made: list[int] = []

    def pages():
        for k in range(2):
            made.append(k)
            yield png.tobytes()

    images = ocr._images(pages(), [])
    first = next(images)
    assert made == [0]  # the second page is not made until the first is read
    assert first.shape[0] * first.shape[1] <= MAX_PAGE_PIXELS and first.shape[2] == 3


def test_a_multipage_tiff_is_read_only_to_the_page_cap(monkeypatch) -> None:
    monkeypatch.setattr(ocr, "MAX_OCR_PAGES", 2)
    ok, tiff = cv2.imencodemulti(".tiff", [np.full((60, 60, 3), 255, np.uint8)] * 50)
    document = ocr.recognise([tiff.tobytes()], "image")
    assert document.pages == 2
    assert document.notes == ["only the first 2 pages are read by OCR; the rest are left out"]


# -- shared definitions --------------------------------------------------------------------------------------


def test_one_cjk_definition_keeps_full_width_digits_apart() -> None:
    assert [is_cjk(c) for c in "中，“。（"] == [True] * 5
    assert [is_cjk(c) for c in "１Ａa1 "] == [False] * 5


@pytest.mark.parametrize("text, number", [("- 3 -", True), ("第3页", True), ("3/12", True), ("第 3 页 共 12 页", True),
                                          ("3／12", True), ("12345", False), ("3项", False)])
def test_one_page_number_pattern(text: str, number: bool) -> None:
    assert bool(PAGE_NUMBER.match(text)) is number
