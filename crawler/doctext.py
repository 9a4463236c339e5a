"""The text of a fetched document, for the report judge (crawler.judge) to read.

HTML pages: the visible text (no scripts, styles or hidden parts). Files: a PDF's text layer
(pdfminer.six, first pages only: the template's markers and its 统计期限 come first), a DOCX's
paragraphs and table cells (python-docx), and for the old binary Word and WPS files the text
their UTF-16 runs hold — no converter is needed for the judge to find six headings. A scan has
no text: it is judged by its title alone.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from collections.abc import Iterator
from typing import Any

from lxml import html as lxml_html

logger = logging.getLogger(__name__)
#: pdfminer says at DEBUG what it does with every object of a PDF: ~500,000 lines for one county's crawl at
#: ``--log-level DEBUG``, drowning the crawl's own. Its warnings (a broken file) still show.
logging.getLogger("pdfminer").setLevel(logging.WARNING)

_HIDDEN = ("script", "style", "noscript", "template", "head")
#: Runs of UTF-16LE text in an OLE2 Word/WPS file: CJK (high byte 4e–9f), ASCII, 、。《》 (30xx), full-width (ffxx).
_UTF16_RUN = re.compile(rb"(?:[\x00-\xff][\x4e-\x9f]|[\x09-\x7e]\x00|[\x00-\xff][\x30\xff]){6,}")


def page_text(markup: str) -> str:
    """What a reader of the page sees: its text without scripts, styles or head."""
    try:
        root = lxml_html.document_fromstring(markup)
    except (ValueError, lxml_html.etree.ParserError):
        return ""
    for element in root.iter(*_HIDDEN):
        element.drop_tree()
    return root.text_content()


def file_kind(content_type: str | None, name: str | None, body: bytes) -> str | None:
    """pdf, docx, doc or None, from the bytes first (servers mislabel files), then type and name."""
    if body.startswith(b"%PDF"):
        return "pdf"
    if body.startswith(b"PK\x03\x04"):
        return "docx" if b"word/" in body[:4096] or (name or "").lower().endswith("docx") else None
    if body.startswith(b"\xd0\xcf\x11\xe0"):  # OLE2: .doc, .wps (and .xls, whose text the judge ignores)
        return "doc"
    hint = f"{content_type or ''} {name or ''}".lower()
    return "pdf" if "pdf" in hint else None


def file_text(body: bytes, content_type: str | None = None, name: str | None = None, pdf_pages: int = 4) -> str:
    """The text of an attachment or a directly linked file ("" when it has none we can read)."""
    kind = file_kind(content_type, name, body)
    try:
        if kind == "pdf":
            from pdfminer.high_level import extract_text

            return extract_text(io.BytesIO(body), maxpages=pdf_pages)
        if kind == "docx":
            return _docx_text(body)
        if kind == "doc":
            return "\n".join(run.decode("utf-16-le", "ignore") for run in _UTF16_RUN.findall(body))
    except Exception as exc:  # a broken file is archived all the same; only its judgement is lost
        logger.debug("no text from %s file %s: %s", kind, name, exc)
    return ""


def _docx_text(body: bytes) -> str:
    """The body's paragraphs, then every table cell row by row, as python-docx's ``row.cells`` gives them."""
    import docx

    try:
        document = docx.Document(io.BytesIO(body))
    except (KeyError, ValueError, zipfile.BadZipFile):
        return ""
    content = document.element.body
    cells = (text for table in content.tbl_lst for text in _table_cells(table))
    return "\n".join([_paragraph_text(p) for p in content.p_lst] + list(cells))


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_RUN, _HYPERLINK = f"{_W}r", f"{_W}hyperlink"
#: What python-docx's CT_R.text reads of a run (each element's str(): w:t its text, w:tab "\t", w:br "\n" …).
_RUN_TEXT = frozenset(f"{_W}{name}" for name in ("br", "cr", "noBreakHyphen", "ptab", "t", "tab"))


def _paragraph_text(p: Any) -> str:
    """python-docx's ``paragraph.text``, by walking the children instead of an XPath per paragraph and run."""
    return "".join(_run_text(e) if e.tag == _RUN else "".join(_run_text(r) for r in e if r.tag == _RUN)
                   for e in p if e.tag == _RUN or e.tag == _HYPERLINK)


def _run_text(r: Any) -> str:
    return "".join(str(e) for e in r if e.tag in _RUN_TEXT)


def _table_cells(table: Any) -> Iterator[str]:
    """The text of each grid cell of a ``w:tbl``, exactly as python-docx's ``row.cells`` yields cells.

    python-docx finds the cell a vertically merged one continues by searching the rows above with
    XPath, again for every grid cell: 90 ms for a report's statistics tables, more than its fetch.
    Here each row remembers, by the grid column each of its cells starts at, the text and width of
    the cell that holds the content, for the row below. A cell spanning columns is its text that
    many times; a merge python-docx cannot resolve raises its ValueError (the file then has no text).
    """
    above: dict[int, tuple[str, int]] = {}
    for row, tr in enumerate(table.tr_lst):
        here: dict[int, tuple[str, int]] = {}  # grid column → (text, grid span) of the cell holding it
        offset = highest = tr.grid_before
        for tc in tr.tc_lst:
            if tc.vMerge == "continue":
                if row == 0:
                    raise ValueError("no tr above topmost tr in w:tbl")
                if offset not in above:
                    raise ValueError(f"no `tc` element at grid_offset={offset}")
                held = above[offset]
            else:
                held = ("\n".join(_paragraph_text(p) for p in tc.p_lst), tc.grid_span)
            if offset >= highest:  # as tc_at_grid_offset: the first cell starting there, before any past it
                here.setdefault(offset, held)
                highest = offset
            yield from (held[0] for _ in range(held[1]))
            offset += tc.grid_span
        above = here
