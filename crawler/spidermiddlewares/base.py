"""What the spider middlewares share: a request dropped may leave its failure in its place."""

from __future__ import annotations

from scrapy import Request
from scrapy.http import Response
from scrapy.spidermiddlewares.base import BaseSpiderMiddleware

from crawler.items import FetchFailure


class SiteRequestMiddleware(BaseSpiderMiddleware):
    """Judges each request a site's callback (or start) yields; others (no ``site`` in meta) pass."""

    def get_processed_request(self, request: Request, response: Response | None) -> Request | FetchFailure | None:
        site = request.meta.get("site")
        return request if site is None else self.judge(site, request)

    def judge(self, site: str, request: Request) -> Request | FetchFailure | None:
        """The request, its failure (an item, sent on in its place), or None: dropped, said already."""
        raise NotImplementedError
