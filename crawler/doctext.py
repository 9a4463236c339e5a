"""The text of a fetched document, for the report judge (crawler.judge) to read.

HTML pages: the visible text (no scripts, styles or hidden parts). Files: a PDF's text layer
(PyMuPDF, first pages only: the template's markers and its 统计期限 come first; pdfminer.six's layout
analysis took 0.3–0.5 s a report for the same markers, year and agency, MuPDF 10–20 ms), a DOCX's
paragraphs and table cells (as python-docx reads them, from the main document part alone), and for
the old binary Word and WPS files the text their UTF-16 runs hold — no converter is needed for the
judge to find six headings. A scan has no text: it is judged by its title alone.
"""

from __future__ import annotations

import io
import logging
import re
import zipfile
from collections.abc import Iterator
from typing import Any

from lxml import etree as lxml_etree
from lxml import html as lxml_html

from parsing.formats.kinds import OLE2, kind_of

logger = logging.getLogger(__name__)

_HIDDEN = ("script", "style", "noscript", "template", "head")
#: What the judge reads of each kind parsing.formats.kinds tells: an OLE2 Word, WPS or Excel file by its UTF-16 runs.
_READ_AS = {"pdf": "pdf", "docx": "docx", "doc": "doc", "wps": "doc", "xls": "doc"}
#: Runs of UTF-16LE text in an OLE2 Word/WPS file: CJK (high byte 4e–9f), ASCII, 、。《》 (30xx), full-width (ffxx).
_UTF16_RUN = re.compile(rb"(?:[\x00-\xff][\x4e-\x9f]|[\x09-\x7e]\x00|[\x00-\xff][\x30\xff]){6,}")


def page_text(markup: str) -> str:
    """What a reader of the page sees: its text without scripts, styles or head."""
    try:
        return visible_text(lxml_html.document_fromstring(markup))
    except (ValueError, lxml_etree.ParserError):
        return ""


def visible_text(root: Any) -> str:
    """``page_text`` of a page's parsed tree (a Selector's root: the page is parsed once); prunes the tree."""
    for element in list(root.iter(*_HIDDEN)):  # listed first: a tree pruned while iterated stops the iteration
        element.drop_tree()
    return root.text_content()


def file_kind(content_type: str | None, name: str | None, body: bytes) -> str | None:
    """pdf, docx, doc or None: the parser's own sniffing (the bytes first, servers mislabel files, then
    type and name), so the judge and the parser never disagree on what a file is."""
    kind = _READ_AS.get(kind_of(body, content_type, name) or "")
    return kind or ("doc" if body.startswith(OLE2) else None)  # an OLE2 file naming no stream kinds knows: its runs


def file_text(body: bytes, content_type: str | None = None, name: str | None = None, pdf_pages: int = 4) -> str:
    """The text of an attachment or a directly linked file ("" when it has none we can read)."""
    kind = None
    try:
        kind = file_kind(content_type, name, body)  # a zip refused as a bomb is a file without text
        if kind == "pdf":
            return _pdf_text(body, pdf_pages)
        if kind == "docx":
            return _docx_text(body)
        if kind == "doc":
            return "\n".join(run.decode("utf-16-le", "ignore") for run in _UTF16_RUN.findall(body))
    except Exception as exc:  # a broken file is archived all the same; only its judgement is lost
        logger.debug("no text from %s file %s: %s", kind, name, exc)
    return ""


def _pdf_text(body: bytes, pages: int) -> str:
    import pymupdf

    pymupdf.TOOLS.mupdf_display_errors(False)  # a broken file's complaints: its text is "" or partial, that is all
    with pymupdf.open(stream=body, filetype="pdf") as document:
        return "".join(document[page].get_text() for page in range(min(pages, document.page_count)))


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_RUN, _HYPERLINK, _P, _TBL, _TR, _TC = (f"{_W}{name}" for name in ("r", "hyperlink", "p", "tbl", "tr", "tc"))
_VAL = f"{_W}val"
_MAIN_PART = "/officeDocument"  # the package relationship (_rels/.rels) naming the main document part
#: python-docx's parser: what it drops (blank text) and refuses (entities) this drops and refuses too.
_XML = lxml_etree.XMLParser(remove_blank_text=True, resolve_entities=False)


