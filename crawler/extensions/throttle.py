"""AutoThrottle that only ever slows down from a host's own delay, and learns from 304 answers too.

Scrapy's AutoThrottle keeps every host at or above DOWNLOAD_DELAY, the crawl-wide setting, and
no higher than AUTOTHROTTLE_MAX_DELAY. A site whose registry entry asks for more (``delay: 5``,
given to its hosts' download slots by crawler.downloadermiddlewares.politeness) would be sped up
to DOWNLOAD_DELAY by a quick answer; here the floor is the host's own delay, even above the
maximum: AutoThrottle may make a crawl slower than it was told, never faster.

Scrapy's AutoThrottle also never lowers a host's delay on an answer other than 200 (error pages
and redirects are small, so they would make a host look faster than it is). A recrawl, though, is
mostly 304s: the server's full answer to what was asked. Counted like a 200, they let an unchanged
recrawl move at the host's real pace instead of at the start delay.
"""

from __future__ import annotations

from scrapy import Request, Spider
from scrapy.core.downloader import Slot
from scrapy.extensions.throttle import AutoThrottle as ScrapyAutoThrottle
from scrapy.http import Response


class AutoThrottle(ScrapyAutoThrottle):
    def _response_downloaded(self, response: Response, request: Request, spider: Spider) -> None:
        self.mindelay = self.floor(request.meta.get("download_slot"))  # what _adjust_delay keeps to
        super()._response_downloaded(response, request, spider)

    def floor(self, key: str | None) -> float:
        """The delay the host's slot was made with: its site's ``delay:``, else DOWNLOAD_DELAY."""
        slot_settings = self.crawler.engine.downloader.per_slot_settings.get(key or "", {})
        return float(slot_settings.get("delay", self.crawler.settings.getfloat("DOWNLOAD_DELAY")))

    def _adjust_delay(self, slot: Slot, latency: float, response: Response) -> None:
        if response.status == 304:
            response = response.replace(status=200)
        super()._adjust_delay(slot, latency, response)
        slot.delay = max(slot.delay, self.mindelay)  # even past AUTOTHROTTLE_MAX_DELAY
