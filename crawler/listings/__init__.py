"""Read a report list page, whatever CMS wrote it: its entries and the pages that follow.

Each CMS has its own module; ``read_listing`` asks them in turn (the most specific first)
and falls back to an ordinary HTML list.
"""

from __future__ import annotations

from scrapy.http import TextResponse

from . import annual, api, gkmlpt, hanweb, html, trs
from .base import Entry, Listing

READERS = (gkmlpt, api, hanweb, annual, trs, html)


def read_listing(response: TextResponse, hanweb_group: int = 45, max_pages: int = 500) -> Listing:
    """``max_pages`` bounds the pages derived from one page's pager before any is built."""
    for reader in READERS:
        if reader.recognizes(response):
            return reader.read(response, hanweb_group=hanweb_group, max_pages=max_pages)
    raise AssertionError("html.recognizes() accepts every page")  # pragma: no cover


__all__ = ["Entry", "Listing", "read_listing"]
