"""A PDF report: its text layer read into paragraphs and tables, page by page, in reading order.

Tables are found by pdfplumber from the rules drawn on the page, counting only rules that show: WPS
and Word exports paint every text line on a white rectangle, and those invisible edges would turn
whole pages of prose into one-column "tables". A report's application table (28 rows) always runs
over a page break, often with no rule closing it at the page's foot, so a table's visible columns
running past its last rule close it there, and the part that continues at the top of the next page
is stitched to it; a cell cut by the break ("（四）无" | "法提供") is joined into one. Renderers leave rules out
(MuPDF draws a merged cell's borders in part, a row at a page's top with its sides only): such rows are closed by
rules drawn in, and text inside a table that no found cell holds is put in the grid positions it was printed over.

Text comes from pdfplumber's characters; a page whose fonts lack a ToUnicode map comes out as
``(cid:NN)``, private-use or replacement characters, or as no Chinese at all, and is read again with
PyMuPDF (same geometry, its own glyph decoding). A page with no text layer (a scan) is rasterised
and handed to OCR (``parsing.formats.ocr``).
"""

from __future__ import annotations

import io
import re
import statistics
from dataclasses import dataclass, field

import pdfplumber
import pymupdf
from pdfminer.psparser import PSException
from pdfplumber.utils.exceptions import MalformedPDFException, PdfminerException

from parsing.document import Block, Document, Table, Unreadable
from parsing.formats.limits import (
    CJK,
    HAN,
    MAX_OCR_PAGES,
    MAX_PAGE_CELLS,
    MAX_PAGE_CHARS,
    MAX_PAGE_EDGES,
    PAGE_NUMBER,
    scale_for,
)

MAX_PAGES = 200
#: Rasterisation for OCR: enough for 10.5 pt CJK glyphs to be recognised, small enough to be quick.
OCR_DPI = 200
_CJK = re.compile(f"[{HAN}]")
_CJK_OR_PUNCTUATION = re.compile(f"[{CJK}]")
_ITEM = re.compile(r"\s*(?:[（(][一二三四五六七八九十\d]+[)）]|[一二三四五六七八九十]+、|\d+\s*[.．、])")
_NUMBER_OR_MARK = re.compile(r"^[\s\d.,%／/\-—–－无]*$")
_TOLERANCE = 3.0
#: What pdfminer and MuPDF raise on a damaged file (pdfminer lets plain ValueErrors and KeyErrors out too).
_BROKEN = (PSException, PdfminerException, MalformedPDFException, ValueError, KeyError, TypeError)
_MUPDF_ERRORS = (pymupdf.FileDataError, pymupdf.mupdf.FzErrorBase, RuntimeError, ValueError)


@dataclass
class _Box:
    """Text in a rectangle of the page: a character, a table cell or a run of loose text."""

    x0: float
    top: float
    x1: float
    bottom: float
    text: str


@dataclass
class _Line:
    page: int
    top: float
    bottom: float
    x0: float
    x1: float
    text: str


@dataclass
class _Part:
    """The piece of a table on one page (its cells in page coordinates)."""

    page: int
    x0: float
    top: float
    x1: float
    bottom: float
    cells: list[_Box]
    #: Text inside the table that no cell found holds: a cell whose rules are drawn only in part (a rowspan
    #: cut by the page break, a merged header) is no cell to pdfplumber, yet its text is printed there.
    loose: list[_Box] = field(default_factory=list)


@dataclass
class _Page:
    number: int
    items: list[_Line | _Part | Block] = field(default_factory=list)


def read_pdf(body: bytes) -> Document:
    notes = []
    try:
        pdf, count = _open(body)
    except _BROKEN as e:
        # A download cut short or a damaged cross-reference table: MuPDF rebuilds what pdfminer cannot.
        repaired = _repaired(body)
        if repaired is None:
            raise Unreadable(f"PDF: cannot open the file ({type(e).__name__}: {e})") from e
        try:
            pdf, count = _open(repaired)
        except _BROKEN as again:
            raise Unreadable(f"PDF: cannot open the file, even repaired ({type(again).__name__}: {again})") from e
        body = repaired
        notes.append(f"the file is damaged ({type(e).__name__}: {e}); read as PyMuPDF repaired it")
    with pdf:
        if count == 0:
            raise Unreadable("PDF: the file has no pages")
        if count > MAX_PAGES:
            raise Unreadable(f"PDF: {count} pages, more than the {MAX_PAGES} a report can have")
        document = Document("pdf", pages=count, notes=notes)
        try:
            pages = _read_pages(pdf, body, document)
        except (PSException, PdfminerException, MalformedPDFException, *_MUPDF_ERRORS) as e:
            raise Unreadable(f"PDF: a page cannot be read ({type(e).__name__}: {e})") from e
    document.blocks = _assemble(pages, document.notes)
    return document


