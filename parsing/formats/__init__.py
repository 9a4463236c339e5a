"""A report file's bytes into a ``Document``, whatever its format: one reader per format, chosen by
``kinds.kind_of`` (the bytes first, the label after). DOC, WPS, RTF and XLS go through LibreOffice
(``office``) to the DOCX and XLSX readers; an image goes to OCR (``ocr``). Those two are imported only
when a file needs them: they are heavy, and every other format reads without them.
"""

from __future__ import annotations

from parsing.document import Document, Unreadable
from parsing.formats.kinds import kind_of

#: Bodies larger than this are refused: a report is at most a few MiB; a larger body is not one, and
#: reading it would hold a worker's memory.
MAX_BYTES = 64 * 1024 * 1024


def read(body: bytes, content_type: str | None = None, name: str | None = None) -> Document:
    """The paragraphs and tables of a file. Raises Unreadable, naming the format and why."""
    if len(body) > MAX_BYTES:
        raise Unreadable(f"{len(body)} bytes, more than the {MAX_BYTES} a report can be")
    if not body.strip():
        raise Unreadable("empty body")
    kind = kind_of(body, content_type, name)
    if kind == "pdf":
        from parsing.formats.pdf import read_pdf

        return read_pdf(body)
    if kind == "html":
        from parsing.formats.html import read_html

        return read_html(body, content_type)
    if kind == "docx":
        from parsing.formats.docx import read_docx

        return read_docx(body)
    if kind == "xlsx":
        from parsing.formats.sheet import read_sheet

        return read_sheet(body)
    if kind in ("doc", "wps", "rtf", "xls"):
        return _converted(body, kind)
    if kind == "image":
        from parsing.formats.ocr import recognise

        return recognise([body], "image")
    if kind == "text":
        from parsing.formats.text import read_text

        return read_text(_decoded(body))
    raise Unreadable(f"unknown format (Content-Type {content_type!r}, name {name!r}, starts {body[:8]!r})")


def _converted(body: bytes, kind: str) -> Document:
    from parsing.formats.office import convert

    converted, target = convert(body, kind)
    if target == "xlsx":
        from parsing.formats.sheet import read_sheet

        return read_sheet(converted, kind)
    from parsing.formats.docx import read_docx

    return read_docx(converted, kind)


def _decoded(body: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return body.decode(encoding)
        except UnicodeDecodeError:
            continue
    return body.decode("utf-8", errors="replace")
