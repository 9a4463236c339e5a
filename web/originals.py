"""A PDF report's archived original as page images, for the report page beside its tables.

A sandboxed frame runs no PDF viewer (it would only offer a download), so the pages are drawn here with PyMuPDF
from the archived body, read back verified by its SHA-256. Bounded — the first MAX_PAGES pages, each at most
DPI and MAX_PIXELS — and kept, by sha256 and page (CACHE_PAGES images): a page is drawn once, whoever looks.
PyMuPDF is not thread-safe, and the server answers in threads: one page is drawn at a time.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict

import pymupdf

from archive.storage import ObjectStore

#: Pages of one report shown as images (a longer one links its memento for the rest).
MAX_PAGES = 40
#: Resolution a page is drawn at: a table's digits stay legible, a page stays near 200 kB.
DPI = 110
#: Pixels a page image may have whatever its page size says (a hostile PDF's 5-metre page is drawn smaller).
MAX_PIXELS = 4_000_000
#: Page images kept in memory; and bodies whose page count is known.
CACHE_PAGES = 128
_COUNTS = 4096


class Unrenderable(Exception):
    """The body is not a PDF PyMuPDF can open, or has no such page."""


class PageImages:
    def __init__(self) -> None:
        self._images: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self._counts: OrderedDict[str, int] = OrderedDict()
        self._lock = threading.Lock()

    def count(self, store: ObjectStore, sha256: str) -> int:
        """The body's page count (its whole document; ``shown`` bounds what is drawn)."""
        with self._lock:
            if sha256 not in self._counts:
                with _open(store.get(sha256)) as document:
                    _remember(self._counts, sha256, document.page_count, _COUNTS)
            return self._counts[sha256]

    def png(self, store: ObjectStore, sha256: str, number: int) -> bytes:
        """Page ``number`` (1-based, at most MAX_PAGES) of the body as a PNG."""
        with self._lock:
            key = (sha256, number)
            if key in self._images:
                self._images.move_to_end(key)
                return self._images[key]
            with _open(store.get(sha256)) as document:
                _remember(self._counts, sha256, document.page_count, _COUNTS)
                if not 1 <= number <= min(document.page_count, MAX_PAGES):
                    raise Unrenderable(f"page {number} is not among the {shown(document.page_count)} shown")
                page = document[number - 1]
                width, height = page.rect.width, page.rect.height
                zoom = min(DPI / 72, math.sqrt(MAX_PIXELS / max(width * height, 1.0)))
                image = page.get_pixmap(matrix=pymupdf.Matrix(zoom, zoom), alpha=False).tobytes("png")
            _remember(self._images, key, image, CACHE_PAGES)
            return image


def shown(pages: int) -> int:
    return min(pages, MAX_PAGES)


def _open(body: bytes) -> pymupdf.Document:
    try:
        return pymupdf.open(stream=body, filetype="pdf")
    except (pymupdf.FileDataError, RuntimeError, ValueError) as exc:
        raise Unrenderable(f"not a PDF PyMuPDF can open: {exc}") from exc


def _remember(cache: OrderedDict, key: object, value: object, size: int) -> None:
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > size:
        cache.popitem(last=False)