def _open(body: bytes):
    pdf = pdfplumber.open(io.BytesIO(body))
    try:
        return pdf, len(pdf.pages)
    except BaseException:
        pdf.close()
        raise


def _repaired(body: bytes) -> bytes | None:
    try:
        with pymupdf.open(stream=body, filetype="pdf") as doc:
            return doc.tobytes(garbage=1) if doc.page_count else None
    except _MUPDF_ERRORS:
        return None


def _read_pages(pdf, body: bytes, document: Document) -> list[_Page]:
    pages: list[_Page] = []
    scans: list[int] = []
    with pymupdf.open(stream=body, filetype="pdf") as mupdf:  # opening is cheap; pages load only when asked
        for number, plumbed in enumerate(pdf.pages, 1):
            page = plumbed.dedupe_chars()
            chars = _on_page([_Box(c["x0"], c["top"], c["x1"], c["bottom"], c["text"]) for c in page.chars], page)
            why = _garbled(chars)
            if not "".join(c.text for c in chars).strip():
                if page.images:
                    scans.append(number)
                pages.append(_Page(number))
            elif why and _garbled(again := _mupdf_chars(_page(mupdf, number))):
                document.notes.append(f"page {number}: text layer garbled ({why}), even for PyMuPDF; read by OCR")
                scans.append(number)
                pages.append(_Page(number))
            elif why:
                document.notes.append(f"page {number}: text layer garbled ({why}); re-read with PyMuPDF")
                pages.append(_read_page(number, page, _on_page(again, page), document.notes))
            else:
                pages.append(_read_page(number, page, chars, document.notes))
            plumbed.close()  # drop the page's parsed objects: a long report would hold them all
        if scans:
            _recognise(scans, pages, mupdf, document)
    return pages


def _on_page(chars: list[_Box], page) -> list[_Box]:
    """The characters printed on the page: text set outside it (a renderer's stray run at y < 0) shows nowhere."""
    x0, top, x1, bottom = page.bbox
    return [c for c in chars if x0 <= (c.x0 + c.x1) / 2 <= x1 and top <= (c.top + c.bottom) / 2 <= bottom]


def _garbled(chars: list[_Box]) -> str | None:
    """Why a page's text is not the text printed, or None: glyph ids, private-use, replacement or control
    characters; glyph ids passed off as code points (PyMuPDF's reading of a font without a ToUnicode
    map: a scatter of rare ideographs and symbols); or, in a Chinese report, next to no Chinese."""
    text = "".join(c.text for c in chars if not c.text.isspace())
    if not text:
        return None
    cid = sum(c.text.startswith("(cid:") for c in chars)
    bad = cid + sum("\ue000" <= ch <= "\uf8ff" or ch == "\ufffd" or ord(ch) < 32 for ch in text)
    if bad >= max(3, 0.1 * len(chars)):
        return "(cid:NN) glyphs" if cid else "private-use, replacement or control characters"
    if len(text) >= 8 and sum(not _common(ch) for ch in text) > 0.3 * len(text):
        return "characters no Chinese report uses"
    if len(text) >= 100 and len(_CJK.findall(text)) < 0.05 * len(text):
        return "almost no Chinese"
    return None


def _common(ch: str) -> bool:
    """A character of ordinary Chinese text: ASCII, CJK punctuation and full-width forms, or one of
    GB2312's 6,763 hanzi (99.99% of modern running text)."""
    if ch.isascii() or "\u3000" <= ch <= "\u303f" or "\uff00" <= ch <= "\uffef" or ch in "“”‘’—…·×√○●■□△":
        return True
    if not _CJK.match(ch):
        return False
    try:
        ch.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def _page(mupdf, number: int):
    if number > mupdf.page_count:
        raise Unreadable(f"PDF: damaged; pdfminer finds page {number}, PyMuPDF only {mupdf.page_count} pages")
    return mupdf[number - 1]


