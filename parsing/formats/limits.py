"""How much of a file the readers will take on, and the few text definitions they all share.

The bodies parsed are what county servers sent, and a hostile or broken server can send anything: a
zip that inflates to gigabytes, a page 5 m wide to rasterise, a table of a million cells. Every reader
stays within the bounds here (a real report is far inside each: the figures say what one measures),
so no body can hold a parse worker's memory or time; past a bound a file is ``Unreadable``, or the
part past it is left out with a note, never read at any cost.
"""

from __future__ import annotations

import io
import re
import zipfile

from parsing.document import Unreadable

# -- zips (DOCX, XLSX) -----------------------------------------------------------------------------

#: Entries of a zip: a DOCX has ~20, an XLSX ~10 plus one a sheet and image.
MAX_ZIP_ENTRIES = 2000
#: Inflated bytes of one entry (a report's document.xml is at most a few MiB), and of all of them.
MAX_ZIP_ENTRY_BYTES = 128 * 1024 * 1024
MAX_ZIP_TOTAL_BYTES = 256 * 1024 * 1024
#: Inflated/compressed of one entry larger than 1 MiB: real XML deflates 5–30×; deflate's limit is ~1030×.
MAX_ZIP_RATIO = 200
_RATIO_FLOOR = 1024 * 1024
_CENTRAL_HEADER = b"PK\x01\x02"

# -- pages, images, grids --------------------------------------------------------------------------

#: Pixels of one page given to OCR: A4 at 250 dpi (10.5 pt CJK glyphs are read well from 200 dpi, 3.9 Mpx).
#: RapidOCR's detector runs at the size it is given, ~1 s a Mpx on one core: more is slower, not better.
MAX_PAGE_PIXELS = 6_000_000
#: Pixels of one stored image decoded at all (then scaled down to MAX_PAGE_PIXELS): a 600 dpi A4 scan is 35 Mpx.
MAX_IMAGE_PIXELS = 60_000_000
#: Pages read by OCR in one file (a scanned report has 5–30): each takes 1–5 s, however small.
MAX_OCR_PAGES = 40
#: Grid cells of one table (the template's largest is 28 × 10): a ruled page past this is graph paper, not a table.
MAX_TABLE_CELLS = 5000
#: Grid positions of one HTML or Word table (a table's spans expanded), and of all a document's tables.
MAX_GRID_CELLS = 100_000
MAX_DOCUMENT_CELLS = 1_000_000
#: Text boxes OCR may give one page (a dense A4 page has ~600), and cells read again alone on one page.
MAX_PAGE_BOXES = 3000
MAX_PAGE_REREADS = 400
#: Characters and drawn edges of one PDF page whose tables are looked for (real pages: ≤ 700 and ≤ 600).
MAX_PAGE_CHARS = 20_000
MAX_PAGE_EDGES = 5000
#: Rule rows × rule columns of one PDF page (real pages: ≤ 45 × 14), past which pdfplumber's search for cells
#: takes minutes and every character is placed in every cell.
MAX_PAGE_CELLS = 2000

# -- text shared by the readers -------------------------------------------------------------------------

#: Han characters (unified, extension A, compatibility): what "Chinese" means when text is weighed.
HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
#: Han, CJK radicals, punctuation and symbols (⺀–〿), Chinese quotes, and full-width forms but for the
#: full-width digits and letters (１２ and ３４ are two numbers, as 12 and 34 are): text set without spaces between.
CJK = f"\u2e80-\u303f{HAN}“”‘’\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uffef"
_CJK_CHAR = re.compile(f"[{CJK}]")
#: A page's number standing alone on a line: "3", "- 3 -", "第3页", "3/12", "第 3 页 共 12 页".
PAGE_NUMBER = re.compile(r"^[-—–\s]*(?:第\s*)?\d{1,4}\s*(?:页)?\s*(?:(?:/|／|共)\s*\d{1,4}\s*页?)?[-—–\s]*$")


def is_cjk(char: str) -> bool:
    """Whether a character is set without spaces around it (Chinese text, its punctuation, full-width forms)."""
    return bool(_CJK_CHAR.match(char))


def check_zip(body: bytes, format: str) -> None:
    """Refuse a zip that would inflate past the bounds, before anything inflates it.

    The sizes read are those the central directory declares: zipfile stops inflating an entry at its
    declared size (and fails its CRC), so an entry cannot inflate past what is checked here."""
    if body.count(_CENTRAL_HEADER) > MAX_ZIP_ENTRIES:  # before zipfile makes an object of each
        raise Unreadable(f"{format.upper()}: more than {MAX_ZIP_ENTRIES} entries in the zip")
    try:
        entries = zipfile.ZipFile(io.BytesIO(body)).infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return  # not a zip this can read: the reader says so in its own words
    total = 0
    for entry in entries:
        total += entry.file_size
        if entry.file_size > MAX_ZIP_ENTRY_BYTES:
            raise Unreadable(f"{format.upper()}: {entry.filename} inflates to {entry.file_size} bytes "
                             f"(more than {MAX_ZIP_ENTRY_BYTES})")
        ratio = entry.file_size / max(entry.compress_size, 1)
        if entry.file_size > _RATIO_FLOOR and ratio > MAX_ZIP_RATIO:
            raise Unreadable(f"{format.upper()}: {entry.filename} inflates {ratio:.0f}-fold "
                             f"(a zip bomb: real files stay under {MAX_ZIP_RATIO}-fold)")
    if total > MAX_ZIP_TOTAL_BYTES:
        raise Unreadable(f"{format.upper()}: the zip inflates to {total} bytes (more than {MAX_ZIP_TOTAL_BYTES})")


def scale_for(width: float, height: float, pixels: int = MAX_PAGE_PIXELS) -> float:
    """The factor (≤ 1) that brings width × height within ``pixels``."""
    area = width * height
    return 1.0 if area <= pixels else (pixels / area) ** 0.5
