"""The scheduler's side of many machines: rounds handed to the engine as dispatches, and the fleet watched.

A round's sites become dispatches (a row each in the catalog, then a Celery task naming the row and
its attempt): at least one per crawl slot the live workers have, at most NIANBAO_DISPATCH_SITES
sites each, sites sharing a host in one. Every NIANBAO_FLEET_CHECK seconds ``check()`` looks at the
fleet: a worker silent for NIANBAO_WORKER_TIMEOUT is dead, its crawls' runs are closed as failed
(the next crawl of those sites goes on from them, scheduler.rounds → crawler.downloadermiddlewares.replay)
and its dispatches are sent again under a new attempt — so a dead worker's sites are taken up
within NIANBAO_WORKER_TIMEOUT + NIANBAO_FLEET_CHECK by any worker with a free slot. A Redis that
restarted (its run_id changed) forgot its queue: every dispatch still queued is sent again.

Everything here is an atomic step on the catalog, so two processes checking at once (the service and
a ``schedule round``) hand each dispatch on once.
"""

from __future__ import annotations

import logging
import math
import threading
from datetime import datetime
from typing import Any

from celery import Celery
from sqlalchemy.exc import SQLAlchemyError

from archive.catalog import Catalog, Dispatch, reason_of

from . import engine
from .config import ScheduleSettings
from .rounds import split

logger = logging.getLogger("nianbao.scheduler")
#: A dispatch in one of these states is over.
DISPATCH_ENDED = ("done", "failed")


class Handout:
    """Rounds into dispatches and dispatches to the engine, for the service, ``schedule round`` and a stopping
    worker alike."""

    def __init__(self, catalog: Catalog, settings: ScheduleSettings, app: Celery | None = None) -> None:
        self.catalog, self.settings = catalog, settings
        self.app = app or engine.make_app(settings)
        self.handed: list[int] = []  # the dispatches this process handed out

    def inside(self) -> set[str]:
        return self.catalog.open_dispatch_sites()

    def hand_out(self, sites: list[str], together: dict[str, str] | None = None) -> list[Dispatch]:
        if not sites:
            return []
        per = min(self.settings.dispatch_sites, self.settings.round_sites)
        count = max(self.catalog.fleet_slots(self.settings.worker_timeout), math.ceil(len(sites) / per))
        batches, left = [], sites
        while left:  # a group of sites sharing a host that fits no batch goes in the next ones, never dropped
            batches += split(left, count, per, together)
            placed = {site for batch in batches for site in batch}
            left = [site for site in left if site not in placed]
        dispatches = [self.catalog.add_dispatch(batch) for batch in batches]
        broker = engine.broker_id(self.app)
        for dispatch in dispatches:
            self.handed.append(dispatch.id)
            self._send(dispatch.id, dispatch.attempt, broker)
        logger.info("%d site(s) handed out in %d dispatch(es): %s", len(sites), len(dispatches),
                    ", ".join(str(d.id) for d in dispatches))
        return dispatches

    def check(self) -> list[Dispatch]:
        """Dispatches nobody runs any more, and those a restarted broker forgot, sent again; returns them.

        Judged from the catalog's state each time, not from what changed since the last look: a check cut short
        (the catalog away, this process killed) leaves nothing behind for the next one."""
        for worker in self.catalog.bury_workers(self.settings.worker_timeout):
            logger.warning("worker %s on %s is dead (%s)", worker.name, worker.host, worker.reason)
        moved = []
        for dispatch, why in self.catalog.stray_dispatches(self.settings.worker_timeout):
            moved += self.send_again(dispatch, why)
        broker = engine.broker_id(self.app)
        if broker is not None:
            for dispatch in self.catalog.dispatches(("queued",), limit=100_000):
                if dispatch.sent_at is None or dispatch.broker_id not in (None, broker):
                    logger.warning("dispatch %d: %s; sent again", dispatch.id, "not sent yet" if dispatch.sent_at
                                   is None else "the broker restarted since it was sent, and forgot it")
                    if self._send(dispatch.id, dispatch.attempt, broker,
                                  engine.HANDED_ON if dispatch.attempt > 1 else engine.ROUND):
                        moved.append(dispatch)
        return moved

    def send_again(self, dispatch: Dispatch, why: str) -> list[Dispatch]:
        """Queued again under a new attempt and sent (later, by check(), if the broker is away)."""
        attempt = self.catalog.requeue_dispatch(dispatch, why)
        if attempt is None:
            return []
        logger.warning("dispatch %d (%d site(s)) sent again: %s", dispatch.id, len(dispatch.sites), why)
        self._send(dispatch.id, attempt, engine.broker_id(self.app), engine.HANDED_ON)
        return [dispatch]

    def _send(self, dispatch_id: int, attempt: int, broker: str | None, priority: int = engine.ROUND) -> bool:
        """Sent, and marked so with ``broker``, the instance its caller asked for before sending (a restart between
        the two is then seen as one); a broker that is away leaves the dispatch unsent, for the next check."""
        try:
            engine.send(self.app, dispatch_id, attempt, priority)
        except Exception as exc:  # noqa: BLE001 - kombu's and redis's errors alike: the catalog keeps it queued
            logger.warning("dispatch %d not sent, the broker is away (sent at the next check): %s", dispatch_id, exc)
            return False
        self.catalog.sent_dispatch(dispatch_id, attempt, broker)
        return True

