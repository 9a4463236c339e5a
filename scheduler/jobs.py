"""The persistent schedule: one APScheduler job per site, in the catalog database.

The service and the CLI (``schedule show|pause|resume``) work on the same table, whether or
not the service runs; the job's next run time is what survives a stop, so a job is only
rescheduled when its plan changed (replacing it would forget a missed run and a pause).
"""

from __future__ import annotations

import pickle
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import STATE_STOPPED
from apscheduler.util import datetime_to_utc_timestamp
from sqlalchemy.engine import Engine

from archive.catalog import isoformat
from crawler.registry import Site

from .plan import Plan, signature

TABLE = "schedule_jobs"
#: Referenced by text, so the stored job names the function and not a pickled object.
CRAWL_FUNC = "scheduler.service:crawl_site"


class _Store(SQLAlchemyJobStore):
    def update_job(self, job: Job) -> None:
        """While due jobs are processed, a pause written meanwhile by another process (the CLI) wins.

        The scheduler read the job as due, then stores its next time; a plain update would undo
        a pause made in between. At worst the crawl already decided on still starts, once.
        """
        if not getattr(self._scheduler, "processing", False):
            return super().update_job(job)
        update = (self.jobs_t.update()
                  .values(next_run_time=datetime_to_utc_timestamp(job.next_run_time),
                          job_state=pickle.dumps(job.__getstate__(), self.pickle_protocol))
                  .where(self.jobs_t.c.id == job.id, self.jobs_t.c.next_run_time.is_not(None)))
        with self.engine.begin() as connection:
            connection.execute(update)


class _Scheduler(BackgroundScheduler):
    processing = False

    def _process_jobs(self) -> float | None:
        """Nothing once stopped: APScheduler 3 looks at the store once more after shutdown(), and
        would then advance the due jobs' times (losing runs missed while stopping) and fail to submit them."""
        if self.state == STATE_STOPPED:
            return None
        self.processing = True
        try:
            return super()._process_jobs()
        finally:
            self.processing = False


def make_scheduler(engine: Engine, timezone: str, **options: Any) -> BackgroundScheduler:
    return _Scheduler(jobstores={"default": _Store(engine=engine, tablename=TABLE)}, timezone=timezone, **options)


@contextmanager
def open_jobs(engine: Engine, timezone: str) -> Iterator[BackgroundScheduler]:
    """The job store through a scheduler that never runs anything (started paused): for the CLI."""
    scheduler = make_scheduler(engine, timezone)
    scheduler.start(paused=True)
    try:
        yield scheduler
    finally:
        scheduler.shutdown(wait=False)


def job_options(site_id: str, misfire_grace: int) -> dict[str, Any]:
    """Every stored job's options: one run of a site at a time, missed runs coalesced into one."""
    return {"func": CRAWL_FUNC, "args": (site_id,), "name": site_id, "max_instances": 1, "coalesce": True,
            "misfire_grace_time": misfire_grace}


def install(scheduler: BackgroundScheduler, site: Site, plan: Plan, misfire_grace: int) -> Job:
    return scheduler.add_job(trigger=plan.trigger(site.id, site.schedule), id=site.id, jobstore="default",
                             **job_options(site.id, misfire_grace))


def sync(scheduler: BackgroundScheduler, sites: Iterable[Site], plan: Plan, misfire_grace: int) -> Counter[str]:
    """Make the store match the registry and plan, touching only what changed; returns what was done."""
    done: Counter[str] = Counter()
    stored = {job.id: job for job in scheduler.get_jobs(jobstore="default")}
    wanted = {site.id: site for site in sites}
    for job_id in stored.keys() - wanted.keys():
        scheduler.remove_job(job_id, "default")
        done["removed"] += 1
    for site_id, site in wanted.items():
        job = stored.get(site_id)
        if job is None:
            install(scheduler, site, plan, misfire_grace)
            done["added"] += 1
            continue
        trigger = plan.trigger(site_id, site.schedule)
        if signature(job.trigger) != signature(trigger):
            scheduler.reschedule_job(site_id, "default", trigger=trigger)
            if job.next_run_time is None:
                scheduler.pause_job(site_id, "default")
            done["rescheduled"] += 1
        current = {"func": job.func_ref, "args": tuple(job.args), "name": job.name, "max_instances": job.max_instances,
                   "coalesce": job.coalesce, "misfire_grace_time": job.misfire_grace_time}
        changed = {name: value for name, value in job_options(site_id, misfire_grace).items() if current[name] != value}
        if changed:  # e.g. NIANBAO_SCHEDULE_MISFIRE_GRACE changed: the times stay as they are
            scheduler.modify_job(site_id, "default", **changed)
        if job.next_run_time is None:
            done["paused"] += 1
    return done


def describe(job: Job | None, trigger: Any, site_id: str, running: set[str]) -> dict[str, Any]:
    """A row of ``schedule show``: the stored job, or (None) the next time the plan gives."""
    if job is not None:
        next_run, trigger = job.next_run_time, job.trigger
    else:
        next_run = trigger.get_next_fire_time(None, datetime.now(UTC))
    return {"site": site_id, "next_run": isoformat(next_run.astimezone(UTC)) if next_run else None,
            "paused": job is not None and next_run is None, "running": site_id in running,
            "installed": job is not None, "trigger": str(trigger)}
