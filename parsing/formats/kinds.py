"""What kind of file a body is: by its bytes first, then its Content-Type and its name.

County portals mislabel attachments freely (a PDF served as ``application/octet-stream`` or
``text/html``, a ``.doc`` that is really a DOCX, a ``.wps`` named ``.doc``), so the header and the
name only decide what the bytes cannot: plain text, an OLE2 file whose streams do not say what it is,
or a file too broken to show its magic (then the reader named by the label fails, naming its format).
"""

from __future__ import annotations

import io
import re
import zipfile

from parsing.formats.limits import check_zip

KINDS = ("html", "docx", "pdf", "doc", "wps", "rtf", "xlsx", "xls", "image", "text")

#: The magic of an OLE2 compound file (Word, WPS and Excel 97–2003) and of a zip (DOCX, XLSX).
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP = b"PK\x03\x04"
_IMAGE_MAGICS = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"II*\x00", b"MM\x00*")
#: BMP has only "BM" as magic, so its info-header size (a handful of fixed values) must agree too.
_BMP_HEADER_SIZES = (12, 40, 52, 56, 64, 108, 124)
_HTML_MARKS = re.compile(rb"<(?:!doctype\s+html|html|head|body|meta|title|div|table|p)[\s>/]", re.I)

_TYPES = (
    ("wordprocessingml", "docx"),
    ("spreadsheetml", "xlsx"),
    ("pdf", "pdf"),
    ("msword", "doc"),
    ("ms-word", "doc"),
    ("wps", "wps"),
    ("ms-works", "wps"),
    ("ms-excel", "xls"),
    ("rtf", "rtf"),
    ("html", "html"),
    ("xhtml", "html"),
    ("image/", "image"),
    ("text/plain", "text"),
)
_EXTENSIONS = {
    "docx": "docx", "pdf": "pdf", "doc": "doc", "wps": "wps", "rtf": "rtf", "xlsx": "xlsx", "xls": "xls",
    "et": "xls", "html": "html", "htm": "html", "shtml": "html", "xhtml": "html", "jsp": "html", "txt": "text",
    "png": "image", "jpg": "image", "jpeg": "image", "gif": "image", "tif": "image", "tiff": "image",
    "bmp": "image",
}  # fmt: skip


def kind_of(body: bytes, content_type: str | None = None, name: str | None = None) -> str | None:
    """One of ``KINDS``, or None when nothing about the file says what it is."""
    return _by_bytes(body, content_type, name) or _by_label(content_type, name) or _plain_text(body)


def _by_bytes(body: bytes, content_type: str | None, name: str | None) -> str | None:
    head = body[:1024]
    if b"%PDF-" in head:
        return "pdf"
    if body.startswith(ZIP):
        return _zip_kind(body)
    if body.startswith(OLE2):
        return _ole_kind(body, content_type, name)
    if is_rtf(body):
        return "rtf"
    if body.startswith(_IMAGE_MAGICS) or _is_bmp(body) or (body[:4] == b"RIFF" and body[8:12] == b"WEBP"):
        return "image"
    if _HTML_MARKS.search(_ascii_head(head)):
        return "html"
    return None


def is_rtf(body: bytes) -> bool:
    return body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{\\rtf")


def _zip_kind(body: bytes) -> str | None:
    """docx or xlsx by the zip's names; raises Unreadable for a zip past ``limits.check_zip``'s bounds."""
    check_zip(body, "zip")
    try:
        names = zipfile.ZipFile(io.BytesIO(body)).namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return None  # a broken zip: the label may still say what it was meant to be
    if any(n.startswith("word/") for n in names):
        return "docx"
    if any(n.startswith("xl/") for n in names):
        return "xlsx"
    return None


def _ole_kind(body: bytes, content_type: str | None, name: str | None) -> str | None:
    """An OLE2 compound file names its streams in UTF-16 in its directory: Excel's "Workbook" (or
    "Book" before Excel 97), Word's "WordDocument". Kingsoft's WPS writes Word's streams too and marks
    itself only in streams of its own, so a Word file labelled wps (by type or by name) is taken as one."""
    labels = (_by_label(content_type, None), _by_label(None, name))
    if _utf16(b"Workbook") in body or _utf16(b"Book\x00") in body:
        return "xls"
    if _utf16(b"WpsCustomData") in body or _utf16(b"KSOProductBuildVer") in body:
        return "wps"
    if _utf16(b"WordDocument") in body:
        return "wps" if "wps" in labels else "doc"
    return next((label for label in labels if label in ("doc", "wps", "xls")), None)


def _utf16(s: bytes) -> bytes:
    return s.decode("ascii").encode("utf-16-le")


def _is_bmp(body: bytes) -> bool:
    return body.startswith(b"BM") and len(body) > 26 and int.from_bytes(body[14:18], "little") in _BMP_HEADER_SIZES


def _ascii_head(head: bytes) -> bytes:
    """The start of a page as ASCII bytes, whatever its encoding (UTF-16 pages exist)."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="ignore").encode("ascii", errors="ignore")
    return head


def _by_label(content_type: str | None, name: str | None) -> str | None:
    media = (content_type or "").split(";")[0].strip().lower()
    for mark, kind in _TYPES:
        if mark in media:
            return kind
    if name:
        stem = name.split("?")[0].split("#")[0].rsplit("/", 1)[-1]
        if "." in stem:
            return _EXTENSIONS.get(stem.rsplit(".", 1)[1].lower())
    return None


def _plain_text(body: bytes) -> str | None:
    """Text nothing labelled: it decodes (UTF-8 or GB18030) and is made of printable characters."""
    sample = body[:4096]
    if not sample.strip():
        return None
    for encoding in ("utf-8", "gb18030"):
        try:
            text = sample.decode(encoding)
        except UnicodeDecodeError:
            # a multi-byte character cut by the sample's end is not a reason to refuse
            try:
                text = sample[:-3].decode(encoding)
            except UnicodeDecodeError:
                continue
        printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
        if printable >= 0.98 * len(text):
            return "text"
    return None
