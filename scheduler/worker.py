"""``nianbao worker``: one machine's share of the rounds (and of the parse queue), taken from the engine.

A Celery worker (scheduler.engine) whose one task runs a dispatch: it claims the dispatch's current
attempt in the catalog (a stale copy is dropped), starts ``nianbao crawl --site …`` over its sites as
a child that dies with the worker (scheduler.crawls.launch), waits, and records how it ended. The
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

from celery import signals
from celery.exceptions import Reject
from sqlalchemy.exc import SQLAlchemyError

from archive import runlogs
from archive.catalog import Catalog, Dispatch, reason_of, utcnow
from archive.storage import StorageError, open_store
from nianbao.config import Config, ConfigError, reach_proxy, redact
from parsing import queue as parse_queue

from . import engine
from .config import ScheduleSettings
from .crawls import BUSY, FINISHED, Crawl, crawl_env, launch, raise_open_files, reap
from .handout import Handout
from .locks import WORKER_ENV

logger = logging.getLogger("nianbao.worker")
#: A name no object is stored under: asking storage for it says whether storage answers.
_PROBE = "0" * 64


class WorkerNameTaken(RuntimeError):
    """Another live worker beats under this name: two would hand each other's dispatches on."""


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
        self.ended = (0, 0)  # requests and errors of its crawls that ended
        self.problem: str | None = None  # why it takes no work now
        self.stopping = threading.Event()  # Celery's warm shutdown began: no new crawls, the running ones end
        self.exiting = threading.Event()  # the Celery loop returned: the heartbeat says "stopped" and ends
        self.numbers = count(1)
        self.rate = (time.monotonic(), 0)  # (when, requests) at the last periodic heartbeat

    # -- the worker -----------------------------------------------------------------------------------
    def run(self) -> int:
        raise_open_files()
        self._take_name()
        runlogs.end_dead_runs(self.catalog, self.config.home, lambda: open_store(self.config))
        self.problem = self._health()
        self._beat()
        signals.worker_shutting_down.connect(self._on_shutdown, weak=False)
        signals.worker_ready.connect(self._on_ready, weak=False)
        threads = [threading.Thread(target=self._every, args=(self._beat_periodically,), name="heartbeat",
                                    daemon=True),
                   threading.Thread(target=self._every, args=(self._check,), name="health", daemon=True)]
        if self.parsers:
            threads.append(threading.Thread(target=self._parse, name="parse", daemon=True))
        for thread in threads:
            thread.start()
        worker = self.app.Worker(hostname=self.celery_name, pool_cls="threads",
                                 concurrency=self.settings.worker_crawls, queues=[engine.QUEUE], loglevel="WARNING",
                                 without_heartbeat=True, without_mingle=True, without_gossip=True, quiet=True,
                                 redirect_stdouts=False)
        logger.info("worker %s: %d crawl(s) at once, %d parser(s), broker %s", self.name,
                    self.settings.worker_crawls, self.parsers, redact(self.settings.broker or ""))
        try:
            worker.start()
        finally:
            self.stopping.set()
            self.exiting.set()
            self._beat("stopped", "stopped by a signal")
        return worker.exitcode or 0

    @property
    def celery_name(self) -> str:
        return f"{self.name}@{self.host}"

    def _take_name(self) -> None:
        """Refused if a live worker elsewhere has the name; what this name's earlier life left is handed on."""
        with contextlib.suppress(StopIteration):
            row = next(w for w in self.catalog.fleet(self.settings.worker_timeout) if w["name"] == self.name)
            if row["state"] not in ("dead", "stopped") and (row["host"], row["pid"]) != (self.host, os.getpid()):
                raise WorkerNameTaken(f"a worker named {self.name} already runs (pid {row['pid']} on {row['host']}, "
                                      f"heartbeat {row['heartbeat_age']:.0f} s ago): give this one another --name")
        self.catalog.release_sites(worker=self.name)  # its crawls died with it
        for dispatch in self.catalog.dispatches(("running",), limit=100_000):
            if dispatch.worker == self.name:
                self.handout.send_again(dispatch, f"worker {self.name} started again")

    def _every(self, step: Any) -> None:
        while not self.exiting.wait(self.settings.worker_heartbeat):
            step()

    def _on_ready(self, sender: Any = None, **_: Any) -> None:
        if self.problem:
            self._consume(False)

    def _on_shutdown(self, **_: Any) -> None:
        """Celery's warm shutdown: the crawls asked to end now (closing their runs), their dispatches queued again;
        once (Celery signals every SIGTERM, and a second one would stop a crawl uncleanly)."""
        if self.stopping.is_set():
            return
        self.stopping.set()
        with self.lock:
            crawls = [crawl for _dispatch, crawl in self.running.values()]
        for crawl in crawls:
            with contextlib.suppress(ProcessLookupError):
                os.kill(crawl.process.pid, signal.SIGTERM)
        self._beat()

    # -- the task -------------------------------------------------------------------------------------
    def _task(self, dispatch_id: int, attempt: int) -> None:
        if self.problem or self.stopping.is_set():
            raise Reject(self.problem or "stopping", requeue=True)
        try:
            dispatch = self.catalog.claim_dispatch(dispatch_id, attempt, self.name)
        except SQLAlchemyError as exc:  # back to the queue, for this worker or another once the catalog answers
            raise Reject(f"the catalog is away: {reason_of(exc)}", requeue=True) from exc
        if dispatch is None:
            logger.info("dispatch %d attempt %d: not current (handed on, or done): dropped", dispatch_id, attempt)
            return
        number = next(self.numbers)
        try:
            crawl = launch(self.config.home, number, dispatch.sites, self.crawl_args, self.env, die_with_parent=True)
        except OSError as exc:  # this machine cannot start crawls (its disk, its limits): another one does it
            self.problem = f"crawls cannot be started here: {exc}"
            logger.error("dispatch %d: %s; handed on", dispatch_id, self.problem)
            self._consume(False)
            self.handout.send_again(dispatch, f"worker {self.name}: {self.problem}")
            return
        with self.lock:
            self.running[number] = (dispatch, crawl)
        self._beat()  # the crawl's pid in the worker's row before anything can happen to it
        with contextlib.suppress(SQLAlchemyError):  # only for the dashboard: the heartbeat lists the pid too
            self.catalog.dispatch_started(dispatch_id, attempt, crawl.process.pid)
        logger.info("dispatch %d: crawl of %d site(s) started (pid %d)", dispatch_id, len(dispatch.sites),
                    crawl.process.pid)
        try:
            reap(crawl)
        finally:
            self._ended(number, dispatch, crawl)

    def _ended(self, number: int, dispatch: Dispatch, crawl: Crawl) -> None:
        """Recorded however long the catalog is away: a dispatch left running would be handed on, crawled twice."""
        while True:
            try:
                runs = self.catalog.runs_of(self.host, [crawl.process.pid], self.started_at)
                run = runs[-1] if runs else None
                if crawl.code not in (FINISHED, BUSY) and self.stopping.is_set():
                    self.handout.send_again(dispatch, f"worker {self.name} stopped")
                    outcome = "cut short by the stop; queued again"
                else:
                    state = "done" if crawl.code in (FINISHED, BUSY) else "failed"
                    self.catalog.end_dispatch(dispatch.id, dispatch.attempt, state, crawl.code, run and run.id)
                    outcome = f"{state} (exit {crawl.code}, run {run and run.id}, {crawl.seconds:.0f} s)"
                break
            except SQLAlchemyError as exc:
                logger.warning("dispatch %d: its end not recorded yet (the catalog is away): %s", dispatch.id,
                               reason_of(exc))
                time.sleep(self.settings.worker_heartbeat)
        stats = run.stats if run is not None else {}
        with self.lock:
            self.running.pop(number, None)
            requests, errors = self.ended
            self.ended = (requests + int(stats.get("requests", 0)), errors + int(stats.get("errors", 0)))
        logger.info("dispatch %d %s", dispatch.id, outcome)
        self._beat()

    # -- heartbeat and health ---------------------------------------------------------------------------
    def _beat_periodically(self) -> None:
        self._beat(rate=True)

    def _beat(self, state: str | None = None, reason: str | None = None, rate: bool = False) -> None:
        """The worker's row: its state, its crawls (their pids: how a dead worker's runs are found) and figures.
        Requests/s is computed by the periodic heartbeat only, over its interval."""
        with self.lock:
            running = list(self.running.values())
            requests, errors = self.ended
        crawls = [{"dispatch": d.id, "pid": c.process.pid, "sites": d.sites} for d, c in running]
        if state is None:
            state = "stopping" if self.stopping.is_set() else \
                "unhealthy" if self.problem else "busy" if crawls else "ready"
            reason = "stopping: its crawls end and go to other workers" if state == "stopping" else self.problem
        try:
            for run in self.catalog.runs_of(self.host, [c["pid"] for c in crawls], self.started_at):
                requests += int(run.stats.get("requests", 0))
                errors += int(run.stats.get("errors", 0))
            values = {"host": self.host, "pid": os.getpid(), "state": state, "reason": reason,
                      "slots": self.settings.worker_crawls, "crawls": crawls, "requests": requests, "errors": errors,
                      "parsers": self.parsers}
            if rate:
                now, (then, before) = time.monotonic(), self.rate
                self.rate = (now, requests)
                values["requests_per_s"] = round((requests - before) / (now - then), 2) if now > then else 0.0
            self.catalog.beat(self.name, **values)
        except SQLAlchemyError as exc:
            logger.warning("heartbeat not recorded (the catalog is away): %s", reason_of(exc))

    def _check(self) -> None:
        problem = self._health()
        if problem != self.problem:
            if problem:
                logger.error("worker %s takes no work: %s", self.name, problem)
            else:
                logger.warning("worker %s takes work again: storage and proxy answer", self.name)
            self.problem = problem
            self._beat()
            if not problem:
                self._consume(True)
        if problem:
            self._consume(False)  # said again at every check: a broadcast lost while the broker was away is not final

    def _health(self) -> str | None:
        """What stops this worker from crawling, or None: its storage, and its proxy if it has one."""
        try:
            open_store(self.config, create=False).has(_PROBE)
        except StorageError as exc:
            return f"storage unreachable: {exc}"
        if self.config.proxy:
            try:
                reach_proxy(self.config.proxy, self.config.timeout)
            except ConfigError as exc:
                return str(exc)
        return None

    def _consume(self, on: bool) -> None:
        """Start or stop taking tasks, through Celery's remote control (handled in the worker's own loop)."""
        destination = [self.celery_name]
        try:
            if on:
                self.app.control.add_consumer(engine.QUEUE, destination=destination)
            else:
                self.app.control.cancel_consumer(engine.QUEUE, destination=destination)
        except Exception as exc:  # noqa: BLE001 - the broker away: the task itself refuses work while unhealthy
            logger.warning("consumer not %s: %s", "resumed" if on else "cancelled", exc)

    def _parse(self) -> None:
        """The parse queue, claimed across machines by the catalog (FOR UPDATE SKIP LOCKED), until the worker stops."""
        try:
            store = open_store(self.config)
            parse_queue.run(self.config, self.catalog, store, self.stopping, workers=self.parsers)
        except (StorageError, SQLAlchemyError, RuntimeError) as exc:
            logger.error("parsing stopped: %s", exc)
