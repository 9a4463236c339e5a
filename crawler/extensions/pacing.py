"""A host's delay counts from the end of its last answer, not from when its last request left the queue.

Scrapy's download slot starts a host's delay (DOWNLOAD_DELAY, a site's ``delay:``, AutoThrottle's)
when it lets a request go. In a crawl of hundreds of hosts the event loop is busy, so a request may
reach the wire a good while after its slot let it go, while the next one goes on time: the host then
sees two requests well under a delay apart (0.3 s, measured at the simulated portals of
bench/scale.py). Counting the delay from the answer — with one connection a host, the end of its
last exchange — means a host never gets its next request sooner than the delay after it answered.
"""

from __future__ import annotations

from time import monotonic

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.http import Response


class AnswerPacing:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> AnswerPacing:
        extension = cls(crawler)
        # Sent by the downloader after the answer came, before the slot looks at its queue again.
        crawler.signals.connect(extension.response_downloaded, signal=signals.response_downloaded)
        return extension

    def response_downloaded(self, response: Response, request: Request) -> None:
        slot = self.crawler.engine.downloader.slots.get(request.meta.get("download_slot", ""))
        if slot is not None:
            slot.lastseen = monotonic()  # Scrapy's slots keep monotonic times
