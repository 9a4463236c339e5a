"""``nianbao worker``: one machine's share of the rounds (and of the parse queue), taken from the engine.

A Celery worker (scheduler.engine) whose one task runs a dispatch: it claims the dispatch's current
attempt in the catalog (a stale copy is dropped), starts ``nianbao crawl --site …`` over its sites as
a child that dies with the worker (scheduler.rounds.launch), waits, and records how it ended. The
crawl leases its sites (scheduler.locks), archives into the shared storage and catalog, and is
paced per host like any crawl: a site, and so each of its hosts, is crawled by one worker at a time.

Beside the Celery loop, two threads: the heartbeat (the worker's row in the catalog every
NIANBAO_WORKER_HEARTBEAT seconds: state, crawls, requests, errors, requests/s) and the health check
(storage and proxy answer): a worker that cannot reach either stops taking work — its consumer
cancelled through Celery's remote control, its state ``unhealthy`` with the reason — and takes work
again once they answer. On SIGTERM (Celery's warm shutdown) its crawls are asked to end and their
dispatches are queued again for other workers, so stopping a worker loses no round.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import time
from itertools import count
from typing import Any
from urllib.parse import urlsplit

from celery import signals
from celery.exceptions import Reject
from sqlalchemy.exc import SQLAlchemyError

from archive import runlogs
from archive.catalog import Catalog, Dispatch, utcnow
from archive.storage import StorageError, open_store
from nianbao.config import Config, redact
from parsing import queue as parse_queue

from . import engine
from .config import ScheduleSettings
from .handout import Handout
from .locks import WORKER_ENV
from .rounds import BUSY, FINISHED, Crawl, crawl_env, launch, raise_open_files, reap

logger = logging.getLogger("nianbao.worker")
#: A name no object is stored under: asking storage for it says whether storage answers.
_PROBE = "0" * 64


class FleetWorker:
    def __init__(self, config: Config, settings: ScheduleSettings, crawl_args: list[str], name: str | None = None,
                 parsers: int = 0) -> None:
        self.config, self.settings, self.crawl_args, self.parsers = config, settings, crawl_args, parsers
        self.host = socket.gethostname()
        self.name = name or f"{self.host}:{os.getpid()}"
        self.catalog = Catalog(config.catalog, timeout=config.timeout)
        self.app = engine.make_app(settings)
        self.app.task(name=engine.TASK)(self._task)
        self.handout = Handout(self.catalog, settings, self.app)  # to queue again what a stop cut short
        self.env = {**crawl_env(config), WORKER_ENV: self.name}
        self.started_at = utcnow()
        self.lock = threading.Lock()  # guards the figures below
        self.running: dict[int, tuple[Dispatch, Crawl]] = {}
        self.pids: list[int] = []  # every crawl it started: its requests and errors are theirs
        self.problem: str | None = None  # why it takes no work now
        self.stopping = threading.Event()
        self.numbers = count(1)
        self.rate = (time.monotonic(), 0)  # (when, requests) at the last heartbeat

    # -- the worker -----------------------------------------------------------------------------------
    def run(self) -> int:
        raise_open_files()
        runlogs.end_dead_runs(self.catalog, self.config.home, lambda: open_store(self.config))
        self.problem = self._health()
        self._beat()
        for dispatch in self.catalog.dispatches(("running",), limit=100_000):  # this name's earlier life's
            if dispatch.worker == self.name:
                self.handout.send_again(dispatch, f"worker {self.name} started again")
        signals.worker_shutting_down.connect(self._on_shutdown, weak=False)
        signals.worker_ready.connect(self._on_ready, weak=False)
        stop_parsing = threading.Event()
        threads = [threading.Thread(target=self._every, args=(self.settings.worker_heartbeat, self._beat),
                                    name="heartbeat", daemon=True),
                   threading.Thread(target=self._every, args=(self.settings.worker_heartbeat, self._check),
                                    name="health", daemon=True)]
        if self.parsers:
            threads.append(threading.Thread(target=self._parse, args=(stop_parsing,), name="parse", daemon=True))
        for thread in threads:
            thread.start()
        worker = self.app.Worker(hostname=f"{self.name}@{self.host}", pool_cls="threads",
                                 concurrency=self.settings.worker_crawls, queues=[engine.QUEUE], loglevel="WARNING",
                                 without_heartbeat=True, without_mingle=True, without_gossip=True, quiet=True,
                                 redirect_stdouts=False)
        logger.info("worker %s: %d crawl(s) at once, %d parser(s), broker %s", self.name,
                    self.settings.worker_crawls, self.parsers, redact(self.settings.broker or ""))
        try:
            worker.start()
        finally:
            self.stopping.set()
            stop_parsing.set()
            self._beat("stopped", "stopped by a signal")
        return worker.exitcode or 0

    def _every(self, seconds: float, step: Any) -> None:
        while not self.stopping.wait(seconds):
            step()

    def _on_ready(self, sender: Any = None, **_: Any) -> None:
        if self.problem:
            self._consume(False)

    def _on_shutdown(self, **_: Any) -> None:
        """Celery's warm shutdown: the crawls asked to end now (closing their runs), their dispatches queued again."""
        self.stopping.set()
        with self.lock:
            crawls = [crawl for _dispatch, crawl in self.running.values()]
        for crawl in crawls:
            with contextlib.suppress(ProcessLookupError):
                os.kill(crawl.process.pid, signal.SIGTERM)
        self._beat("stopping", "stopping: its crawls end and go to other workers")

    # -- the task -------------------------------------------------------------------------------------
    def _task(self, dispatch_id: int, attempt: int) -> None:
        if self.problem or self.stopping.is_set():
            raise Reject(self.problem or "stopping", requeue=True)
        dispatch = self.catalog.claim_dispatch(dispatch_id, attempt, self.name)
        if dispatch is None:
            logger.info("dispatch %d attempt %d: not current (handed on, or done): dropped", dispatch_id, attempt)
            return
        number = next(self.numbers)
        try:
            crawl = launch(self.config.home, number, dispatch.sites, self.crawl_args, self.env, die_with_parent=True)
        except OSError as exc:
            logger.error("dispatch %d: crawl not started: %s", dispatch_id, exc)
            self.catalog.end_dispatch(dispatch_id, attempt, "failed", None, None)
            return
        with self.lock:
            self.running[number] = (dispatch, crawl)
            self.pids.append(crawl.process.pid)
        self.catalog.dispatch_started(dispatch_id, attempt, crawl.process.pid)
        self._beat()  # the crawl's pid in the worker's row before anything can happen to it
        logger.info("dispatch %d: crawl of %d site(s) started (pid %d)", dispatch_id, len(dispatch.sites),
                    crawl.process.pid)
        try:
            reap(crawl)
        finally:
            with self.lock:
                self.running.pop(number, None)
        self._ended(dispatch, crawl)

    def _ended(self, dispatch: Dispatch, crawl: Crawl) -> None:
        runs = self.catalog.runs_of(self.host, [crawl.process.pid], self.started_at)
        run_id = runs[-1].id if runs else None
        if crawl.code not in (FINISHED, BUSY) and self.stopping.is_set():
            self.handout.send_again(dispatch, f"worker {self.name} stopped")
            return
        state = "done" if crawl.code in (FINISHED, BUSY) else "failed"
        self.catalog.end_dispatch(dispatch.id, dispatch.attempt, state, crawl.code, run_id)
        logger.info("dispatch %d %s (exit %s, run %s, %.0f s)", dispatch.id, state, crawl.code, run_id, crawl.seconds)
        self._beat()

    # -- heartbeat and health ---------------------------------------------------------------------------
    def _beat(self, state: str | None = None, reason: str | None = None) -> None:
        with self.lock:
            crawls = [{"dispatch": d.id, "pid": c.process.pid, "sites": d.sites} for d, c in self.running.values()]
            pids = list(self.pids)
        if state is None:
            state = "unhealthy" if self.problem else ("busy" if crawls else "ready")
            reason = self.problem
        try:
            runs = self.catalog.runs_of(self.host, pids, self.started_at)
            requests = sum(int(run.stats.get("requests", 0)) for run in runs)
            errors = sum(int(run.stats.get("errors", 0)) for run in runs)
            now = time.monotonic()
            then, before = self.rate
            self.rate = (now, requests)
            self.catalog.beat(self.name, host=self.host, pid=os.getpid(), state=state, reason=reason,
                              slots=self.settings.worker_crawls, crawls=crawls, requests=requests, errors=errors,
                              requests_per_s=round((requests - before) / (now - then), 2) if now > then else 0.0,
                              parsers=self.parsers)
        except SQLAlchemyError as exc:
            logger.warning("heartbeat not recorded (the catalog is away): %s", getattr(exc, "orig", None) or exc)

    def _check(self) -> None:
        problem = self._health()
        if problem != self.problem:
            if problem:
                logger.error("worker %s takes no work: %s", self.name, problem)
            else:
                logger.warning("worker %s takes work again: storage and proxy answer", self.name)
            self._consume(problem is None)
            self.problem = problem
            self._beat()

    def _health(self) -> str | None:
        """What stops this worker from crawling, or None: its storage, and its proxy if it has one."""
        try:
            open_store(self.config, create=False).has(_PROBE)
        except StorageError as exc:
            return f"storage unreachable: {exc}"
        if self.config.proxy:
            parts = urlsplit(self.config.proxy)
            try:
                socket.create_connection((parts.hostname, parts.port or 80), timeout=self.config.timeout).close()
            except OSError as exc:
                return f"proxy {redact(self.config.proxy)} unreachable: {exc.strerror or exc}"
        return None

    def _consume(self, on: bool) -> None:
        """Start or stop taking tasks, through Celery's remote control (handled in the worker's own loop)."""
        destination = [f"{self.name}@{self.host}"]
        try:
            if on:
                self.app.control.add_consumer(engine.QUEUE, destination=destination)
            else:
                self.app.control.cancel_consumer(engine.QUEUE, destination=destination)
        except Exception as exc:  # noqa: BLE001 - the broker away: the task itself refuses work while unhealthy
            logger.warning("consumer not %s: %s", "resumed" if on else "cancelled", exc)

    def _parse(self, stop: threading.Event) -> None:
        """The parse queue, claimed across machines by the catalog (FOR UPDATE SKIP LOCKED), until the worker stops."""
        try:
            store = open_store(self.config)
            parse_queue.run(self.config, self.catalog, store, stop, workers=self.parsers)
        except (StorageError, SQLAlchemyError, RuntimeError) as exc:
            logger.error("parsing stopped: %s", exc)