def _mupdf_chars(page) -> list[_Box]:
    chars = []
    for block in page.get_text("rawdict")["blocks"]:
        for line in block.get("lines", ()):
            for span in line["spans"]:
                for c in span["chars"]:
                    x0, top, x1, bottom = c["bbox"]
                    chars.append(_Box(x0, top, x1, bottom, c["c"]))
    return chars


def _recognise(scans: list[int], pages: list[_Page], mupdf, document: Document) -> None:
    """OCR each run of consecutive scanned pages (so a table running over them can be joined by OCR)."""
    from parsing.formats.ocr import recognise

    if len(scans) > MAX_OCR_PAGES:
        document.notes.append(f"{len(scans)} scanned pages: only the first {MAX_OCR_PAGES} read by OCR")
        scans = scans[:MAX_OCR_PAGES]
    runs: list[list[int]] = []
    for number in scans:
        if runs and runs[-1][-1] == number - 1:
            runs[-1].append(number)
        else:
            runs.append([number])
    confidences = []
    for run in runs:
        recognised = recognise((_pixmap(_page(mupdf, n)).tobytes("png") for n in run), "pdf")  # a page at a time
        for block in recognised.blocks:
            if isinstance(block, Table):
                block.pages = tuple(run[0] + p - 1 for p in block.pages) or (run[0],)
                block.where = _where(block.pages)
        pages[run[0] - 1].items.extend(recognised.blocks)
        document.notes.extend(f"OCR of {_where(tuple(run))}: {note}" for note in recognised.notes)
        if recognised.confidence is not None:
            confidences.extend([recognised.confidence] * len(run))
    document.notes.append(f"pages read by OCR: {', '.join(map(str, scans))}")
    if confidences:
        document.confidence = sum(confidences) / len(confidences)


def _pixmap(page):
    """The page rasterised for OCR at OCR_DPI, or at less for a page so large it would pass MAX_PAGE_PIXELS
    (a 14,400 pt page at 200 dpi is 40,000 px square)."""
    scale = scale_for(page.rect.width * OCR_DPI / 72, page.rect.height * OCR_DPI / 72)
    return page.get_pixmap(dpi=max(1, int(OCR_DPI * scale)))


def _read_page(number: int, page, chars: list[_Box], notes: list[str]) -> _Page:
    """A page's lines and tables; past the bounds on characters, drawn edges or cells (placing characters in
    cells costs their product), its lines only, noted."""
    if len(chars) > MAX_PAGE_CHARS or len(page.edges) > MAX_PAGE_EDGES:
        notes.append(f"page {number}: {len(chars)} characters and {len(page.edges)} edges, read as text only")
        return _Page(number, _lines(number, chars))
    parts = []
    visible = page.filter(_visible)
    rows = _edges([e["top"] for e in visible.edges if e["orientation"] == "h"])
    columns = _edges([e["x0"] for e in visible.edges if e["orientation"] == "v"])
    if len(rows) * len(columns) > MAX_PAGE_CELLS:  # before pdfplumber looks for cells: its search is what is slow
        notes.append(f"page {number}: rules for {len(rows)} × {len(columns)} cells, read as text only")
        return _Page(number, _lines(number, chars))
    for table in _find_tables(visible):
        cells = [_Box(*bbox, _text(_inside(chars, bbox))) for bbox in table.cells]
        part = _Part(number, *table.bbox, cells)
        if len(_edges([x for c in cells for x in (c.x0, c.x1)])) >= 3:  # a boxed paragraph is not a table
            inside = _inside(chars, table.bbox)
            loose = [c for c in inside if not any(_centre_in(c, (b.x0, b.top, b.x1, b.bottom)) for b in cells)]
            part.loose = _loose_texts(loose, visible.edges)
            parts.append(part)
    outside = [c for c in chars if not any(_centre_in(c, (p.x0, p.top, p.x1, p.bottom)) for p in parts)]
    items: list[_Line | _Part | Block] = [*parts, *_lines(number, outside)]
    items.sort(key=lambda item: item.top)
    while items and isinstance(items[-1], _Line) and PAGE_NUMBER.match(items[-1].text):
        items.pop()
    while items and isinstance(items[0], _Line) and PAGE_NUMBER.match(items[0].text):
        items.pop(0)
    return _Page(number, items)


