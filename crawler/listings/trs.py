"""TRS WCM lists: ``index.html``, ``index_1.html`` …, the pager written only by a script.

``createPageHTML(count, current, "index", "html")`` is the only trace of how many pages there
are, so every page is derived from it; deep pages that 404 do not stop the others.
"""

from __future__ import annotations

import re

from scrapy import Request
from scrapy.http import TextResponse

from . import html
from .base import Listing, capped

_PAGER = re.compile(r"createPageHTML\(\s*['\"]?(\d+)['\"]?\s*,\s*['\"]?(\d+)['\"]?\s*,\s*['\"]([\w-]+)['\"]\s*,"
                    r"\s*['\"](\w+)['\"]")


def recognizes(response: TextResponse) -> bool:
    return b"createPageHTML" in response.body


def read(response: TextResponse, max_pages: int = 500, **_: object) -> Listing:
    listing = html.read(response, max_pages=max_pages)
    listing.platform = "trs"
    match = _PAGER.search(response.text)
    if match:
        count, stem, ext = capped(int(match[1]), max_pages, listing), match[3], match[4]
        names = [f"{stem}.{ext}"] + [f"{stem}_{i}.{ext}" for i in range(1, count)]
        known = {r.url for r in listing.pages}
        listing.pages += [Request(url) for url in map(response.urljoin, names) if url not in known]
    return listing
