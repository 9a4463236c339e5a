"""``nianbao schedule run``: the long-running service that starts every site's crawls at their times.

Each crawl is a child process (``nianbao crawl --site ID --trigger schedule``), so a crash, a
leak or a hung reactor in one crawl never takes the service down, and the crawl records its own
run and log exactly as one started by hand. The service only decides when: APScheduler with its
jobs in the catalog database (one per site, at most one instance, missed runs coalesced) and a
thread pool as wide as the number of crawls allowed at once.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.exc import SQLAlchemyError

from archive import runlogs
from archive.catalog import Catalog, isoformat
from archive.storage import open_store
from crawler.registry import Registry
from nianbao.config import Config
from scheduler.locks import SiteLocks

from . import status as status_file
from .config import ScheduleSettings
from .jobs import TABLE, make_scheduler, sync
from .status import status

__all__ = ["Service", "ServiceBusy", "crawl_site", "status"]

logger = logging.getLogger("nianbao.scheduler")
#: ``nianbao crawl``'s exit statuses (nianbao/cli/common.py).
FINISHED, FAILED, BAD_CONFIG, BUSY = 0, 1, 2, 3
#: The service's own lock, beside the sites' (scheduler.locks); site ids cannot start with '_'.
SERVICE_LOCK = "_scheduler"
#: The service's one instance: the jobs in the store name ``crawl_site``, which finds it here.
_service: Service | None = None


class ServiceBusy(RuntimeError):
    """Another service already runs on this NIANBAO_HOME (two would start every crawl twice)."""


def crawl_site(site_id: str) -> None:
    """What every stored job runs: one crawl of the site, in a child process."""
    if _service is None:
        raise RuntimeError("crawl_site runs only inside `nianbao schedule run`")
    _service.crawl(site_id)


@dataclass
class Child:
    process: subprocess.Popen[bytes]
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    done: threading.Event = field(default_factory=threading.Event)


class Service:
    def __init__(self, config: Config, registry: Registry, settings: ScheduleSettings,
                 crawl_args: list[str]) -> None:
        self.config, self.registry, self.settings = config, registry, settings
        #: Passed to every ``nianbao crawl`` after ``--site ID``: ``--sites FILE``, ``-s NAME=VALUE``.
        self.crawl_args = crawl_args
        self.env = {**os.environ, "NIANBAO_HOME": str(config.home), "NIANBAO_STORAGE": config.storage,
                    "NIANBAO_CATALOG": config.catalog}
        self.catalog = Catalog(config.catalog)
        self.children: dict[str, Child] = {}
        self.lock = threading.Lock()  # children, stopping, unstarted
        self.stopping = False
        #: Sites whose run came due while stopping: brought forward so they run when the service is back.
        self.unstarted: set[str] = set()
        self.stop_requested = threading.Event()
        self.force = threading.Event()  # a second signal: no more waiting for crawls
        self.started_at = datetime.now(UTC)
        self.status_lock = threading.Lock()

    # -- the service ------------------------------------------------------------------------
    def run(self) -> int:
        single = SiteLocks(self.config.home)  # the same flock, on a name no site id can have
        busy = single.acquire([SERVICE_LOCK])
        if busy:
            raise ServiceBusy(f"a scheduler already runs for {self.config.home} ({busy[SERVICE_LOCK]})")
        try:
            return self._run()
        finally:
            single.release()

    def _run(self) -> int:
        global _service
        self._end_dead_runs()
        plan = self.settings.plan
        scheduler = make_scheduler(
            self.catalog.engine, plan.timezone,
            executors={"default": ThreadPoolExecutor(self.settings.max_crawls), "maintenance": ThreadPoolExecutor(1)})
        scheduler.add_jobstore(MemoryJobStore(), "memory")
        for name in ("apscheduler.scheduler", "apscheduler.executors.maintenance", "apscheduler.executors.default"):
            logging.getLogger(name).setLevel(logging.WARNING)  # the service says what it did, once per site
        scheduler.start(paused=True)
        done = sync(scheduler, self.registry.sites, plan, self.settings.misfire_grace)
        self._announce(scheduler, done)
        scheduler.add_job(self.heartbeat, "interval", seconds=self.settings.heartbeat, id="heartbeat",
                          jobstore="memory", executor="maintenance", coalesce=True, max_instances=1,
                          next_run_time=datetime.now(UTC))
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        _service = self
        try:
            scheduler.resume()
            while not self.stop_requested.wait(1.0):
                pass
            self._shutdown(scheduler)
        finally:
            _service = None
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 0

    def _announce(self, scheduler: BackgroundScheduler, done: dict[str, int]) -> None:
        jobs = scheduler.get_jobs(jobstore="default")
        logger.info("%d site(s) from %s: %d added, %d rescheduled, %d removed, %d paused; at most %d crawl(s) at once",
                    len(jobs), self.registry.source, done["added"], done["rescheduled"], done["removed"],
                    done["paused"], self.settings.max_crawls)
        due = [job for job in jobs if job.next_run_time is not None]
        missed = sum(job.next_run_time < datetime.now(UTC) for job in due)
        if missed:
            logger.info("%d site(s) missed runs while the service was down: each runs once now (if missed by "
                        "less than NIANBAO_SCHEDULE_MISFIRE_GRACE, %d s)", missed, self.settings.misfire_grace)
        elif due:
            logger.info("next: %s at %s", due[0].id, isoformat(due[0].next_run_time.astimezone(UTC)))

    def _on_signal(self, signum: int, _frame: object) -> None:
        """Only flags: the main thread does the stopping (a handler may interrupt it anywhere)."""
        if self.stop_requested.is_set():
            self.force.set()
        self.stop_requested.set()

    def _shutdown(self, scheduler: BackgroundScheduler) -> None:
        scheduler.pause()  # no new submissions; jobs already queued find `stopping` and return
        with self.lock:
            self.stopping = True
            children = dict(self.children)
        logger.info("stopping: no new crawls; %d running crawl(s) asked to end (grace %g s)",
                    len(children), self.settings.shutdown_grace)
        self.heartbeat("stopping")
        for child in children.values():  # Scrapy closes gracefully and records the run 'cancelled'
            _kill(child.process.pid, signal.SIGTERM, group=False)
        deadline = time.monotonic() + self.settings.shutdown_grace
        for site_id, child in children.items():
            while not child.done.wait(0.2):
                if self.force.is_set() or time.monotonic() > deadline:
                    logger.warning("%s: crawl (pid %d) did not end in time: killed", site_id, child.process.pid)
                    _kill(child.process.pid, signal.SIGKILL, group=True)
                    child.done.wait(10)
                    break
        scheduler.shutdown(wait=True)
        with self.lock:  # cut short: due again at the next start (it asks after the rest, 304s for the done part)
            self.unstarted.update(site for site, child in children.items() if child.process.returncode != FINISHED)
        self._bring_forward(scheduler)
        self._end_dead_runs()
        self.heartbeat("stopped")
        logger.info("stopped")

    def _bring_forward(self, scheduler: BackgroundScheduler) -> None:
        """A run that came due during the stop, or was cut short by it, is due at once when the service is back."""
        if not self.unstarted:
            return
        store = SQLAlchemyJobStore(engine=self.catalog.engine, tablename=TABLE)
        store.start(scheduler, "default")
        now = datetime.now(UTC)
        for site_id in sorted(self.unstarted):
            job = store.lookup_job(site_id)
            if job is not None and job.next_run_time is not None and job.next_run_time > now:
                job.next_run_time = now
                store.update_job(job)
        logger.info("runs due while stopping, kept for the next start: %s", ", ".join(sorted(self.unstarted)))

    def heartbeat(self, state: str = "running") -> None:
        """Record that the service lives (and wake the scheduler, which then sees pauses made by others)."""
        with self.lock:
            crawls = [{"site": site_id, "pid": child.process.pid, "started_at": isoformat(child.started_at)}
                      for site_id, child in self.children.items()]
        now = datetime.now(UTC)
        data = {"pid": os.getpid(), "host": socket.gethostname(), "state": state,
                "started_at": isoformat(self.started_at), "heartbeat_at": isoformat(now),
                "heartbeat_interval": self.settings.heartbeat,
                "stopped_at": isoformat(now) if state == "stopped" else None,
                "registry": self.registry.source, "sites": len(self.registry), "max_crawls": self.settings.max_crawls,
                "timezone": self.settings.plan.timezone, "crawls": crawls}
        with self.status_lock:
            try:
                status_file.write(self.config.home, data)
            except OSError as exc:
                logger.warning("heartbeat not written to %s: %s", self.config.home / status_file.FILE, exc)

    # -- one crawl ----------------------------------------------------------------------------
    def crawl(self, site_id: str) -> None:
        command = [sys.executable, "-m", "nianbao", "crawl", "--site", site_id, "--trigger", "schedule",
                   *self.crawl_args]
        log_path = self.config.home / "logs" / "schedule" / f"{site_id}.log"
        with self.lock:
            if self.stopping:
                self.unstarted.add(site_id)
                return
            try:
                log_path.parent.mkdir(parents=True, exist_ok=True)
                with log_path.open("ab") as log:
                    log.write(f"--- {isoformat(datetime.now(UTC))} scheduled crawl of {site_id}\n".encode())
                    log.flush()
                    # Its own session: a Ctrl-C at the terminal reaches the service only, which
                    # forwards one SIGTERM (a second would make Scrapy stop uncleanly).
                    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                               env=self.env, start_new_session=True)
            except OSError as exc:
                logger.error("%s: crawl not started: %s", site_id, exc)
                return
            child = self.children[site_id] = Child(process)
        logger.info("%s: crawl started (pid %d)", site_id, process.pid)
        try:
            code = process.wait()
        finally:
            with self.lock:
                self.children.pop(site_id, None)
            child.done.set()
        self._report(site_id, code, (datetime.now(UTC) - child.started_at).total_seconds(), log_path)

    def _report(self, site_id: str, code: int, seconds: float, log_path: Path) -> None:
        if code == FINISHED:
            logger.info("%s: crawl finished (%.0f s)", site_id, seconds)
        elif code == BUSY:
            logger.info("%s: skipped, busy: another process is crawling it", site_id)
        elif code == FAILED:
            logger.warning("%s: crawl failed or was stopped (exit 1, %.0f s); see %s", site_id, seconds, log_path)
        elif code == BAD_CONFIG:
            logger.error("%s: crawl refused its configuration (exit 2); see %s", site_id, log_path)
        elif code == -signal.SIGTERM and self.stopping:
            logger.info("%s: crawl ended by the stop before it began", site_id)
        elif code < 0:
            logger.error("%s: crawl killed by %s after %.0f s", site_id, signal.Signals(-code).name, seconds)
        else:
            logger.error("%s: crawl exited %d after %.0f s; see %s", site_id, code, seconds, log_path)
        if code not in (FINISHED, BUSY):  # the process is gone: a run it left 'running' never will end
            self._end_dead_runs()

    def _end_dead_runs(self) -> None:
        try:
            ended = runlogs.end_dead_runs(self.catalog, self.config.home, lambda: open_store(self.config))
        except SQLAlchemyError as exc:
            logger.warning("runs of dead crawls not closed: %s", getattr(exc, "orig", None) or exc)
            return
        if ended:
            logger.warning("run(s) %s of crawls that died marked failed", ", ".join(map(str, ended)))


def _kill(pid: int, sig: signal.Signals, group: bool) -> None:
    try:
        if group:  # the crawl leads its own process group: its browser goes with it
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass
