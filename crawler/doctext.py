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

from lxml import html as lxml_html

logger = logging.getLogger(__name__)

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
    import docx

    try:
        document = docx.Document(io.BytesIO(body))
    except (KeyError, ValueError, zipfile.BadZipFile):
        return ""
    cells = (cell.text for table in document.tables for row in table.rows for cell in row.cells)
    return "\n".join([p.text for p in document.paragraphs] + list(cells))
