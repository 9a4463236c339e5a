"""Ordinary HTML lists: entries as links, pagination as 下一页 / numbered links to sibling pages."""

from __future__ import annotations

import posixpath
import re
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.http import TextResponse

from . import years
from .base import Listing, anchors, capped

_PAGER_TEXT = re.compile(
    r"^(\d{1,4}|下一?页|后一?页|尾页|末页|最后一?页|上一?页|前一?页|首页|第一页|next|last|»|›|>>?)$", re.IGNORECASE
)


_DECORATION = re.compile(r"[\s\[\]【】<>《》«»‹›　]+")


def recognizes(response: TextResponse) -> bool:
    return True


def read(response: TextResponse, max_pages: int = 500, **_: object) -> Listing:
    listing = Listing("html")
    here = urlsplit(response.url)
    seen = {response.url}
    for a in response.css("a[href]"):
        raw = "".join(a.css("::text").getall()).strip()
        text = _DECORATION.sub("", raw) or raw  # [下一页], 下一页 >, « 上一页 — but » alone stays »
        if not _PAGER_TEXT.match(text):
            continue
        url = response.urljoin(a.attrib["href"])
        if url not in seen and _sibling(here, urlsplit(url)):
            seen.add(url)
            listing.pages.append(Request(url))
    pager = {r.url for r in listing.pages}
    listing.entries = [e for e in anchors(response.selector, response) if e.url not in pager]
    listing.pages += [r for r in years.year_pages(response, max_pages) if r.url not in pager]  # ?nbYear=2023 …
    listing.pages = listing.pages[:capped(len(listing.pages), max_pages, listing)]
    return listing


def _sibling(here, there) -> bool:
    """Pages of one list share host and directory (``index_2.html``, ``?page=2``, ``list_2.html``).

    A list registered as a directory without its slash (``/zwgk/ndbg``) is that directory too.
    """
    if here.netloc != there.netloc:
        return False
    return posixpath.dirname(there.path) in {posixpath.dirname(here.path), here.path.rstrip("/")}
