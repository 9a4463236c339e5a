"""S3 or the catalog away for a while: the crawl spools what it fetches, waits for the archive and goes on.

An outage begins with the first body that cannot be stored or group of rows that cannot be
committed; from then on every body and row goes to the local spool (archive.spool) while a drain
task tries the archive again (back-off, capped). When the store and the catalog answer, the spool
is drained (stored, verified, committed, in that order) and the outage ends; it is recorded in the
run's stats (``nianbao/outages``: what, from, to, seconds, bodies, bytes and rows spooled). While
the spool holds more than NIANBAO_SPOOL_MAX_BYTES fetching pauses rather than drop work; past
NIANBAO_OUTAGE_MAX seconds the crawl stops (exit 1) and leaves the spool for the next crawl,
which drains it before it fetches anything.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scrapy.crawler import Crawler
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from archive.catalog import isoformat, reason_of, utcnow
from archive.spool import Drained, Spool, SpoolError, record_once
from archive.storage import StorageError
from crawler.extensions.archive import Archive

logger = logging.getLogger(__name__)

#: What a catalog that is away (unreachable, locked, restarting) raises; other errors are bugs, not outages.
CATALOG_DOWN = (OperationalError, InterfaceError, PoolTimeout)


@dataclass
class Outage:
    what: list[str]
    since: datetime
    started: float = field(default_factory=time.monotonic)
    reason: str = ""
    bodies: int = 0
    bytes: int = 0
    rows: int = 0

    def figures(self, drained: bool) -> dict[str, Any]:
        return {"what": "+".join(self.what), "from": isoformat(self.since), "to": isoformat(utcnow()) if drained
                else None, "seconds": round(time.monotonic() - self.started, 1), "bodies": self.bodies,
                "bytes": self.bytes, "rows": self.rows, "drained": drained, "reason": self.reason}


class Outages:
    def __init__(self, crawler: Crawler, archive: Archive, stop: Callable[[str, str], None]) -> None:
        settings = crawler.settings
        self.crawler, self.archive, self.stop = crawler, archive, stop
        self.max_seconds = settings.getfloat("NIANBAO_OUTAGE_MAX")
        self.retry = settings.getfloat("NIANBAO_OUTAGE_RETRY")
        self.retry_max = settings.getfloat("NIANBAO_OUTAGE_RETRY_MAX")
        self.max_bytes = settings.getint("NIANBAO_SPOOL_MAX_BYTES")
        self.margin = settings.getint("NIANBAO_SPOOL_DISK_MARGIN")
        self.root = archive.config.home / "spool"
        self.spool = Spool.new(self.root, self.max_bytes, self.margin)
        self.leftovers: list[Spool] = []
        self.writer = ThreadPoolExecutor(2, "nianbao-spool")  # spool writes, off the reactor thread
        self.drainer = ThreadPoolExecutor(1, "nianbao-drain")
        self.current: Outage | None = None
        self._task: asyncio.Task[None] | None = None
        self._commit = record_once(archive.catalog, archive.recheck)
        self.writing = 0  # spool writes under way: the outage cannot end before they are journaled
        self.paused = False
        self.gave_up = False

    @property
    def active(self) -> bool:
        return self.current is not None

    @property
    def catalog_away(self) -> bool:
        """Rows that need no stored body (failures, found lists) wait only while the catalog is the one away."""
        return self.current is not None and "catalog" in self.current.what

    def _spools(self) -> list[Spool]:
        return [*self.leftovers, self.spool]

    # -- the spool's lifetime --------------------------------------------------------------------
    async def open(self) -> None:
        """Drain what earlier crawls left before anything is fetched; if the archive is still away, later."""
        loop = asyncio.get_running_loop()
        self.leftovers = await loop.run_in_executor(self.drainer, Spool.leftovers, self.root, self.max_bytes,
                                                    self.margin)
        if not self.leftovers:
            return
        entries = sum(len(s.pending) for s in self.leftovers)
        logger.warning("%d spooled entr%s (%d bytes of bodies) left by earlier crawls in %s: draining them first",
                    entries, "y" if entries == 1 else "ies", sum(s.bytes for s in self.leftovers), self.root)
        try:
            drained = await loop.run_in_executor(self.drainer, self._drain_all)
        except (StorageError, *CATALOG_DOWN) as exc:
            self.begin("storage" if isinstance(exc, StorageError) else "catalog", exc)
            return
        self._let_drained_go()
        logger.warning("drained %d entries, %d bodies (%d bytes) from earlier crawls' spools", drained.entries,
                    drained.bodies, drained.bytes)

    async def close(self) -> None:
        """At the end of the crawl: wait for the drain within the bound, then let the spool go (kept if not drained)."""
        if self._task is not None and not self._task.done() and self.current is not None:
            remaining = self.max_seconds - (time.monotonic() - self.current.started)
            logger.info("waiting up to %.0f s for the archive to drain the spool (%d bytes of bodies)",
                        max(0.0, remaining), sum(s.bytes for s in self._spools()))
            try:
                await asyncio.wait_for(asyncio.shield(self._task), max(0.0, remaining) + self.retry_max + 1)
            except TimeoutError:
                self._give_up()
        if self._task is not None and not self._task.done():
            self._task.cancel()
        loop = asyncio.get_running_loop()
        for spool in self._spools():
            await loop.run_in_executor(self.drainer, lambda s=spool: s.close(remove=s.empty))
        self.writer.shutdown(wait=True)
        self.drainer.shutdown(wait=True)

    # -- an outage -------------------------------------------------------------------------------
    def begin(self, what: str, exc: Exception) -> None:
        """The archive did not answer: spool from now on and start retrying (on the reactor thread)."""
        reason = reason_of(exc)
        if self.current is not None:
            if what not in self.current.what:
                self.current.what.append(what)
                logger.error("%s unavailable too: %s", what, reason)
            return
        self.current = Outage([what], utcnow(), reason=reason)
        self.crawler.stats.inc_value("nianbao/outage_count")
        logger.error("%s unavailable since %s: spooling to %s (%s)", what, isoformat(self.current.since),
                     self.spool.directory, reason, extra={"event": "outage", "what": what})
        self._task = asyncio.get_running_loop().create_task(self._retry())

    def spooled(self, bodies: int, size: int, rows: int) -> None:
        """Count what went to the spool, and pause fetching while it holds more than its bound."""
        if self.current is not None:
            self.current.bodies += bodies
            self.current.bytes += size
            self.current.rows += rows
        self.crawler.stats.inc_value("nianbao/spooled_bodies", bodies)
        self.crawler.stats.inc_value("nianbao/spooled_bytes", size)
        if not self.paused and sum(s.bytes for s in self._spools()) > self.spool.max_bytes:
            self.paused = True
            logger.warning("the spool %s holds more than %d bytes (NIANBAO_SPOOL_MAX_BYTES or the free disk): "
                           "fetching paused until it drains", self.spool.directory, self.spool.max_bytes)
            self.crawler.engine.pause()

    def _unpause(self) -> None:
        if self.paused and sum(s.bytes for s in self._spools()) <= self.spool.max_bytes:
            self.paused = False
            logger.info("the spool drained: fetching goes on")
            self.crawler.engine.unpause()

    async def _retry(self) -> None:
        loop = asyncio.get_running_loop()
        delay = self.retry
        while self.current is not None:
            remaining = self.max_seconds - (time.monotonic() - self.current.started)
            if remaining <= 0:
                self._give_up()
                return
            await asyncio.sleep(min(delay, remaining))
            try:
                await loop.run_in_executor(self.drainer, self._drain_all)
            except (StorageError, *CATALOG_DOWN) as exc:
                self.current.reason = reason_of(exc)
                logger.debug("archive still unavailable (next try in %.0f s): %s", delay, self.current.reason)
                delay = min(delay * 2, self.retry_max)
                continue
            except SpoolError as exc:
                self.stop(str(exc), "the spool could not be drained")
                return
            self._let_drained_go()
            self._unpause()
            if self.writing == 0 and all(s.empty for s in self._spools()):
                self._end()
                return
            delay = 0.05  # the archive answers; drain what was spooled meanwhile

    def _let_drained_go(self) -> None:
        """An earlier crawl's spool, drained, is removed (a small directory: done on the reactor thread)."""
        for spool in [s for s in self.leftovers if s.empty]:
            spool.close(remove=True)
            self.leftovers.remove(spool)

    def _drain_all(self) -> Drained:
        total = Drained()
        for spool in self._spools():
            if spool.opened:
                drained = spool.drain(self.archive.store, self._record)
                total.entries += drained.entries
                total.bodies += drained.bodies
                total.bytes += drained.bytes
                total.damaged += drained.damaged
        return total

    def _record(self, captures: list[dict[str, Any]], failures: list[dict[str, Any]], lists: list[list[Any]]) -> None:
        for key, count in (self._commit(captures, failures, lists) or {}).items():
            self.crawler.stats.inc_value(f"nianbao/catalog/{key}", count)

    def _end(self) -> None:
        outage, self.current = self.current, None
        figures = outage.figures(drained=True)
        self._record_figures(figures)
        logger.warning("%s available again after %.0f s: %d bodies (%d bytes) and %d rows spooled, now stored "
                       "and recorded", figures["what"], figures["seconds"], outage.bodies, outage.bytes, outage.rows,
                       extra={"event": "outage_end", "what": figures["what"]})

    def _give_up(self) -> None:
        if self.current is None or self.gave_up:
            return
        self.gave_up = True
        figures = self.current.figures(drained=False)
        self._record_figures(figures)
        left = sum(s.bytes for s in self._spools())
        self.stop(f"{figures['what']} unavailable for more than {self.max_seconds:g} s (NIANBAO_OUTAGE_MAX): "
                  f"{self.current.reason}; the spool {self.root} keeps {left} bytes of bodies for the next crawl",
                  "the outage outlasted its bound")
        self._unpause()
        if self.paused:  # closing: let the engine go on to its end
            self.paused = False
            self.crawler.engine.unpause()

    def _record_figures(self, figures: dict[str, Any]) -> None:
        outages = list(self.crawler.stats.get_value("nianbao/outages") or [])
        self.crawler.stats.set_value("nianbao/outages", [*outages, figures])
