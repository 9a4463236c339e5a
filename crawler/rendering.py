"""Which pages need a browser: a list whose entries only a script puts on the page.

Such a page comes back from a plain fetch with an empty container and a script that fetches
the entries (fetch, XMLHttpRequest, jQuery.ajax, axios). Only then is the page fetched again in
Chromium; a list with entries of its own never is.
"""

from __future__ import annotations

import re

from scrapy import Request
from scrapy.http import TextResponse
from scrapy_playwright.page import PageMethod

from crawler.downloadermiddlewares.revisit import unconditional
from crawler.listings import Listing

_LOADS_DATA = re.compile(rb"fetch\s*\(|XMLHttpRequest|\$\.(ajax|get|getJSON|post)\s*\(|axios\.|\.load\s*\(")


def needs_browser(response: TextResponse, listing: Listing, candidates: int) -> bool:
    if response.meta.get("playwright") or candidates or listing.pages:
        return False
    scripts = b" ".join(s.encode() for s in response.xpath("//script[not(@src)]/text()").getall())
    return bool(_LOADS_DATA.search(scripts))


def rendered(response: TextResponse) -> Request:
    """The same request, to be fetched in the browser until the script has added links to the page."""
    links = len(response.xpath("//a[@href]"))
    wait = f"() => document.querySelectorAll('a[href]').length > {links}"
    return unconditional(response.request, playwright=True,  # what the archive held was the empty shell
                         playwright_page_methods=[PageMethod("wait_for_function", wait, timeout=30_000)]
                         ).replace(dont_filter=True)
