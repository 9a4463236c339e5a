"""Why a page could not be archived or read, in words an operator can act on (the catalog's failures).

Each reason names the limit or the fault and, where one applies, the setting that decides it; the
spider records one FetchFailure per URL with it.
"""

from __future__ import annotations

import re

from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.downloadhandlers.http import BODY_SIZE
from crawler.extensions.unreachable import UNREACHABLE
from crawler.listings import Listing, hanweb
from crawler.rendering import needs_browser

#: What Scrapy's RedirectMiddleware says when it gives up (REDIRECT_MAX_TIMES).
TOO_MANY_REDIRECTS = "max redirections reached"


def too_large_to_read(response: Response) -> str | None:
    """Why a page is archived but not read: its body was spooled to disk (NIANBAO_MAX_BODY_IN_MEMORY)."""
    size = response.meta.get(BODY_SIZE)
    if size is None:
        return None
    return (f"too large to read: {size} bytes, more than NIANBAO_MAX_BODY_IN_MEMORY; "
            "archived, its links not followed")


def list_problem(response: TextResponse, listing: Listing) -> str | None:
    """Why a list page read to less than it holds: malformed, unparsable, or (a list's first page, plainly
    fetched or rendered) no entries and no further pages at all; None when nothing is wrong."""
    if listing.platform == "hanweb" and (why := hanweb.malformed(response)):
        return why
    if listing.platform == "html":
        tags = response.body.count(b"<") - response.body.count(b"</")
        # XPath's count() in libxml2, not a Selector per element: the tree the reader parsed, counted in C.
        read = int(response.selector.root.xpath("count(//*)")) if tags >= 500 else tags
        if read * 3 < tags:  # lxml gives up silently (nesting past its depth limit) and keeps what it had
            return f"list page not parsed: {read} of about {tags} elements read (nested too deep or malformed HTML)"
    if not listing.entries and not listing.pages and "list_root" not in response.meta \
            and not needs_browser(response, listing, 0):
        return "list page has no links to reports (nor to further pages)"
    return None


def failure_reason(failure: Failure) -> str:
    exc = failure.value
    if isinstance(exc, HttpError):
        return f"HTTP {exc.response.status}"
    if isinstance(exc, IgnoreRequest) and str(exc) == TOO_MANY_REDIRECTS:
        chain = [*failure.request.meta.get("redirect_urls", []), failure.request.url]
        return f"more than {len(chain) - 1} redirects (REDIRECT_MAX_TIMES) from {chain[0]}"[:300]
    if isinstance(exc, IgnoreRequest):  # refused by a middleware, which says why
        return str(exc) or "ignored"
    name = type(exc).__name__
    too_large = re.search(r"(\d+) bytes.*max size \((\d+)\)", str(exc))
    if too_large:  # DOWNLOAD_MAXSIZE: cancelled before anything was kept
        return f"too large: {too_large[1]} bytes, more than DOWNLOAD_MAXSIZE ({too_large[2]})"
    reasons = {
        **UNREACHABLE,  # Scrapy's names for them, and Twisted's
        "ConnectionLost": "connection lost",
        "ResponseNeverReceived": "no response (connection dropped)",
    }
    return reasons.get(name, f"{name}: {exc}"[:300])
