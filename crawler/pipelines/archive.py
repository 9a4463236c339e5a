"""Archive before anything else: store and verify each body, then record it in the catalog.

Storage runs in a thread pool so the crawl keeps fetching while bodies are written; catalog
writes go through one thread and are committed in small groups (groupcommit.py; a capture
and its parse request always in the same transaction). A crash between storing and recording
leaves at most an unreferenced object, never a capture without its bytes. While S3 or the
catalog is away, bodies and rows go to a local spool and are archived when it is back
(outage.py): the crawl does not stop for an outage shorter than NIANBAO_OUTAGE_MAX.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem, NotConfigured
from sqlalchemy.exc import SQLAlchemyError

from archive import catalog as cat
from archive.catalog import reason_of
from archive.reasons import reason_class
from archive.spool import SpoolError
from archive.storage import StorageError
from crawler.extensions.archive import Archive
from crawler.items import Capture, FetchFailure, FoundList
from crawler.runfigures import run_figures

from .groupcommit import GroupCommit
from .outage import CATALOG_DOWN, Outages

logger = logging.getLogger(__name__)


class ArchivePipeline:
    def __init__(self, crawler: Crawler, archive: Archive) -> None:
        self.crawler, self.archive = crawler, archive
        self.store, self.catalog = archive.store, archive.catalog
        self.store_pool = ThreadPoolExecutor(crawler.settings.getint("NIANBAO_STORE_THREADS"), "nianbao-store")
        self.catalog_pool = ThreadPoolExecutor(1, "nianbao-catalog")
        self.captures = GroupCommit(self._commit, self.catalog_pool,
                                    crawler.settings.getint("NIANBAO_CATALOG_GROUP_SIZE"),
                                    crawler.settings.getfloat("NIANBAO_CATALOG_GROUP_DELAY"))
        #: S3 or the catalog away: what is fetched meanwhile is spooled, not dropped (outage.py).
        self.outages = Outages(crawler, archive, self._stop)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closing: asyncio.Task[None] | None = None
        self._progress: asyncio.Task[None] | None = None
        self.update_interval = crawler.settings.getfloat("NIANBAO_RUN_UPDATE_INTERVAL")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ArchivePipeline:
        archive = crawler.get_extension(Archive)
        if archive is None:
            raise NotConfigured("the archive pipeline needs the Archive extension (EXTENSIONS)")
        return cls(crawler, archive)

    @property
    def run_id(self) -> int | None:
        return self.archive.run_id

    async def open_spider(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self.outages.open()  # what earlier crawls spooled goes into the archive first
        if self.update_interval > 0:
            self._progress = self._loop.create_task(self._publish_progress())

    async def _publish_progress(self) -> None:
        """Refresh the run's figures in the catalog now and then, for whoever watches it live."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.update_interval)
            if self.outages.active:  # the catalog may be the one away: no thread waiting on it for a courtesy
                continue
            figures = run_figures(dict(self.crawler.stats.get_stats()))  # a copy: the catalog thread adds keys
            try:
                await loop.run_in_executor(self.catalog_pool, self.catalog.update_run, self.run_id, figures)
            except SQLAlchemyError as exc:  # progress is a courtesy; recording captures is what matters
                logger.warning("run %s: figures not updated: %s", self.run_id, reason_of(exc))

    async def process_item(self, item: Any) -> Any:
        if isinstance(item, FetchFailure):
            self._count_failure(item)
            await self._record_failure(item)
            return item
        if isinstance(item, FoundList):
            await self._record_list(item)
            return item
        if not isinstance(item, Capture):
            return item
        if item.replayed:  # read back from the archive to go on from an interrupted run: recorded then
            return item
        digest = item.stored
        if digest is None and not self.outages.active:
            try:
                digest = await self._loop.run_in_executor(self.store_pool, self._store, item)
            except StorageError as exc:
                self.outages.begin("storage", exc)
        if (item.url, digest) in self.archive.recorded:  # in flight when an interrupted run recorded it
            _release(item)
            self.crawler.stats.inc_value("nianbao/recorded_before")
            return item
        if self.outages.active:  # the body (unless stored already) and its row wait in the spool
            await self._spool(self._spool_capture, item, digest)
        else:
            row = _row(item, digest, self.run_id)
            _release(item)
            try:
                await self.captures.add(row)  # a catalog away: _commit spools the group's rows
            except (SQLAlchemyError, StorageError, SpoolError) as exc:
                self._stop(f"archive unavailable: {reason_of(exc)}", "a capture could not be recorded")
                raise DropItem(f"{item.url}: not recorded: {exc}") from exc
        self._count(item.site, item.kind)
        if item.kind in cat.PARSED_KINDS:
            what = outcome(item)
            logger.info("%s %s %s %s %s", what, item.kind, item.site, item.year or "", item.title or item.url,
                        extra={"event": what, "site": item.site, "url": item.url})
        return item

    async def _spool(self, keep: Callable[..., tuple[int, int, int]], *args: Any) -> None:
        """Run ``keep`` (a spool write) off the reactor thread; a spool that cannot keep it stops the crawl."""
        self.outages.writing += 1
        try:
            bodies, size, rows = await self._loop.run_in_executor(self.outages.writer, keep, *args)
        except SpoolError as exc:
            self._stop(str(exc), "a body or row could not be spooled")
            raise DropItem(str(exc)) from exc
        finally:
            self.outages.writing -= 1
        self.outages.spooled(bodies, size, rows)

    def _spool_capture(self, item: Capture, digest: str | None) -> tuple[int, int, int]:
        spool, bodies, size = self.outages.spool, [], 0
        try:
            if digest is None:  # a revisit (item.stored) needs only its row spooled
                digest, size = spool.add_body(item.body_file if item.body_file is not None else item.body)
                item.size, bodies = size, [digest]
            spool.append(captures=[_row(item, digest, self.run_id)], bodies=bodies)
        finally:
            _release(item)
        return len(bodies), size, 1

    def _failure_row(self, failure: FetchFailure) -> dict[str, Any]:
        return {"run_id": self.run_id, "site": failure.site, "url": failure.url, "kind": failure.kind,
                "reason": failure.reason}

    async def _record_failure(self, failure: FetchFailure) -> None:
        row = self._failure_row(failure)
        if not self.outages.catalog_away:
            try:
                await self._loop.run_in_executor(self.catalog_pool, lambda: self.catalog.record(failures=[row]))
                return
            except CATALOG_DOWN as exc:
                self.outages.begin("catalog", exc)
            except SQLAlchemyError as exc:
                self._stop(f"archive unavailable: {reason_of(exc)}", "a failure could not be recorded")
                return
        await self._spool(self._spool_rows, {"failures": [row]})

    async def _record_list(self, found: FoundList) -> None:
        if not self.outages.catalog_away:
            try:
                await self._loop.run_in_executor(self.catalog_pool, self.catalog.record_list, found.site, found.url,
                                                 self.run_id)
                return
            except CATALOG_DOWN as exc:
                self.outages.begin("catalog", exc)
        await self._spool(self._spool_rows, {"lists": [[found.site, found.url, self.run_id]]})

    def _spool_rows(self, rows: dict[str, list[Any]]) -> tuple[int, int, int]:
        self.outages.spool.append(**rows)
        return 0, 0, 1

    def _stop(self, reason: str, why: str) -> None:
        """End the crawl: fetching on would only download what cannot be kept."""
        if self.crawler.stats.get_value("nianbao/stopped"):
            return
        logger.error("stopping the crawl: %s (%s)", why, reason)
        self.crawler.stats.set_value("nianbao/stopped", reason)
        self._closing = asyncio.get_running_loop().create_task(  # kept: the loop holds tasks only weakly
            self.crawler.engine.close_spider_async(reason="archive_unavailable"))

    def _store(self, item: Capture) -> str:
        if item.body_file is not None:
            item.size = item.body_file.seek(0, 2)
            return self.store.put(item.body_file)
        return self.store.put(item.body)

    async def close_spider(self) -> None:
        if self._progress:
            self._progress.cancel()
        self.captures.flush()
        await self.outages.close()  # the spool drained within the bound, or kept for the next crawl
        self.store_pool.shutdown(wait=True)
        self.catalog_pool.shutdown(wait=True)

    def _commit(self, rows: list[dict[str, Any]]) -> None:
        self.store.flush()  # the objects durable first, then the rows that refer to them
        try:
            counts = self.catalog.record([dict(row) for row in rows], recheck=self.archive.recheck)
        except CATALOG_DOWN as exc:  # the bodies are stored: only the rows wait, in the spool's journal
            self.outages.spool.append(captures=rows)
            self._loop.call_soon_threadsafe(self._catalog_down, exc, len(rows))
            return
        for key, count in counts.items():
            self.crawler.stats.inc_value(f"nianbao/catalog/{key}", count)

    def _catalog_down(self, exc: Exception, rows: int) -> None:
        self.outages.begin("catalog", exc)
        self.outages.spooled(0, 0, rows)

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


def _release(item: Capture) -> None:
    """Let the body's memory go (and its disk: a download spooled to a file is gone once closed)."""
    item.body = b""
    if item.body_file is not None:
        item.body_file.close()


def _row(item: Capture, digest: str, run_id: int | None) -> dict[str, Any]:
    row = {name: getattr(item, name) for name in _CAPTURE_FIELDS}
    row.update(run_id=run_id, sha256=digest, size=len(item.body) if item.size is None else item.size)
    return row


_CAPTURE_FIELDS = ("site", "kind", "url", "final_url", "method", "status", "protocol", "headers", "fetched_at",
                   "content_type", "referrer", "year", "agency", "agency_kind", "title", "filename",
                   "year_source", "judgement")
