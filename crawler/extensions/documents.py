"""Fetched documents are read and judged in worker processes, so the crawl's own process keeps its core.

Reading a report page's tree, a PDF's text layer or a Word file's XML (crawler.reportdoc.judged) costs
more CPU than Scrapy spends fetching it; in the reactor's threads it held the GIL against the reactor,
and the crawl ran at a third of its speed. Here each document goes, as bytes, to a worker process
(``NIANBAO_DOCUMENT_WORKERS``; default the cores but one, at least one) and its judgement comes back.

Each worker is a lane: a ``ProcessPoolExecutor`` of one process (forkserver: a replacement is forked
from a server that imported the readers once) holding at most ``NIANBAO_DOCUMENT_QUEUE`` documents, in
order, so the one at the head is the one being read. A hostile document cannot stall the crawl: the
head gets ``NIANBAO_DOCUMENT_TIMEOUT`` seconds from the moment its turn came, then the worker is killed
and replaced, and the document is judged by its title alone; a worker that dies (BrokenProcessPool)
costs the same, the document it was reading judged by its title. The documents queued behind it are
read by the new worker. Callers beyond the queues wait their turn, so memory stays bounded.
``NIANBAO_DOCUMENT_WORKERS = 0`` reads in a thread of the crawl, as a spider driven without its
extensions (unit tests) does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import forkserver
from typing import Any

from scrapy import signals
from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class DocumentUnread(Exception):
    """A document the workers could not read: not in time, or its worker died. Its title must do."""


def default_workers() -> int:
    """The cores this process may use, but one (the reactor's), at least one."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, cores - 1)


@dataclass
class _Job:
    fn: Callable[[Any], Any]
    arg: Any
    done: asyncio.Future[Any]
    what: str  # the document, for the log


class _Lane:
    """One worker process and the documents queued for it, oldest (being read) first."""

    def __init__(self, readers: DocumentReaders) -> None:
        self.readers = readers
        self.executor: ProcessPoolExecutor | None = None
        self.jobs: deque[_Job] = deque()
        self.timer: asyncio.TimerHandle | None = None
        self.ready = False  # the worker answered its first call: start-up is not counted against a document

    def submit(self, job: _Job) -> None:
        self.jobs.append(job)
        if not self._send(job):  # the worker died while idle (the OOM killer?), unnoticed: a new one reads them
            self._resend()
        if len(self.jobs) == 1:
            self._arm()

    def _resend(self) -> None:
        """Every queued document to a new worker, in order (the first is the first it reads)."""
        self.kill()
        for job in self.jobs:
            self._send(job)  # a new pool is not broken yet

    def _send(self, job: _Job) -> bool:
        loop = self.readers.loop
        if self.executor is None:  # lazily: a crawl that reads no document starts no process
            self.executor, self.ready = ProcessPoolExecutor(1, mp_context=self.readers.context), False
            started = self.executor
            started.submit(os.getpid).add_done_callback(lambda _: _call_soon(loop, self._started, started))
        executor = self.executor
        try:
            future = executor.submit(job.fn, job.arg)
        except BrokenProcessPool:
            return False
        future.add_done_callback(lambda f: _call_soon(loop, self._finished, executor, job, f))
        return True

    def _started(self, executor: ProcessPoolExecutor) -> None:
        if executor is self.executor:
            self.ready = True
            self._arm()

    def _arm(self) -> None:
        """The head's time starts now: it is the one the worker reads."""
        if self.timer:
            self.timer.cancel()
        self.timer = self.readers.loop.call_later(self.readers.timeout, self._expired, self.jobs[0]) \
            if self.jobs and self.ready else None

    def _finished(self, executor: ProcessPoolExecutor, job: _Job, future: Future[Any]) -> None:
        if executor is not self.executor or job not in self.jobs:  # a worker already replaced, its jobs re-sent
            return
        error = future.exception()
        if isinstance(error, BrokenProcessPool):  # the worker died reading the head (FIFO: it was the one read)
            self._replace(f"its reader died ({error or 'BrokenProcessPool'})", "crashed")
            return
        was_head = job is self.jobs[0]
        self.jobs.remove(job)
        if not job.done.done():
            if error is not None:
                job.done.set_exception(DocumentUnread(f"not read: {type(error).__name__}: {error}"))
            else:
                job.done.set_result(future.result())
        if was_head:
            self._arm()

    def _expired(self, job: _Job) -> None:
        if self.jobs and self.jobs[0] is job:
            self._replace(f"not read in {self.readers.timeout:g} s (NIANBAO_DOCUMENT_TIMEOUT)", "timeout")

    def _replace(self, why: str, stat: str) -> None:
        """Kill the worker; the head is judged by its title, the rest go to a new worker."""
        head = self.jobs.popleft()
        logger.warning("document %s %s: judged by its title; a new reader takes over", head.what, why)
        self.readers.crawler.stats.inc_value(f"nianbao/documents/{stat}")
        if not head.done.done():
            head.done.set_exception(DocumentUnread(why))
        self._resend()
        self._arm()

    def kill(self) -> None:
        executor, self.executor = self.executor, None
        if executor is None:
            return
        # No public way to end one stuck call (Python 3.14 adds kill_workers()): the pool's own processes.
        for process in list(getattr(executor, "_processes", {}).values()):
            process.kill()
        executor.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        if self.timer:
            self.timer.cancel()
        if self.jobs:  # only when the crawl stopped while documents were read: nothing waits for them now
            self.kill()
        elif self.executor is not None:
            self.executor.shutdown(wait=True)
            self.executor = None


def _call_soon(loop: asyncio.AbstractEventLoop, fn: Callable[..., None], *args: Any) -> None:
    """From the pool's thread into the loop, which may be gone: the futures of a worker killed at the end fail late."""
    with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits for the answer
        loop.call_soon_threadsafe(fn, *args)


class DocumentReaders:
    def __init__(self, crawler: Crawler, workers: int, queue: int, timeout: float) -> None:
        self.crawler, self.timeout = crawler, timeout
        self.workers = workers
        self.context = multiprocessing.get_context("forkserver")
        self.context.set_forkserver_preload(["crawler.reportdoc", "pymupdf"])
        self.lanes = [_Lane(self) for _ in range(workers)]
        self._slots: asyncio.Semaphore | None = None
        self._forkserver: asyncio.Task[None]
        self.capacity = workers * queue
        self.loop: asyncio.AbstractEventLoop

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> DocumentReaders:
        settings = crawler.settings
        workers = settings.get("NIANBAO_DOCUMENT_WORKERS")
        readers = cls(crawler, default_workers() if workers is None else int(workers),
                      max(1, settings.getint("NIANBAO_DOCUMENT_QUEUE")), settings.getfloat("NIANBAO_DOCUMENT_TIMEOUT"))
        crawler.signals.connect(readers.close, signal=signals.spider_closed)
        return readers

    async def read(self, fn: Callable[[Any], Any], arg: Any, what: str) -> Any:
        """``fn(arg)`` in a worker process (``fn`` a module-level function, ``arg`` picklable).

        Raises DocumentUnread when the worker did not answer in time or died."""
        if not self.lanes:
            return await asyncio.to_thread(fn, arg)
        if self._slots is None:
            self.loop, self._slots = asyncio.get_running_loop(), asyncio.Semaphore(self.capacity)
            # The forkserver imports the readers (~1 s) before it forks the first worker: not in the reactor.
            self._forkserver = self.loop.create_task(asyncio.to_thread(forkserver.ensure_running))
        await self._forkserver
        async with self._slots:  # at most workers × queue documents handed over; the rest wait here
            done = self.loop.create_future()
            min(self.lanes, key=lambda lane: len(lane.jobs)).submit(_Job(fn, arg, done, what))
            return await done

    def close(self) -> None:
        for lane in self.lanes:
            lane.close()