def _docx_text(body: bytes) -> str:
    """The body's paragraphs, then every table cell row by row, as python-docx's ``row.cells`` gives them.

    Only the main document part is parsed: python-docx parses every part (styles, numbering, settings …),
    which takes longer than reading the text."""
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as package:
            main = next((r.get("Target", "").lstrip("/") for r in lxml_etree.fromstring(package.read("_rels/.rels"))
                         if r.get("Type", "").endswith(_MAIN_PART)), "word/document.xml")
            content = lxml_etree.fromstring(package.read(main), _XML).find(f"{_W}body")
    except (KeyError, ValueError, zipfile.BadZipFile, lxml_etree.XMLSyntaxError):
        return ""
    if content is None:
        return ""
    cells = (text for table in content.iterchildren(_TBL) for text in _table_cells(table))
    return "\n".join([_paragraph_text(p) for p in content.iterchildren(_P)] + list(cells))


#: What python-docx's CT_R.text reads of a run: each element's str() (w:br a line break only when it wraps text).
_RUN_TEXT = {f"{_W}t": None, f"{_W}tab": "\t", f"{_W}ptab": "\t", f"{_W}cr": "\n", f"{_W}noBreakHyphen": "-"}
_BR = f"{_W}br"


def _paragraph_text(p: Any) -> str:
    """python-docx's ``paragraph.text``, by walking the children instead of an XPath per paragraph and run."""
    return "".join(_run_text(e) if e.tag == _RUN else "".join(_run_text(r) for r in e if r.tag == _RUN)
                   for e in p if e.tag == _RUN or e.tag == _HYPERLINK)


def _run_text(r: Any) -> str:
    return "".join(_element_text(e) for e in r if e.tag in _RUN_TEXT or e.tag == _BR)


def _element_text(e: Any) -> str:
    if e.tag == _BR:
        return "\n" if e.get(f"{_W}type", "textWrapping") == "textWrapping" else ""
    fixed = _RUN_TEXT[e.tag]
    return (e.text or "") if fixed is None else fixed


def _setting(element: Any, properties: str, name: str) -> str | None:
    """``w:val`` of a row's or cell's property (``w:trPr/w:gridBefore``, ``w:tcPr/w:vMerge`` …); "" if it has none."""
    found = element.find(f"{_W}{properties}/{_W}{name}")
    return None if found is None else found.get(_VAL, "")


def _table_cells(table: Any) -> Iterator[str]:
    """The text of each grid cell of a ``w:tbl``, exactly as python-docx's ``row.cells`` yields cells.

    python-docx finds the cell a vertically merged one continues by searching the rows above with
    XPath, again for every grid cell: 90 ms for a report's statistics tables, more than its fetch.
    Here each row remembers, by the grid column each of its cells starts at, the text and width of
    the cell that holds the content, for the row below. A cell spanning columns is its text that
    many times; a merge python-docx cannot resolve raises its ValueError (the file then has no text).
    """
    above: dict[int, tuple[str, int]] = {}
    for row, tr in enumerate(table.iterchildren(_TR)):
        here: dict[int, tuple[str, int]] = {}  # grid column → (text, grid span) of the cell holding it
        offset = highest = int(_setting(tr, "trPr", "gridBefore") or 0)
        for tc in tr.iterchildren(_TC):
            span = int(_setting(tc, "tcPr", "gridSpan") or 1)
            if _setting(tc, "tcPr", "vMerge") in ("", "continue"):  # w:val's default is continue
                if row == 0:
                    raise ValueError("no tr above topmost tr in w:tbl")
                if offset not in above:
                    raise ValueError(f"no `tc` element at grid_offset={offset}")
                held = above[offset]
            else:
                held = ("\n".join(_paragraph_text(p) for p in tc.iterchildren(_P)), span)
            if offset >= highest:  # as tc_at_grid_offset: the first cell starting there, before any past it
                here.setdefault(offset, held)
                highest = offset
            yield from (held[0] for _ in range(held[1]))
            offset += span
        above = here
