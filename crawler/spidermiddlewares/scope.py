"""Only a site's own hosts are followed for it (crawler.scope); each URL refused is recorded once: a mirror linked
from every list page is one problem, not fifty. crawler.downloadermiddlewares.scope judges redirects and rechecks."""

from __future__ import annotations

from scrapy import Request
from scrapy.crawler import Crawler

from crawler.items import FetchFailure

from .base import SiteRequestMiddleware


class ScopeMiddleware(SiteRequestMiddleware):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.refused: set[tuple[str, str]] = set()  # (site, URL) recorded already

    def judge(self, site: str, request: Request) -> Request | FetchFailure | None:
        scopes = getattr(self.crawler.spider, "scopes", {})
        if site not in scopes or scopes[site].allows(request.url):
            return request
        if (site, request.url) in self.refused:
            return None
        self.refused.add((site, request.url))
        return FetchFailure(site, request.url, "out of scope: not a host of this site", request.meta.get("kind"))
