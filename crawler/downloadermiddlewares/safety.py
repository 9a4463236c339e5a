"""Never fetch an internal address: a hostile page, registry entry, redirect or DNS answer must not
point the crawler at the machine itself, the LAN or a cloud metadata service (169.254.169.254).

Runs for every request, redirects included (Scrapy sends a redirect's target through the
downloader middlewares again). Host names are resolved here only when no proxy is used: through
a proxy, the proxy resolves them, far from this machine's network.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.utils.httpobj import urlparse_cached

_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")


class InternalAddressError(IgnoreRequest):
    """A request for an internal address, refused."""


def internal(address: str) -> bool:
    """Loopback, private, link-local, multicast, reserved: anything not on the public Internet."""
    return not ipaddress.ip_address(address.split("%", 1)[0]).is_global


class SafetyMiddleware:
    @classmethod
    def from_crawler(cls, crawler: Crawler) -> SafetyMiddleware:
        if crawler.settings.getbool("NIANBAO_ALLOW_INTERNAL_ADDRESSES"):
            raise NotConfigured
        return cls()

    async def process_request(self, request: Request) -> None:
        host = (urlparse_cached(request).hostname or "").lower().rstrip(".")
        if host in _LOCAL_NAMES or host.endswith(".localhost"):
            raise InternalAddressError(f"refused: {host} is this machine")
        try:
            if internal(host):
                raise InternalAddressError(f"refused: {host} is an internal address")
            return  # a public IP literal
        except ValueError:
            pass  # a name, not an address
        if request.meta.get("proxy"):
            return
        try:
            answers = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except OSError:
            return  # let the download fail with the resolver's own, clearer error
        bad = sorted({a[4][0] for a in answers if internal(a[4][0])})
        if bad:
            raise InternalAddressError(f"refused: {host} resolves to internal address {', '.join(bad)}")