def _visible(obj: dict) -> bool:
    """Whether a drawn object shows on the page: a white fill or stroke (a text line's background) does not."""
    kind = obj.get("object_type")
    if kind == "rect":
        return bool(
            (obj.get("stroke") and not _white(obj.get("stroking_color")))
            or (obj.get("fill") and not _white(obj.get("non_stroking_color")))
        )
    if kind in ("line", "curve"):
        return not _white(obj.get("stroking_color"))
    return True


def _white(color) -> bool:
    if color is None:
        return False  # the default colour is black
    values = (color,) if isinstance(color, int | float) else tuple(color)
    if not values or not all(isinstance(v, int | float) for v in values):
        return False  # a pattern or a named colour space: assume it shows
    if len(values) == 4:  # CMYK
        return max(values) <= 0.05
    return min(values) >= 0.95


def _find_tables(visible) -> list:
    tables = visible.find_tables()
    closures = _closures(visible, tables) + _widenings(visible, tables) + _open_rows(visible, tables)
    return visible.find_tables({"explicit_horizontal_lines": closures}) if closures else tables


def _open_rows(page, tables) -> list[dict]:
    """Rules closing a row drawn with its sides only (three or more rules of the same height, in no table): the
    renderer drew no rule at the break above a table's last row, nor, then, below it."""
    inside = [t.bbox for t in tables]
    runs: dict[tuple[int, int], list[float]] = {}
    for e in page.edges:
        if e["orientation"] == "v" and e["bottom"] - e["top"] > 2 * _TOLERANCE and not any(
            x0 - _TOLERANCE <= e["x0"] <= x1 + _TOLERANCE and e["top"] < bottom and e["bottom"] > top
            for x0, top, x1, bottom in inside
        ):
            runs.setdefault((round(e["top"]), round(e["bottom"])), []).append(e["x0"])
    rules = []
    for (top, bottom), xs in runs.items():
        xs = _edges(xs)
        if len(xs) >= 3:
            rules.extend({"object_type": "line", "x0": xs[0], "x1": xs[-1], "top": y, "bottom": y,
                          "width": xs[-1] - xs[0], "height": 0} for y in (top, bottom))  # fmt: skip
    return rules


def _widenings(page, tables) -> list[dict]:
    """Rules carrying a table's rows out to columns ruled beside it but not across: a row whose cells have
    their sides drawn and no top (a page's first row when the renderer draws no rule at the break) is found
    with the table rather than lost as loose figures beside it."""
    verticals = [e for e in page.edges if e["orientation"] == "v"]
    horizontals = [e for e in page.edges if e["orientation"] == "h"]
    widenings = []
    for table in tables:
        x0, top, x1, bottom = table.bbox
        beside = [e["x0"] for e in verticals if e["top"] >= top - _TOLERANCE and e["bottom"] <= bottom + _TOLERANCE
                  and e["bottom"] - e["top"] > _TOLERANCE]  # fmt: skip
        low, high = min([x0, *beside]), max([x1, *beside])
        if low >= x0 - _TOLERANCE and high <= x1 + _TOLERANCE:
            continue
        ys = _edges([e["top"] for e in horizontals if top - _TOLERANCE <= e["top"] <= bottom + _TOLERANCE
                     and e["x0"] < x1 and e["x1"] > x0])  # fmt: skip
        widenings.extend({"object_type": "line", "x0": low, "x1": high, "top": y, "bottom": y, "width": high - low,
                          "height": 0} for y in ys)  # fmt: skip
    return widenings


