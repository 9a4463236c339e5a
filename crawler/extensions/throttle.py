"""AutoThrottle that learns from 304 answers too.

Scrapy's AutoThrottle never lowers a host's delay on an answer other than 200 (error pages
and redirects are small, so they would make a host look faster than it is). A recrawl,
though, is mostly 304s: the server's full answer to what was asked. Counted like a 200, they
let an unchanged recrawl move at the host's real pace instead of at the start delay.
"""

from __future__ import annotations

from scrapy.core.downloader import Slot
from scrapy.extensions.throttle import AutoThrottle as ScrapyAutoThrottle
from scrapy.http import Response


class AutoThrottle(ScrapyAutoThrottle):
    def _adjust_delay(self, slot: Slot, latency: float, response: Response) -> None:
        if response.status == 304:
            response = response.replace(status=200)
        super()._adjust_delay(slot, latency, response)
