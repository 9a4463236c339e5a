"""Send every fetch through NIANBAO_PROXY: many county portals answer only from mainland networks.

Only sets ``request.meta['proxy']``; Scrapy's HttpProxyMiddleware (which runs after this one)
turns credentials in it into a Proxy-Authorization header, so they never reach a log line.
"""

from __future__ import annotations

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from nianbao.config import check_proxy_url, from_settings


class ProxyMiddleware:
    def __init__(self, proxy: str) -> None:
        self.proxy = proxy

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ProxyMiddleware:
        proxy = from_settings(crawler.settings).proxy
        if not proxy:
            raise NotConfigured
        return cls(check_proxy_url(proxy))

    def process_request(self, request: Request) -> None:
        request.meta.setdefault("proxy", self.proxy)