def _loose_texts(chars: list[_Box], edges: list[dict]) -> list[_Box]:
    """Loose characters as the texts of the cells they were printed in: runs on a line split where a rule or
    a wide gap stands between two characters, and stacked runs joined while no rule separates them."""
    runs: list[list[_Box]] = []
    for line in _char_lines(chars):
        run: list[_Box] = []
        for c in line:
            if run and (c.x0 - run[-1].x1 > 2 * (c.bottom - c.top) or _rule_between(edges, run[-1], c)):
                runs.append(run)
                run = []
            run.append(c)
        runs.append(run)
    boxes: list[_Box] = []
    lines: list[list[str]] = []  # each box's lines
    for run in runs:
        box = _Box(min(c.x0 for c in run), min(c.top for c in run), max(c.x1 for c in run),
                    max(c.bottom for c in run), _joined(run))  # fmt: skip
        k = next((k for k in range(len(boxes) - 1, -1, -1) if _stacked(boxes[k], box, edges)), None)
        if k is None:
            boxes.append(box)
            lines.append([box.text])
            continue
        above = boxes[k]
        above.x0, above.x1, above.bottom = min(above.x0, box.x0), max(above.x1, box.x1), box.bottom
        lines[k].append(box.text)
    return [_Box(b.x0, b.top, b.x1, b.bottom, _wrap(text)) for b, text in zip(boxes, lines, strict=True)]


def _char_lines(chars: list[_Box]) -> list[list[_Box]]:
    """Characters grouped into lines, left to right: a character joins the line its vertical middle falls in."""
    lines: list[list[_Box]] = []
    for c in sorted(chars, key=lambda c: (c.top, c.x0)):
        middle = (c.top + c.bottom) / 2
        if lines and lines[-1][0].top - 1 <= middle <= lines[-1][0].bottom + 1:
            lines[-1].append(c)
        else:
            lines.append([c])
    return [sorted(line, key=lambda c: c.x0) for line in lines if "".join(c.text for c in line).strip()]


def _rule_between(edges: list[dict], a: _Box, b: _Box) -> bool:
    middle = (a.top + a.bottom) / 2
    return any(e["orientation"] == "v" and a.x1 - 1 <= e["x0"] <= b.x0 + 1 and e["top"] <= middle <= e["bottom"]
               for e in edges)  # fmt: skip


def _stacked(above: _Box, below: _Box, edges: list[dict]) -> bool:
    """Whether `below` is the next line of `above`'s cell: just under it, overlapping it, no rule between."""
    size = below.bottom - below.top
    if not 0 <= below.top - above.bottom <= 0.8 * size or below.x0 >= above.x1 or below.x1 <= above.x0:
        return False
    x0, x1 = max(above.x0, below.x0), min(above.x1, below.x1)
    return not any(e["orientation"] == "h" and above.bottom - 1 <= e["top"] <= below.top + 1
                   and e["x0"] < x1 and e["x1"] > x0 for e in edges)  # fmt: skip


def _closures(page, tables) -> list[dict]:
    """Rules closing tables whose columns run past their horizontal rules at the top or the foot, or
    whose rule there is drawn only part of the way, as a table cut by a page break is: without them
    the row at the break would not be found."""
    verticals = [e for e in page.edges if e["orientation"] == "v"]
    horizontals = [e for e in page.edges if e["orientation"] == "h"]
    closures = []
    for table in tables:
        x0, top, x1, bottom = table.bbox
        columns = [e for e in verticals if x0 - 2 <= e["x0"] <= x1 + 2 and e["top"] < bottom and e["bottom"] > top]
        for y in {min(e["top"] for e in columns), max(e["bottom"] for e in columns)} if columns else ():
            if not _ruled(horizontals, y, x0, x1):
                closures.append({"object_type": "line", "x0": x0, "x1": x1, "top": y, "bottom": y,
                                 "width": x1 - x0, "height": 0})  # fmt: skip
    return closures


def _ruled(horizontals: list[dict], y: float, x0: float, x1: float) -> bool:
    """Whether rules at height y cover the whole width x0..x1."""
    reach = x0
    for e in sorted((e for e in horizontals if abs(e["top"] - y) <= _TOLERANCE), key=lambda e: e["x0"]):
        if e["x0"] > reach + _TOLERANCE:
            return False
        reach = max(reach, e["x1"])
    return reach >= x1 - _TOLERANCE


def _centre_in(c: _Box, bbox: tuple[float, float, float, float]) -> bool:
    x, y = (c.x0 + c.x1) / 2, (c.top + c.bottom) / 2
    return bbox[0] <= x <= bbox[2] and bbox[1] <= y <= bbox[3]


def _inside(chars: list[_Box], bbox) -> list[_Box]:
    return [c for c in chars if _centre_in(c, bbox)]


