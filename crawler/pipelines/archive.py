"""Archive before anything else: store and verify each body, then record it in the catalog.

Storage runs in a thread pool so the crawl keeps fetching while bodies are written; catalog
writes go through one thread and are committed in small groups (groupcommit.py; a capture
and its parse request always in the same transaction). A body that cannot be stored is recorded as a
failure and never reaches the catalog or the parse queue; a crash between storing and
recording leaves at most an unreferenced object, never a capture without its bytes.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NoReturn

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from sqlalchemy.exc import SQLAlchemyError

from archive import catalog as cat
from archive.storage import StorageError, open_store
from crawler.items import Capture, FetchFailure, FoundList
from crawler.runfigures import reason_class, run_figures
from nianbao.config import from_settings

from .groupcommit import GroupCommit

logger = logging.getLogger(__name__)


class ArchivePipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        config = from_settings(crawler.settings)
        self.store = open_store(config)
        self.catalog = cat.Catalog(config.catalog)
        self.store_pool = ThreadPoolExecutor(crawler.settings.getint("NIANBAO_STORE_THREADS"), "nianbao-store")
        self.catalog_pool = ThreadPoolExecutor(1, "nianbao-catalog")
        self.captures = GroupCommit(self._commit, self.catalog_pool,
                                    crawler.settings.getint("NIANBAO_CATALOG_GROUP_SIZE"),
                                    crawler.settings.getfloat("NIANBAO_CATALOG_GROUP_DELAY"))
        self.run_id: int | None = None
        #: Consecutive bodies that could not be stored; past the limit the crawl stops, since
        #: fetching on would only download what cannot be kept.
        self.store_failures = 0
        self.store_failures_max = max(1, crawler.settings.getint("NIANBAO_MAX_STORAGE_FAILURES"))
        self._closing: asyncio.Task[None] | None = None
        self._progress: asyncio.Task[None] | None = None
        self.update_interval = crawler.settings.getfloat("NIANBAO_RUN_UPDATE_INTERVAL")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchivePipeline:
        pipeline = cls(crawler)
        # The run ends on spider_closed, the one place that knows why the crawl ended.
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self) -> None:
        spider = self.crawler.spider
        sites = sorted(getattr(spider, "sites", {}))
        self.run_id = self.catalog.start_run(sites, self.crawler.settings.get("NIANBAO_RUN_TRIGGER"))
        self.crawler.stats.set_value("nianbao/run_id", self.run_id)
        logger.info("run %s: archiving into %s, catalog %s", self.run_id, self.store.location,
                    self.catalog.engine.url.render_as_string(hide_password=True))
        if self.update_interval > 0:
            self._progress = asyncio.get_running_loop().create_task(self._publish_progress())

    async def _publish_progress(self) -> None:
        """Refresh the run's figures in the catalog now and then, for whoever watches it live."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.update_interval)
            figures = run_figures(dict(self.crawler.stats.get_stats()))  # a copy: the catalog thread adds keys
            try:
                await loop.run_in_executor(self.catalog_pool, self.catalog.update_run, self.run_id, figures)
            except SQLAlchemyError as exc:  # progress is a courtesy; recording captures is what matters
                logger.warning("run %s: figures not updated: %s", self.run_id, _reason(exc))

    async def process_item(self, item: Any) -> Any:
        loop = asyncio.get_running_loop()
        if isinstance(item, FetchFailure):
            self._count_failure(item)
            try:
                await loop.run_in_executor(self.catalog_pool, self._record_failure, item)
            except SQLAlchemyError as exc:
                self._stop(f"archive unavailable: {_reason(exc)}", "a failure could not be recorded")
            return item
        if isinstance(item, FoundList):
            await loop.run_in_executor(self.catalog_pool, self.catalog.record_list, item.site, item.url, self.run_id)
            return item
        if not isinstance(item, Capture):
            return item
        try:
            digest = item.stored or await loop.run_in_executor(self.store_pool, self._store, item)
        except StorageError as exc:
            self.store_failures += 1
            if self.store_failures == self.store_failures_max:
                self._stop(f"storage unavailable: {exc}", f"{self.store_failures} bodies in a row could not be stored")
            await self._not_archived(item, str(exc))
        self.store_failures = 0
        row = _row(item, digest, self.run_id)
        item.body = b""  # stored and verified; let the memory go (and the disk: a spool file is gone once closed)
        if item.body_file is not None:
            item.body_file.close()
        try:
            await self.captures.add(row)
        except (SQLAlchemyError, StorageError) as exc:  # stored but not recorded: harmless; nothing more can be
            self._stop(f"archive unavailable: {_reason(exc)}", "a capture could not be recorded")
            raise DropItem(f"{item.url}: not recorded: {exc}") from exc
        self._count(item.site, item.kind)
        if item.kind in cat.PARSED_KINDS:
            what = outcome(item)
            logger.info("%s %s %s %s %s", what, item.kind, item.site, item.year or "", item.title or item.url,
                        extra={"event": what, "site": item.site, "url": item.url})
        return item

    def _stop(self, reason: str, why: str) -> None:
        """End the crawl: fetching on would only download what cannot be kept."""
        if self.crawler.stats.get_value("nianbao/stopped"):
            return
        logger.error("stopping the crawl: %s (%s)", why, reason)
        self.crawler.stats.set_value("nianbao/stopped", reason)
        self._closing = asyncio.get_running_loop().create_task(  # kept: the loop holds tasks only weakly
            self.crawler.engine.close_spider_async(reason="archive_unavailable"))

    def _store(self, item: Capture) -> str:
        if self.store_failures >= self.store_failures_max:  # closing: do not wait on a dead store again
            raise StorageError(self.crawler.stats.get_value("nianbao/stopped"))
        if item.body_file is not None:
            item.size = item.body_file.seek(0, 2)
            return self.store.put(item.body_file)
        return self.store.put(item.body)

    async def _not_archived(self, item: Capture, reason: str) -> NoReturn:
        """Record why a body was not kept, then drop it: it never reaches the catalog or the queue."""
        if item.body_file is not None:
            item.body_file.close()
        failure = FetchFailure(item.site, item.url, f"not archived: {reason}", item.kind)
        self._count_failure(failure)
        try:
            await asyncio.get_running_loop().run_in_executor(self.catalog_pool, self._record_failure, failure)
        except SQLAlchemyError as exc:
            self._stop(f"archive unavailable: {_reason(exc)}", "a failure could not be recorded")
        raise DropItem(f"{item.url}: {reason}")

    def close_spider(self) -> None:
        if self._progress:
            self._progress.cancel()
        self.store_pool.shutdown(wait=True)
        self.catalog_pool.shutdown(wait=True)

    def spider_closed(self, reason: str) -> None:
        status = {"finished": "finished", "shutdown": "cancelled"}.get(reason, "failed")
        stats = self.crawler.stats
        stats.set_value("nianbao/finish_reason", reason)
        self.catalog.finish_run(self.run_id, status, run_figures(stats.get_stats()),
                                stats.get_value("nianbao/log_sha256"))

    def _commit(self, rows: list[dict[str, Any]]) -> None:
        self.store.flush()  # the objects durable first, then the rows that refer to them
        for key, count in self.catalog.record(rows).items():
            self.crawler.stats.inc_value(f"nianbao/catalog/{key}", count)

    def _record_failure(self, failure: FetchFailure) -> None:
        self.catalog.record(failures=[{"run_id": self.run_id, "site": failure.site, "url": failure.url,
                                       "kind": failure.kind, "reason": failure.reason}])

    def _count(self, site: str, what: str) -> None:
        self.crawler.stats.inc_value(f"nianbao/{site}/{what}")

    def _count_failure(self, failure: FetchFailure) -> None:
        self._count(failure.site, "errors")
        self.crawler.stats.inc_value(f"nianbao/by_reason/{reason_class(failure.reason)}")
        logger.warning("%s: %s — %s", failure.site, failure.url, failure.reason,
                       extra={"event": "failed", "site": failure.site, "url": failure.url, "reason": failure.reason})


def outcome(item: Capture) -> str:
    """What became of a capture, in the words of the progress lines and the run log."""
    return "gone" if item.status in cat.GONE_STATUSES else "unchanged" if item.stored else "archived"


def _row(item: Capture, digest: str, run_id: int | None) -> dict[str, Any]:
    row = {name: getattr(item, name) for name in _CAPTURE_FIELDS}
    row.update(run_id=run_id, sha256=digest, size=len(item.body) if item.size is None else item.size)
    return row


_CAPTURE_FIELDS = ("site", "kind", "url", "final_url", "method", "status", "protocol", "headers", "fetched_at",
                   "content_type", "referrer", "year", "agency", "agency_kind", "title", "filename",
                   "year_source", "judgement")


def _reason(exc: Exception) -> str:
    """The database's own words, without the SQL and parameters SQLAlchemy wraps around them."""
    return str(getattr(exc, "orig", None) or exc)
