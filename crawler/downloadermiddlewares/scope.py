"""Only a site's own hosts are fetched for it, whoever names the URL: a link (the spider checks those
before asking), a redirect or a meta refresh (Scrapy sends their targets through the downloader
middlewares again, and only here can they be judged).

Runs before RobotsTxtMiddleware, so not even a robots.txt is asked of a host out of scope. A
request that names no site (a robots.txt) must be in the scope of one of the crawl's sites.
"""

from __future__ import annotations

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.httpobj import urlparse_cached


class OutOfScopeError(IgnoreRequest):
    """A request for a host that is not the site's, refused."""


class ScopeMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ScopeMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        scopes = getattr(self.crawler.spider, "scopes", None)
        if not scopes:  # a spider that crawls no sites of the registry
            return
        scope = scopes.get(request.meta.get("site"))
        if scope.allows(request.url) if scope else any(s.allows(request.url) for s in scopes.values()):
            return
        host = urlparse_cached(request).hostname or request.url
        if request.meta.get("redirect_urls"):
            raise OutOfScopeError(f"out of scope: redirect to {host} (not a host of this site)")
        raise OutOfScopeError(f"out of scope: {host} is not a host of this site")
