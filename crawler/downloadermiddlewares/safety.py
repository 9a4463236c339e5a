"""Never fetch an internal address: a hostile page, registry entry, redirect or DNS answer must not
point the crawler at the machine itself, the LAN or a cloud metadata service (169.254.169.254).

Runs for every request, redirects and meta refreshes included (Scrapy sends their targets through
the downloader middlewares again), and before RobotsTxtMiddleware, so not even a robots.txt is
asked of such a host. The host is judged by crawler.addresses, as the registry judges it. Names
are resolved here only when no proxy is used: through a proxy, the proxy resolves them, far from
this machine's network. What Scrapy then resolves at connection time is judged again by
crawler.resolver (the answer may have changed since: DNS rebinding).
"""

from __future__ import annotations

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.httpobj import urlparse_cached

from crawler.addresses import refusal, resolved_refusal
from nianbao.config import from_settings, internal_addresses_allowed


class InternalAddressError(IgnoreRequest):
    """A request for an internal address, refused."""


class SafetyMiddleware:
    def __init__(self, proxy: str | None) -> None:
        self.proxy = proxy

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SafetyMiddleware:
        if internal_addresses_allowed(crawler.settings.get("NIANBAO_ALLOW_INTERNAL_ADDRESSES")):
            raise NotConfigured
        # Runs before ProxyMiddleware has set meta["proxy"]: knows the crawl's proxy itself.
        return cls(from_settings(crawler.settings).proxy)

    async def process_request(self, request: Request) -> None:
        host = urlparse_cached(request).hostname or ""
        what = refusal(host)
        if what is None and not request.meta.get("proxy", self.proxy):
            what = await resolved_refusal(host)
        if what is not None:
            said = f"redirect to {host}, {what}" if request.meta.get("redirect_urls") else f"{host} is {what}"
            raise InternalAddressError(f"refused: {said}")

