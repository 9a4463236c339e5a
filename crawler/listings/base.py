"""The shape of a list page once read, and the anchor reading every CMS shares."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from parsel import Selector
from scrapy import Request
from scrapy.http import TextResponse

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Entry:
    url: str
    title: str


@dataclass
class Listing:
    platform: str
    entries: list[Entry] = field(default_factory=list)
    #: Further list pages (GETs of ``index_1.html`` or POSTs to a data proxy), at most the reader's ``max_pages``.
    pages: list[Request] = field(default_factory=list)
    #: How many pages the list says it has, when that is more than ``pages`` holds: a pager's count is
    #: whatever the server writes (``createPageHTML(1000000000, …)``), so readers derive pages only up to
    #: the cap and say what was left.
    claimed_pages: int | None = None


def capped(count: int, max_pages: int, listing: Listing) -> int:
    """``count`` pages, or ``max_pages`` when the list claims more (noted on the listing)."""
    if count > max_pages:
        listing.claimed_pages = count
        return max_pages
    return count


def anchors(selector: Selector, base: TextResponse) -> list[Entry]:
    """Every link with a title: the ``title`` attribute wins over text cut short with ``…``."""
    entries = []
    for a in selector.css("a[href]"):
        href = (a.attrib.get("href") or "").strip()
        if not href or href.startswith(("#", "javascript:", "mailto:")):
            continue
        text = _SPACE.sub(" ", " ".join(a.css("::text").getall())).strip()
        attr = _SPACE.sub(" ", a.attrib.get("title") or "").strip()
        # The title attribute holds the full title when the text is cut short or has a date appended.
        title = attr if attr and (len(attr) >= len(text.rstrip("….")) or text.startswith(attr)) else text
        if title:
            entries.append(Entry(base.urljoin(href), title))
    return entries
