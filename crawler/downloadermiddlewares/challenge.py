"""Pass JS anti-bot challenges (加速乐 HTTP 521, 瑞数 HTTP 412) with a real browser, then go on
without it.

A challenged request is sent once through Chromium (scrapy-playwright), which runs the
challenge's script until real content appears; the cookies the script set are then handed to
Scrapy's cookie jar, and the original request is repeated as a plain fetch, so what is archived
is the server's own answer and the host's following requests pass until the cookies expire.
A host still challenging after NIANBAO_CHALLENGE_TRIES browser passes is given up on, with why.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

from playwright.async_api import Error as PlaywrightError
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils.httpobj import urlparse_cached
from scrapy_playwright.page import PageMethod

from crawler.downloadermiddlewares.revisit import unconditional

#: What these services answer a client they have not yet checked.
CHALLENGE_STATUSES = (202, 412, 521)
logger = logging.getLogger(__name__)
#: Seconds one browser call (its cookies, closing its page) may take.
BROWSER_STEP = 15
#: Real content: the challenge pages show (almost) no text of their own.
_CONTENT = "() => document.body !== null && document.body.innerText.trim().length > 200"


class ChallengeMiddleware:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.tries = crawler.settings.getint("NIANBAO_CHALLENGE_TRIES")
        self.timeout = crawler.settings.getfloat("NIANBAO_CHALLENGE_TIMEOUT") * 1000

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ChallengeMiddleware:
        return cls(crawler)

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        original: Request | None = request.meta.get("challenge_original")
        if original is not None:  # the browser pass came back
            page = request.meta.get("playwright_page")
            cookies = await _bounded(page.context.cookies(), []) if page is not None else []
            await _close(page)
            return original.replace(dont_filter=True, cookies=[_scrapy_cookie(c) for c in cookies],
                                    meta={**original.meta, "challenge_tries": request.meta["challenge_tries"]})
        if response.status not in CHALLENGE_STATUSES or b"<script" not in response.body.lower():
            return response
        if urlparse_cached(request).path == "/robots.txt":
            # Fetched through engine.download, which cannot take a replacement request; a challenged
            # robots.txt reads as "no robots.txt", and the first page's own pass sets the cookies.
            return response
        return self._browser_pass(request, f"HTTP {response.status}")

    async def process_exception(self, request: Request, exception: Exception) -> Request | None:
        original: Request | None = request.meta.get("challenge_original")
        if original is None:
            return None
        await _close(request.meta.get("playwright_page"))
        tried = original.replace(meta={**original.meta, "challenge_tries": request.meta["challenge_tries"]})
        return self._browser_pass(tried, f"no content after {self.timeout / 1000:.0f} s in the browser")

    def _browser_pass(self, request: Request, why: str) -> Request:
        tries = request.meta.get("challenge_tries", 0)
        if tries >= self.tries:
            raise IgnoreRequest(f"blocked by a JS challenge ({why}) after {tries} browser pass(es)")
        self.crawler.stats.inc_value(f"nianbao/{request.meta.get('site', '-')}/challenges")
        return unconditional(request, playwright=True, playwright_include_page=True,
                             playwright_page_methods=[PageMethod("wait_for_function", _CONTENT, timeout=self.timeout)],
                             challenge_tries=tries + 1, challenge_original=request).replace(dont_filter=True)


async def _bounded(step: Awaitable[Any], instead: Any) -> Any:
    """A browser call given BROWSER_STEP seconds: a renderer stuck in a hostile page's script must not hold the
    request (and its page slot) for ever."""
    try:
        return await asyncio.wait_for(step, BROWSER_STEP)
    except (TimeoutError, PlaywrightError) as exc:
        logger.warning("browser step given up: %s", exc or f"no answer within {BROWSER_STEP} s")
        return instead


async def _close(page: Any) -> None:
    if page is not None and not page.is_closed():
        await _bounded(page.close(), None)


def _scrapy_cookie(cookie: dict[str, Any]) -> dict[str, Any]:
    return {key: cookie[key] for key in ("name", "value", "domain", "path") if cookie.get(key) is not None}
