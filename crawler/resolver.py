"""Scrapy's resolver, refusing internal answers at the moment of connection (TWISTED_DNS_RESOLVER).

SafetyMiddleware judges what a name resolves to before the request is sent, but Scrapy resolves
it again to connect, and a hostile DNS server can answer a public address the first time and
169.254.169.254 the second (DNS rebinding). This resolver judges the answer actually connected to.
The proxy's own host is exempt: a proxy on the LAN is the operator's choice, not a page's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit
from urllib.request import getproxies

from scrapy.resolver import CachingThreadedResolver
from twisted.internet.base import ReactorBase
from twisted.internet.defer import Deferred

from crawler.addresses import refused_answers
from crawler.downloadermiddlewares.safety import InternalAddressError
from nianbao.config import from_settings, internal_addresses_allowed


class SafeResolver(CachingThreadedResolver):
    def __init__(self, reactor: ReactorBase, cache_size: int, timeout: float, exempt: frozenset[str] | None) -> None:
        super().__init__(reactor, cache_size, timeout)
        self.exempt = exempt  # None: internal addresses allowed (NIANBAO_ALLOW_INTERNAL_ADDRESSES)

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: ReactorBase) -> SafeResolver:
        settings = crawler.settings  # the CrawlerProcess's: the resolver is the reactor's, for every crawler
        exempt = None
        if not internal_addresses_allowed(settings.get("NIANBAO_ALLOW_INTERNAL_ADDRESSES")):
            proxies = [from_settings(settings).proxy, *getproxies().values()]
            exempt = frozenset(urlsplit(p).hostname or "" for p in proxies if p) - {""}
        cache_size = settings.getint("DNSCACHE_SIZE") if settings.getbool("DNSCACHE_ENABLED") else 0
        return cls(reactor, cache_size, settings.getfloat("DNS_TIMEOUT"), exempt)

    def getHostByName(self, name: str, timeout: Sequence[int] = ()) -> Deferred[str]:  # noqa: N802 - Twisted's
        answer = super().getHostByName(name, timeout)
        if self.exempt is not None and name.lower() not in self.exempt:
            answer.addCallback(self._judged, name)
        return answer

    @staticmethod
    def _judged(address: str, name: str) -> str:
        what = refused_answers([address])
        if what is not None:
            raise InternalAddressError(f"refused: {name} is {what}")
        return address
