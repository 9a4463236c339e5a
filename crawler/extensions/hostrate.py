"""The busiest second per host: the figure that shows a crawl was polite.

Each request is counted in the whole second the download handler sent it (``sent()``, as the
host would see it), whatever became of it: an answer, a timeout, a refused connection. The delay
counts from a host's last answer (crawler.extensions.pacing), so requests a delay apart at the host
are a delay apart here. The most any host got
in one second goes to the stats (``nianbao/busiest_second`` and, per host,
``nianbao/busiest_second/HOST``), and from there into the run's figures (crawler.runfigures).
"""

from __future__ import annotations

import time
from collections import Counter

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.utils.httpobj import urlparse_cached

SENT_AT = "nianbao_sent_at"


def sent(crawler: Crawler, request: Request) -> None:
    """Stamp ``request`` (the download handler, as the request goes) with the moment it goes to the wire."""
    request.meta[SENT_AT] = time.time()


class HostRate:
    def __init__(self, crawler: Crawler) -> None:
        self.stats = crawler.stats
        self.seconds: dict[str, Counter[int]] = {}  # host → requests sent in each whole second
        # No download outlasts its timeout: a second older than that has all its requests counted, and goes.
        self.settled = int(crawler.settings.getfloat("DOWNLOAD_TIMEOUT")) + 10

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> HostRate:
        extension = cls(crawler)
        # Left the downloader: sent and done, answered or not; a request refused before it was sent (scope,
        # robots.txt, a budget) never gets here.
        crawler.signals.connect(extension.request_left_downloader, signal=signals.request_left_downloader)
        return extension

    def request_left_downloader(self, request: Request) -> None:
        when = request.meta.get(SENT_AT)
        if when is None:  # answered without the network
            return
        host = urlparse_cached(request).hostname or ""
        seconds = self.seconds.setdefault(host, Counter())
        second = int(when)
        seconds[second] += 1
        if len(seconds) > 2 * self.settled:  # memory stays bounded over a crawl of hours
            for old in [s for s in seconds if s < second - self.settled]:
                del seconds[old]
        self.stats.max_value(f"nianbao/busiest_second/{host}", seconds[second])
        self.stats.max_value("nianbao/busiest_second", seconds[second])
