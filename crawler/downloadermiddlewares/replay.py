"""A crawl started again after a crash goes on where it was: the pages it had fetched are read back.

What a crawl still has to do follows from what it has archived: every request comes from a page
it fetched (a list page leads to the next page and to reports, a report to its attachments), and
every page it fetched was stored and recorded before anything depended on it. So the frontier of an
interrupted run needs no queue of its own: the next crawl of its sites (crawler.extensions.archive finds
the interrupted runs) reads the list and report pages that run recorded from the archive — verified,
no request to the site — and follows them as if fetched; what they lead to that the run had recorded
is not due again (the check schedule), so only what was in flight when it died is fetched twice. A
page read back is not recorded again (crawler.pipelines.archive); one that needed the browser is
fetched afresh.
"""

from __future__ import annotations

import asyncio
import logging

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response

from archive.storage import StorageError
from crawler.extensions.archive import Archive

from .revisit import archived_response

logger = logging.getLogger(__name__)


class ReplayMiddleware:
    def __init__(self, crawler: Crawler, archive: Archive) -> None:
        self.crawler, self.archive = crawler, archive

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ReplayMiddleware:
        archive = crawler.get_extension(Archive)
        if archive is None:
            raise NotConfigured
        return cls(crawler, archive)

    async def process_request(self, request: Request) -> Response | None:
        prior = self.archive.replay.get(request.url)
        if prior is None or request.meta.get("playwright") or request.method != "GET":
            return None
        del self.archive.replay[request.url]  # once: a page asked again (a browser pass) is fetched
        try:
            body = await asyncio.to_thread(self.archive.store.get, prior.sha256)
        except StorageError as exc:
            logger.warning("%s: not read back (%s); fetching it again", request.url, exc)
            return None
        request.meta["nianbao_replayed"] = prior.sha256
        self.crawler.stats.inc_value("nianbao/replayed")
        return archived_response(request, 200, prior.headers, body, "replayed", prior.protocol,
                                 url=prior.final_url)  # where its relative links lead from
