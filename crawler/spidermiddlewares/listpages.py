"""A site's lists are followed for at most NIANBAO_MAX_LIST_PAGES pages in all (a guard against endless pagers).

Every list page links its neighbours: a page is counted once (by fingerprint: two Hanweb columns POST to one URL)
and asked for once. The bound reached is recorded once per list (``list_root``: its first page).
"""

from __future__ import annotations

from scrapy import Request
from scrapy.crawler import Crawler

from crawler.items import FetchFailure

from .base import SiteRequestMiddleware


class ListPagesMiddleware(SiteRequestMiddleware):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.max_pages = crawler.settings.getint("NIANBAO_MAX_LIST_PAGES")
        self.seen: dict[str, set[bytes]] = {}  # pages followed (fingerprints), per site
        self.said: set[str] = set()  # lists whose bound was recorded

    def judge(self, site: str, request: Request) -> Request | FetchFailure | None:
        root = request.meta.get("list_root")
        if root is None or request.dont_filter:  # not a further page of a list, or one asked for again on purpose
            return request  # (the browser's pass of a page that needs it)
        seen = self.seen.setdefault(site, set())
        key = self.crawler.request_fingerprinter.fingerprint(request)
        if key in seen:
            return None
        if len(seen) >= self.max_pages:
            if root in self.said:
                return None
            self.said.add(root)
            return FetchFailure(site, request.url, f"list pagination stopped after {self.max_pages} pages", "list")
        seen.add(key)
        return request
