"""``nianbao schedule run``: the long-running service that crawls every site at its times, in rounds.

APScheduler decides when: one job per site in the catalog database (at most one instance, missed
runs coalesced; ``schedule show|pause|resume`` work on them). A due job starts nothing itself: it
puts its site in the dispatcher's due set (scheduler.rounds), whose thread gathers the sites that
come due close together and starts crawl children over many sites each. Each crawl is a child
process (``nianbao crawl --trigger schedule --site …``), so a crash, a leak or a hung reactor in one
crawl never takes the service down, and the crawl records its own run and log exactly as one
started by hand.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from datetime import UTC, datetime

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from archive import runlogs
from archive.catalog import Catalog, isoformat, reason_of
from archive.storage import open_store
from crawler.registry import Registry
from nianbao.config import Config

from . import status as status_file
from .config import ScheduleSettings
from .crawls import BAD_CONFIG, BUSY, FAILED, FINISHED, Crawl, crawl_env
from .handout import Handout
from .jobs import TABLE, make_scheduler, sync
from .leadership import Leadership
from .rounds import Dispatcher, host_groups
from .status import status

__all__ = ["Service", "ServiceBusy", "crawl_site", "status"]

logger = logging.getLogger("nianbao.scheduler")
#: Seconds between a standby's tries of the scheduler's lock.
STANDBY_POLL = 1.0
#: The service's one instance: the jobs in the store name ``crawl_site``, which finds it here.
_service: Service | None = None


class ServiceBusy(RuntimeError):
    """Another service already runs on this (SQLite, one machine's) catalog: two would start every crawl twice."""


def crawl_site(site_id: str) -> None:
    """What every stored job runs: the site is due, for the next round (the name stays: stored jobs refer to it)."""
    if _service is None:
        raise RuntimeError("crawl_site runs only inside `nianbao schedule run`")
    _service.due(site_id)


class Service:
    def __init__(self, config: Config, registry: Registry, settings: ScheduleSettings,
                 crawl_args: list[str]) -> None:
        self.config, self.registry, self.settings = config, registry, settings
        self.catalog = Catalog(config.catalog)
        #: With NIANBAO_BROKER the rounds go to the workers (scheduler.handout); without, crawls run here.
        self.handout = Handout(self.catalog, settings) if settings.broker else None
        #: ``crawl_args`` go to every ``nianbao crawl`` before its ``--site``s: ``--sites FILE``, ``-s NAME=VALUE``.
        self.dispatcher = Dispatcher(config.home, self.catalog, settings, crawl_args, crawl_env(config),
                                     wanted=self._wanted, ended=self._report, together=host_groups(registry.sites),
                                     handout=self.handout)
        self.leadership = Leadership(self.catalog)
        self.lock = threading.Lock()  # stopping, unstarted
        self.stopping = False
        #: Sites whose run came due while stopping: brought forward so they run when the service is back.
        self.unstarted: set[str] = set()
        self.stop_requested = threading.Event()
        self.force = threading.Event()  # a second signal: no more waiting for crawls
        self.started_at = datetime.now(UTC)
        self.status_lock = threading.Lock()
        self.lost = False  # the scheduler's lock was lost (its database connection ended): stopped, exit 1

    # -- the service ------------------------------------------------------------------------
    def run(self) -> int:
        """The service, once it holds the catalog's scheduler lock. On a shared (PostgreSQL) catalog a second
        service waits as a standby until the first is gone; on SQLite it is refused (ServiceBusy)."""
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            if not self.leadership.acquire():
                if not self.leadership.shared:
                    raise ServiceBusy(f"a scheduler already runs on this catalog ({self.leadership.holder()})")
                logger.warning("standby: %s schedules this catalog; taking over when it stops",
                               self.leadership.holder())
                while not self.leadership.acquire():  # the status file stays the running service's
                    if self.stop_requested.wait(STANDBY_POLL):
                        return 0
                logger.warning("taking over: the scheduler before this one is gone")
            return self._run()
        finally:
            self.leadership.release()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _run(self) -> int:
        global _service
        self._end_dead_runs()
        plan = self.settings.plan
        scheduler = make_scheduler(
            self.catalog.engine, plan.timezone,
            executors={"default": ThreadPoolExecutor(2), "maintenance": ThreadPoolExecutor(1)})
        scheduler.add_jobstore(MemoryJobStore(), "memory")
        for name in ("apscheduler.scheduler", "apscheduler.executors.maintenance", "apscheduler.executors.default"):
            logging.getLogger(name).setLevel(logging.WARNING)  # the service says what it did, once per round
        scheduler.start(paused=True)
        done = sync(scheduler, self.registry.sites, plan, self.settings.misfire_grace)
        self._announce(scheduler, done)
        scheduler.add_job(self.heartbeat, "interval", seconds=self.settings.heartbeat, id="heartbeat",
                          jobstore="memory", executor="maintenance", coalesce=True, max_instances=1,
                          next_run_time=datetime.now(UTC))
        if self.handout is not None:
            scheduler.add_job(self._check_fleet, "interval", seconds=self.settings.fleet_check, id="fleet",
                              jobstore="memory", executor="maintenance", coalesce=True, max_instances=1,
                              next_run_time=datetime.now(UTC))
        _service = self
        dispatching = threading.Thread(target=self.dispatcher.run, name="dispatcher", daemon=True)
        try:
            dispatching.start()
            scheduler.resume()
            while not self.stop_requested.wait(1.0):
                pass
            self._shutdown(scheduler)
        finally:
            self.dispatcher.close()
            dispatching.join(10)
            _service = None
        return 1 if self.lost else 0

    def _announce(self, scheduler: BackgroundScheduler, done: dict[str, int]) -> None:
        jobs = scheduler.get_jobs(jobstore="default")
        logger.info("%d site(s) from %s: %d added, %d rescheduled, %d removed, %d paused; at most %d crawl(s) at "
                    "once, %d site(s) each", len(jobs), self.registry.source, done["added"], done["rescheduled"],
                    done["removed"], done["paused"], self.settings.max_crawls, self.settings.round_sites)
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
        running = self.dispatcher.status()["crawls"]
        logger.info("stopping: no new crawls; %d running crawl(s) asked to end (grace %g s)",
                    len(running), self.settings.shutdown_grace)
        self.heartbeat("stopping")
        unstarted, crawls = self.dispatcher.stop(self.settings.shutdown_grace, self.force)
        scheduler.shutdown(wait=True)
        with self.lock:  # cut short: due again at the next start (it asks after the rest, 304s for the done part)
            self.unstarted.update(unstarted)
            self.unstarted.update(site for crawl in crawls if crawl.code != FINISHED for site in crawl.sites)
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

    def _check_fleet(self) -> None:
        if not self._leading():
            return
        try:
            self.handout.check()
        except SQLAlchemyError as exc:
            logger.warning("the fleet was not checked (the catalog is away): %s", reason_of(exc))

    def _leading(self) -> bool:
        """Still the scheduler: else (its lock's connection ended, a standby may lead now) it stops, exit 1."""
        if self.lost or not self.leadership.held():
            if not self.lost:
                logger.error("the scheduler's lock is lost (its catalog connection ended): stopping")
            self.lost = True
            self.stop_requested.set()
            return False
        return True

    def heartbeat(self, state: str = "running") -> None:
        """Record that the service lives (and wake the scheduler, which then sees pauses made by others)."""
        if state == "running":
            self._leading()
        rounds = self.dispatcher.status()
        now = datetime.now(UTC)
        data = {"pid": os.getpid(), "host": socket.gethostname(), "state": state,
                "started_at": isoformat(self.started_at), "heartbeat_at": isoformat(now),
                "heartbeat_interval": self.settings.heartbeat,
                "stopped_at": isoformat(now) if state == "stopped" else None,
                "registry": self.registry.source, "sites": len(self.registry), "max_crawls": self.settings.max_crawls,
                "round_sites": self.settings.round_sites, "timezone": self.settings.plan.timezone,
                "broker": bool(self.settings.broker), **rounds}
        with self.status_lock:
            try:
                status_file.write(self.config.home, data)
            except OSError as exc:
                logger.warning("heartbeat not written to %s: %s", self.config.home / status_file.FILE, exc)

    # -- rounds -----------------------------------------------------------------------------
    def due(self, site_id: str) -> None:
        with self.lock:
            if self.stopping:
                self.unstarted.add(site_id)
                return
        self.dispatcher.add([site_id])

    def _wanted(self, site_ids: list[str]) -> set[str]:
        """Of the gathered sites, those whose job is still there and not paused: a pause while gathering wins."""
        table = SQLAlchemyJobStore(engine=self.catalog.engine, tablename=TABLE).jobs_t
        try:
            with self.catalog.engine.connect() as connection:
                active = set(connection.scalars(select(table.c.id).where(table.c.next_run_time.is_not(None))))
        except SQLAlchemyError as exc:  # the catalog away for a moment: crawl what came due
            logger.warning("the schedule could not be read to see pauses: %s", reason_of(exc))
            return set(site_ids)
        return {site for site in site_ids if site in active}

    def _report(self, crawl: Crawl) -> None:
        code, seconds, what = crawl.code, crawl.seconds, f"crawl {crawl.number} ({len(crawl.sites)} site(s))"
        if code == FINISHED:
            logger.info("%s finished (%.0f s)", what, seconds)
        elif code == BUSY:
            logger.info("%s: skipped, busy: other processes are crawling its sites", what)
        elif code == FAILED:
            logger.warning("%s failed or was stopped (exit 1, %.0f s); see %s", what, seconds, crawl.log)
        elif code == BAD_CONFIG:
            logger.error("%s refused its configuration (exit 2); see %s", what, crawl.log)
        elif code == -signal.SIGTERM and self.stopping:
            logger.info("%s ended by the stop before it began", what)
        elif code is not None and code < 0:
            logger.error("%s killed by %s after %.0f s", what, signal.Signals(-code).name, seconds)
        else:
            logger.error("%s exited %s after %.0f s; see %s", what, code, seconds, crawl.log)
        if code not in (FINISHED, BUSY):  # the process is gone: a run it left 'running' never will end
            self._end_dead_runs()

    def _end_dead_runs(self) -> None:
        try:
            ended = runlogs.end_dead_runs(self.catalog, self.config.home, lambda: open_store(self.config))
        except SQLAlchemyError as exc:
            logger.warning("runs of dead crawls not closed: %s", reason_of(exc))
            return
        if ended:
            logger.warning("run(s) %s of crawls that died marked failed", ", ".join(map(str, ended)))