def _lines(page: int, chars: list[_Box]) -> list[_Line]:
    result = []
    for group in _char_lines(chars):
        text = _joined(group)
        if text:
            result.append(_Line(page, min(c.top for c in group), max(c.bottom for c in group),
                                group[0].x0, group[-1].x1, text))  # fmt: skip
    return result


def _joined(chars: list[_Box]) -> str:
    """A line's characters as text: a space where a gap separates two Latin words or figures."""
    out: list[str] = []
    previous = None
    for c in chars:
        if previous is not None and out and not out[-1].isspace() and not c.text.isspace():
            gap = c.x0 - previous.x1
            size = max(previous.bottom - previous.top, 1.0)
            if gap > 0.3 * size and not (_CJK_OR_PUNCTUATION.match(out[-1][-1]) and _CJK_OR_PUNCTUATION.match(c.text)):
                out.append(" ")
        out.append(c.text)
        previous = c
    return re.sub(r"\s+", " ", "".join(out)).strip()


def _text(chars: list[_Box]) -> str:
    """A cell's text: its lines joined, as a cell's lines are wrapping, not structure."""
    return _wrap([line.text for line in _lines(0, chars)])


def _wrap(lines: list[str]) -> str:
    text = ""
    for line in lines:
        latin = text and re.match(r"[A-Za-z0-9]", line) and re.search(r"[A-Za-z0-9,;:]$", text)
        text = f"{text} {line}" if latin else text + line
    return text


def _edges(values: list[float]) -> list[float]:
    """Distinct positions, those within the tolerance of each other taken as one."""
    edges: list[float] = []
    for v in sorted(values):
        if not edges or v - edges[-1] > _TOLERANCE:
            edges.append(v)
    return edges


def _index(edges: list[float], v: float) -> int:
    return min(range(len(edges)), key=lambda i: abs(edges[i] - v))


# -- a document's pages into blocks -------------------------------------------------------------


def _assemble(pages: list[_Page], notes: list[str]) -> list[Block]:
    items: list[_Line | list[_Part] | Block] = []
    previous: _Line | _Part | Block | None = None
    for page in pages:
        for item in page.items:
            if isinstance(item, _Part) and isinstance(previous, _Part) and _continues(previous, item):
                items[-1].append(item)
                notes.append(f"table stitched across pages {previous.page}–{item.page}")
            elif isinstance(item, _Part):
                items.append([item])
            else:
                items.append(item)
            previous = item
        if not page.items:
            previous = None  # a scan or a blank page between two parts breaks the table
    blocks: list[Block] = []
    lines: list[_Line] = []
    for item in items:
        if isinstance(item, _Line):
            lines.append(item)
            continue
        blocks.extend(_paragraphs(lines))
        lines = []
        blocks.append(_table(item, sum(isinstance(b, Table) for b in blocks) + 1) if isinstance(item, list) else item)
    blocks.extend(_paragraphs(lines))
    return blocks


def _continues(a: _Part, b: _Part) -> bool:
    """Whether b, first on its page, carries on a, last on the page before: same width and columns
    that are the same rules (or some of them: a continued sub-table merges columns the part above splits)."""
    if b.page != a.page + 1 or abs(a.x0 - b.x0) > 2 * _TOLERANCE or abs(a.x1 - b.x1) > 2 * _TOLERANCE:
        return False
    ea, eb = (_edges([x for c in p.cells for x in (c.x0, c.x1)]) for p in (a, b))
    fewer, more = (ea, eb) if len(ea) <= len(eb) else (eb, ea)
    return all(any(abs(x - y) <= 2 * _TOLERANCE for y in more) for x in fewer)  # pdfplumber snaps rules by 3 pt


