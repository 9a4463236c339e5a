"""One line for a site that cannot be reached (its name does not resolve, nothing listens, nothing answers), with
what to do about it, instead of Scrapy's tracebacks.

Scrapy says such a failure over and over (robots.txt with a traceback, each URL, each retry) while the spider
records it once per URL (catalog, run log). On the console a host that never answered gets one line: most
often it is a portal that answers only from mainland Chinese networks, and the fix is a proxy there.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.utils.log import get_scrapy_root_handler

from crawler.items import FetchFailure
from nianbao.config import from_settings

logger = logging.getLogger(__name__)

#: Download errors (Scrapy's, and Twisted's beneath them) that mean the host was not reached, in the words a
#: failure is recorded with.
UNREACHABLE = {
    "CannotResolveHostError": "DNS lookup failed",
    "DNSLookupError": "DNS lookup failed",
    "DownloadConnectionRefusedError": "connection refused",
    "ConnectionRefusedError": "connection refused",
    "DownloadTimeoutError": "timed out",
    "TimeoutError": "timed out",
    "TCPTimedOutError": "timed out",
    "NoRouteError": "no route to host",
}
_REASONS = frozenset(UNREACHABLE.values())
#: Scrapy's robots.txt middleware logs each failed robots.txt as an error with a traceback; the page behind it
#: fails the same way and is recorded.
_ROBOTS_LOGGER = "scrapy.downloadermiddlewares.robotstxt"
HINT = "from here; many portals answer only from mainland Chinese networks: crawl through a proxy there (--proxy)"


class Unreachable:
    def __init__(self, crawler: Crawler) -> None:
        self.proxy = from_settings(crawler.settings).proxy
        self.answered: set[str] = set()  # hosts that sent any answer in this crawl
        self.said: set[tuple[str, str]] = set()  # (site, host) already said unreachable
        self.console: logging.Handler | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Unreachable:
        extension = cls(crawler)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(extension.response_received, signal=signals.response_received)
        crawler.signals.connect(extension.item_scraped, signal=signals.item_scraped)
        return extension

    def spider_opened(self) -> None:
        logging.getLogger(_ROBOTS_LOGGER).addFilter(quiet_robots)
        self.console = get_scrapy_root_handler()  # installed by now; not the run log, which keeps every line
        if self.console is not None:
            self.console.addFilter(self.not_said_already)

    def spider_closed(self) -> None:
        logging.getLogger(_ROBOTS_LOGGER).removeFilter(quiet_robots)
        if self.console is not None:
            self.console.removeFilter(self.not_said_already)

    def response_received(self, response: Response) -> None:
        self.answered.add(_host(response.url))

    def item_scraped(self, item: Any) -> None:
        if not isinstance(item, FetchFailure) or item.reason not in _REASONS:
            return
        host = _host(item.url)
        if host in self.answered or (item.site, host) in self.said:
            return
        self.said.add((item.site, host))
        where = "through the proxy: is it working?" if self.proxy else HINT
        logger.warning("%s: %s cannot be reached (%s) %s", item.site, host, item.reason, where,
                       extra={"event": "unreachable", "site": item.site, "url": item.url, "reason": item.reason})

    def not_said_already(self, record: logging.LogRecord) -> bool:
        """Console only: a failure at a host that never answered is the one line said about that host."""
        if getattr(record, "event", None) != "failed" or getattr(record, "reason", None) not in _REASONS:
            return True
        return _host(getattr(record, "url", "") or "") in self.answered


def quiet_robots(record: logging.LogRecord) -> bool:
    """A robots.txt that could not be fetched: one line without the traceback, and for a host not reached
    not an error (the page behind it is recorded failing the same way)."""
    exc = record.exc_info[1] if record.exc_info else None
    if exc is not None:
        record.exc_info, record.exc_text = None, None
        if type(exc).__name__ in UNREACHABLE:
            record.levelno, record.levelname = logging.INFO, "INFO"
    return True


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()
