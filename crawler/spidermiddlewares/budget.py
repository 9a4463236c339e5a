"""At most NIANBAO_MAX_REQUESTS_PER_SITE requests for one site in one crawl: a guard against traps nothing else
caught. The bound is recorded once, with the first request past it."""

from __future__ import annotations

from collections import Counter

from scrapy import Request
from scrapy.crawler import Crawler

from crawler.items import FetchFailure

from .base import SiteRequestMiddleware


class BudgetMiddleware(SiteRequestMiddleware):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.max_requests = crawler.settings.getint("NIANBAO_MAX_REQUESTS_PER_SITE")
        self.requests: Counter[str] = Counter()  # requests let through (or refused) per site

    def judge(self, site: str, request: Request) -> Request | FetchFailure | None:
        self.requests[site] += 1
        if self.requests[site] <= self.max_requests:
            return request
        if self.requests[site] > self.max_requests + 1:
            return None
        return FetchFailure(site, request.url, f"stopped: {self.max_requests} requests for this site "
                            "(NIANBAO_MAX_REQUESTS_PER_SITE)", request.meta.get("kind"))