def _table(parts: list[_Part], number: int) -> Table:
    cells: list[_Box] = []
    loose: list[_Box] = []
    offset = 0.0
    for i, part in enumerate(parts):
        shift = offset - part.top
        shifted = [_Box(c.x0, c.top + shift, c.x1, c.bottom + shift, c.text) for c in part.cells]
        if i:
            shifted = _join_cut_cells(cells, shifted, offset)
        cells.extend(shifted)
        loose.extend(_Box(c.x0, c.top + shift, c.x1, c.bottom + shift, c.text) for c in part.loose)
        offset += part.bottom - part.top
    xs = _edges([x for c in cells for x in (c.x0, c.x1)])
    ys = _edges([y for c in cells for y in (c.top, c.bottom)])
    grid = [[""] * (len(xs) - 1) for _ in range(len(ys) - 1)]
    covered = [False] * (len(ys) - 1)
    held = [[False] * (len(xs) - 1) for _ in range(len(ys) - 1)]
    for c in cells:
        c0, c1, r0, r1 = _index(xs, c.x0), _index(xs, c.x1), _index(ys, c.top), _index(ys, c.bottom)
        for r in range(r0, r1):
            covered[r] = True
            for col in range(c0, c1):
                grid[r][col] = c.text
                held[r][col] = True
    for c in loose:  # into the positions no cell holds that it was printed over
        for r in _spanned(ys, c.top, c.bottom):
            for col in _spanned(xs, c.x0, c.x1):
                if not held[r][col]:
                    covered[r] = True
                    grid[r][col] = c.text
    pages = tuple(p.page for p in parts)
    return Table([row for row, seen in zip(grid, covered, strict=True) if seen], _where(pages), pages)


def _spanned(edges: list[float], low: float, high: float) -> list[int]:
    """The intervals between `edges` that low..high overlaps."""
    return [i for i in range(len(edges) - 1) if min(high, edges[i + 1]) - max(low, edges[i]) > 0.5]


def _join_cut_cells(above: list[_Box], below: list[_Box], seam: float) -> list[_Box]:
    """Cells cut by the page break made whole again: a label cell at the foot of one page and the
    cell under it at the top of the next, blank or a fragment that starts no item ("法提供" under
    "（四）无"), are one cell. A figure under a figure is never joined, nor a label followed by a figure under one
    followed by anything: the break fell between two rows (行政许可 | 其他对外管理服务事项), it cut none — a row cut
    prints its figures on one side of the break only."""
    result = []
    for b in below:
        a = next((a for a in above if abs(a.bottom - seam) <= _TOLERANCE and abs(b.top - seam) <= _TOLERANCE
                  and abs(a.x0 - b.x0) <= _TOLERANCE and abs(a.x1 - b.x1) <= _TOLERANCE), None)  # fmt: skip
        if a is None or _filled_after(a, above) and _figure_after(b, below):
            result.append(b)
        elif _label(a.text) and (not b.text or (_label(b.text) and not _ITEM.match(b.text))):
            a.text = a.text + b.text
            a.bottom = b.bottom
        else:
            result.append(b)
    return result


def _after(cell: _Box, cells: list[_Box]) -> list[str]:
    """The texts of the cells right of `cell`, on the same line."""
    return [c.text.strip() for c in cells if abs(c.x0 - cell.x1) <= _TOLERANCE and c.top < cell.bottom
            and c.bottom > cell.top]  # fmt: skip


def _filled_after(cell: _Box, cells: list[_Box]) -> bool:
    return any(_after(cell, cells))


def _figure_after(cell: _Box, cells: list[_Box]) -> bool:
    """Whether the cell right of `cell` holds a figure (or a mark printed in its place)."""
    return any(text and _NUMBER_OR_MARK.match(text) for text in _after(cell, cells))


def _label(text: str) -> bool:
    return bool(text) and not _NUMBER_OR_MARK.match(text)


def _where(pages: tuple[int, ...]) -> str:
    if not pages:
        return "page ?"
    return f"page {pages[0]}" if pages[0] == pages[-1] else f"page {pages[0]}–{pages[-1]}"


def _paragraphs(lines: list[_Line]) -> list[str]:
    """Lines joined into paragraphs: a line carries on the one before unless that one stopped short of
    the right margin, this one is indented or starts a numbered heading, or a gap stands between them."""
    if not lines:
        return []
    left = min(line.x0 for line in lines)
    right = sorted(line.x1 for line in lines)[int(0.9 * (len(lines) - 1))]
    size = statistics.median(line.bottom - line.top for line in lines)
    paragraphs: list[list[str]] = []
    previous = None
    for line in lines:
        starts = (
            previous is None
            or previous.x1 < right - 2 * size
            or line.x0 > left + 1.2 * size
            or _ITEM.match(line.text) is not None
            or (line.page == previous.page and line.top - previous.bottom > 1.5 * size)
        )
        if starts:
            paragraphs.append([line.text])
        else:
            paragraphs[-1].append(line.text)
        previous = line
    return [_wrap(p) for p in paragraphs]
