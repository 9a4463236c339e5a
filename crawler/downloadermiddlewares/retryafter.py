"""Honour Retry-After, and back off from hosts that fail: a struggling county portal gets room.

A 429 or 503 with Retry-After says how long to stay away. Without one, each transient failure in
a row (a retryable status, a timeout, a dropped connection) doubles the host's pause, from
NIANBAO_BACKOFF_BASE up to NIANBAO_BACKOFF_MAX seconds; a success ends it.

Every request to that host waits until then (a random download delay could cut the wait short,
so the middleware holds requests itself), and Scrapy's RetryMiddleware retries as usual; a host
that asks for longer than NIANBAO_MAX_RETRY_AFTER is given up on, with the reason recorded."""

from __future__ import annotations

import asyncio
from collections import Counter
from email.utils import parsedate_to_datetime
from time import monotonic, time

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached


def retry_after_seconds(value: bytes) -> float | None:
    """Seconds to wait, from ``Retry-After: 120`` or an HTTP date; None when unreadable."""
    text = value.decode("latin-1").strip()
    if text.isdigit():
        return float(text)
    try:
        return max(0.0, parsedate_to_datetime(text).timestamp() - time())
    except (TypeError, ValueError, IndexError):
        return None


class RetryAfterMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.max_wait = crawler.settings.getfloat("NIANBAO_MAX_RETRY_AFTER")
        self.not_before: dict[str, float] = {}  # host → monotonic time its next request may go
        self.failures: Counter[str] = Counter()  # host → transient failures in a row
        self.retry_codes = set(crawler.settings.getlist("RETRY_HTTP_CODES", [])) | {429, 503}
        self.base = crawler.settings.getfloat("NIANBAO_BACKOFF_BASE")
        self.longest = crawler.settings.getfloat("NIANBAO_BACKOFF_MAX")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RetryAfterMiddleware:
        return cls(crawler)

    async def process_request(self, request: Request) -> None:
        wait = self.not_before.get(urlparse_cached(request).netloc, 0) - monotonic()
        if wait > 0:
            await asyncio.sleep(wait)

    def process_response(self, request: Request, response: Response) -> Response:
        host = urlparse_cached(request).netloc
        if int(response.status) not in self.retry_codes:
            self.failures.pop(host, None)
            return response
        header = response.headers.get("Retry-After") if response.status in (429, 503) else None
        wait = retry_after_seconds(header) if header is not None else None
        if wait is None:
            self._back_off(host)
            return response
        if wait > self.max_wait:
            raise IgnoreRequest(f"HTTP {response.status}: the server asks to retry after {wait:.0f} s "
                                f"(more than NIANBAO_MAX_RETRY_AFTER={self.max_wait:.0f})")
        self._pause(host, wait)
        return response

    def process_exception(self, request: Request, exception: Exception) -> None:
        self._back_off(urlparse_cached(request).netloc)

    def _back_off(self, host: str) -> None:
        self.failures[host] += 1
        self._pause(host, min(self.longest, self.base * 2 ** (self.failures[host] - 1)))

    def _pause(self, host: str, seconds: float) -> None:
        self.not_before[host] = max(self.not_before.get(host, 0), monotonic() + seconds)