def wait(handout: Handout, dispatch_ids: list[int], stop: threading.Event) -> list[Dispatch]:
    """Until every dispatch ended (or ``stop``), checking the fleet meanwhile; returns them as they are."""
    while True:
        try:
            handout.check()
            dispatches = [handout.catalog.dispatch(i) for i in dispatch_ids]
            if all(d is not None and d.state in DISPATCH_ENDED for d in dispatches):
                return dispatches
        except SQLAlchemyError as exc:
            logger.warning("the fleet was not checked (the catalog is away): %s", reason_of(exc))
        if stop.wait(handout.settings.fleet_check):
            return [d for i in dispatch_ids if (d := handout.catalog.dispatch(i)) is not None]


def fleet_figures(catalog: Catalog, dispatches: list[Dispatch]) -> dict[str, Any]:
    """A round handed out: per dispatch its worker, run, requests and hand-overs; requests/s over the round's span."""
    rows = []
    for dispatch in dispatches:
        run = catalog.run(dispatch.run_id) if dispatch.run_id else None
        stats = run.stats if run is not None else {}
        rows.append({"dispatch": dispatch.id, "sites": dispatch.sites, "state": dispatch.state,
                     "worker": dispatch.worker, "attempt": dispatch.attempt, "run": dispatch.run_id,
                     "status": run.status if run else None, "exit": dispatch.exit_code,
                     "requests": int(stats.get("requests", 0)), "errors": int(stats.get("errors", 0)),
                     "seconds": _seconds(dispatch.started_at, dispatch.ended_at), "moves": dispatch.moves,
                     "busiest_second": stats.get("busiest_second", 0)})
    begun = min((d.created_at for d in dispatches), default=None)
    ended = max((d.ended_at for d in dispatches if d.ended_at), default=None)
    seconds = _seconds(begun, ended)
    requests = sum(row["requests"] for row in rows)
    return {"sites": sum(len(d.sites) for d in dispatches), "dispatches": rows, "requests": requests,
            "errors": sum(row["errors"] for row in rows), "seconds": seconds,
            "requests_per_s": round(requests / seconds, 2) if seconds else 0.0,
            "workers": sorted({d.worker for d in dispatches if d.worker}),
            "moved": sum(len(d.moves) for d in dispatches)}


def _seconds(start: datetime | None, end: datetime | None) -> float:
    return round((end - start).total_seconds(), 2) if start and end else 0.0
