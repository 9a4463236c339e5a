"""The fleet's records: site leases, workers' heartbeats, dispatches. Every time is the database's clock.

Leases replace a lock file per site: a lock file holds only on one machine, a lease row holds for
every machine on the catalog. A lease is free when it expired, when its process is seen gone on its
own host (no wait after a crawl killed by hand), or when the worker it runs under stopped beating
(the scheduler hands that worker's sites on; they must not wait out the lease as well).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.engine import Connection, Engine, Row
from sqlalchemy.orm import Session, sessionmaker

from nianbao.processes import alive, boot_id

from .models import Dispatch, Run, SiteLease, Worker, isoformat
from .write import _DIALECT_INSERT, database_now

#: How long a lease lasts unrenewed (the holder renews it every quarter of that).
SITE_LEASE = timedelta(seconds=120)
#: A worker silent this long is dead: its leases are free and its dispatches are sent again.
WORKER_TIMEOUT = timedelta(seconds=30)
#: Worker states that beat no more.
WORKER_ENDED = ("stopped", "dead")


@dataclass(frozen=True)
class Holder:
    """A crawl process, as its leases name it."""

    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    boot: str | None = field(default_factory=boot_id)
    worker: str | None = None  # the ``nianbao worker`` that started it

    @property
    def id(self) -> str:
        """Unique across machines that share a host name (cloned machines do) and across reboots."""
        return f"{self.host}:{(self.boot or '-')[:8]}:{self.pid}"


class Fleet:
    engine: Engine
    sessions: sessionmaker

    # -- site leases ------------------------------------------------------------------------------
    def acquire_sites(self, sites: list[str], holder: Holder, lease: timedelta = SITE_LEASE,
                      worker_timeout: timedelta = WORKER_TIMEOUT) -> dict[str, str]:
        """Lease every site that is free to ``holder``; returns the busy ones, each with who holds it."""
        busy: dict[str, str] = {}
        sites = sorted(set(sites))  # one order for every crawl: two taking overlapping sets never deadlock
        with self.engine.begin() as conn:
            now = _clock(conn)
            held = _leases(conn, sites, lock=True)
            dead = _dead_workers(conn, {row.worker for row in held.values() if row.worker}, now, worker_timeout)
            values = {"holder": holder.id, "host": holder.host, "boot_id": holder.boot, "pid": holder.pid,
                      "worker": holder.worker, "acquired_at": now, "renewed_at": now, "expires_at": now + lease}
            for site in sites:
                row = held.get(site)
                if row is None:
                    inserted = conn.execute(_DIALECT_INSERT[conn.dialect.name](SiteLease)
                                            .values(site=site, **values).on_conflict_do_nothing())
                    if inserted.rowcount == 0:
                        busy[site] = "another crawl (leased just now)"
                elif row.holder == holder.id or _free(row, now, dead, worker_timeout):
                    taken = conn.execute(update(SiteLease).where(SiteLease.site == site,
                                                                 SiteLease.holder == row.holder,
                                                                 SiteLease.expires_at == row.expires_at)
                                         .values(**values))
                    if taken.rowcount == 0:
                        busy[site] = "another crawl (leased just now)"
                else:
                    busy[site] = describe(row)
        return busy

    def renew_sites(self, holder: Holder, lease: timedelta = SITE_LEASE) -> set[str]:
        """Extend every lease ``holder`` has; returns the sites it still holds (one taken meanwhile is missing)."""
        with self.engine.begin() as conn:
            now = _clock(conn)
            conn.execute(update(SiteLease).where(SiteLease.holder == holder.id)
                         .values(renewed_at=now, expires_at=now + lease))
            return set(conn.scalars(select(SiteLease.site).where(SiteLease.holder == holder.id)))

    def release_sites(self, holder: Holder | None = None, worker: str | None = None) -> None:
        """A crawl's leases, or every lease of crawls a worker (by name) started."""
        where = SiteLease.holder == holder.id if holder is not None else SiteLease.worker == worker
        with self.engine.begin() as conn:
            conn.execute(SiteLease.__table__.delete().where(where))

    def site_holders(self, sites: list[str], worker_timeout: timedelta = WORKER_TIMEOUT) -> dict[str, str]:
        """The sites a live crawl holds, with who; nothing is written (for the scheduler, which then starts
        no crawl for them; the crawl's own acquire_sites stays what decides)."""
        with self.engine.connect() as conn:
            now = _clock(conn)
            held = _leases(conn, sites)
            dead = _dead_workers(conn, {row.worker for row in held.values() if row.worker}, now, worker_timeout)
            return {site: describe(row) for site, row in held.items() if not _free(row, now, dead, worker_timeout)}

    # -- workers ----------------------------------------------------------------------------------
    def beat(self, name: str, **values: Any) -> None:
        """A worker's heartbeat: its row, created on the first."""
        with self.engine.begin() as conn:
            now = _clock(conn)
            row = {"name": name, "heartbeat_at": now, **values}
            insert = _DIALECT_INSERT[conn.dialect.name](Worker).values(started_at=now, **row)
            conn.execute(insert.on_conflict_do_update(index_elements=[Worker.name],
                                                      set_={k: insert.excluded[k] for k in row if k != "name"}))

    def workers(self) -> list[Worker]:
        with self.sessions() as session:
            return list(session.scalars(select(Worker).order_by(Worker.name)))

    def fleet(self, worker_timeout: timedelta = WORKER_TIMEOUT) -> list[dict[str, Any]]:
        """Every worker as operators see it: a silent one shows ``dead`` before the scheduler marks it so."""
        with self.engine.connect() as conn:
            now = _clock(conn)
        rows = []
        for worker in self.workers():
            silent = (now - worker.heartbeat_at).total_seconds()
            late = worker.state not in WORKER_ENDED and silent > worker_timeout.total_seconds()
            state = "dead" if late else worker.state
            rows.append({"name": worker.name, "host": worker.host, "pid": worker.pid, "state": state,
                         "reason": worker.reason if state == worker.state else f"no heartbeat for {silent:.0f} s",
                         "started_at": isoformat(worker.started_at), "heartbeat_at": isoformat(worker.heartbeat_at),
                         "heartbeat_age": round(silent, 1), "slots": worker.slots, "parsers": worker.parsers,
                         "crawls": worker.crawls if state in ("ready", "busy", "unhealthy", "stopping") else [],
                         "sites": sorted({site for crawl in worker.crawls for site in crawl.get("sites", [])})
                         if state in ("busy", "unhealthy", "stopping") else [],
                         "requests": worker.requests, "requests_per_s": worker.requests_per_s if state == "busy"
                         else 0.0, "errors": worker.errors})
        return rows

    def handovers(self, limit: int = 50) -> list[dict[str, Any]]:
        """Dispatches moved from one worker to another, newest first: what a dead or stopped worker left."""
        moved = []
        for dispatch in self.dispatches(limit=2000):
            for move in dispatch.moves:
                moved.append({"dispatch": dispatch.id, "sites": dispatch.sites, "from": move.get("from"),
                              "at": move.get("at"), "why": move.get("why"), "state": dispatch.state,
                              "now_on": dispatch.worker})
        return sorted(moved, key=lambda m: m["at"] or "", reverse=True)[:limit]

    def fleet_slots(self, worker_timeout: timedelta = WORKER_TIMEOUT) -> int:
        """Crawls the live workers can run at once (those taking work)."""
        with self.engine.connect() as conn:
            since = _clock(conn) - worker_timeout
            rows = conn.execute(select(Worker.slots).where(Worker.heartbeat_at >= since,
                                                           Worker.state.in_(("ready", "busy"))))
            return sum(slots for (slots,) in rows)

    def bury_workers(self, worker_timeout: timedelta = WORKER_TIMEOUT) -> list[Worker]:
        """Workers silent longer than ``worker_timeout``: marked dead (said once), their crawls' runs closed."""
        buried = []
        with self.sessions.begin() as session:
            now = _clock(session.connection())
            silent = select(Worker).where(Worker.state.not_in(WORKER_ENDED),
                                          Worker.heartbeat_at < now - worker_timeout)
            for worker in session.scalars(silent.with_for_update()):
                worker.state = "dead"
                worker.reason = f"no heartbeat since {isoformat(worker.heartbeat_at)}"
                _close_runs(session, worker.host, [c["pid"] for c in worker.crawls if c.get("pid")], now,
                            f"its worker {worker.name} died ({worker.reason})")
                buried.append(worker)
        return buried

    def runs_of(self, host: str, pids: list[int], since: datetime) -> list[Run]:
        """The runs of crawl processes ``pids`` on ``host`` started since ``since``: a worker's crawls."""
        if not pids:
            return []
        query = select(Run).where(Run.host == host, Run.pid.in_(pids), Run.started_at >= since).order_by(Run.id)
        with self.sessions() as session:
            return list(session.scalars(query))

    # -- dispatches -------------------------------------------------------------------------------
    def add_dispatch(self, sites: list[str]) -> Dispatch:
        with self.sessions.begin() as session:
            dispatch = Dispatch(sites=sites, state="queued", attempt=1, created_at=_clock(session.connection()),
                                moves=[])
            session.add(dispatch)
        return dispatch

    def sent_dispatch(self, dispatch_id: int, attempt: int, broker_id: str | None) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(Dispatch).where(Dispatch.id == dispatch_id, Dispatch.attempt == attempt)
                         .values(sent_at=_clock(conn), broker_id=broker_id))

    def claim_dispatch(self, dispatch_id: int, attempt: int, worker: str) -> Dispatch | None:
        """The dispatch for ``worker`` if this is its current attempt and nobody took it; else None (a copy the
        broker delivered again, or one sent before the dispatch was handed on)."""
        with self.engine.begin() as conn:
            taken = conn.execute(update(Dispatch).where(Dispatch.id == dispatch_id, Dispatch.attempt == attempt,
                                                        Dispatch.state == "queued")
                                 .values(state="running", worker=worker, started_at=_clock(conn)))
            if taken.rowcount == 0:
                return None
        return self.dispatch(dispatch_id)

    def dispatch(self, dispatch_id: int) -> Dispatch | None:
        with self.sessions() as session:
            return session.get(Dispatch, dispatch_id)

    def dispatches(self, states: tuple[str, ...] | None = None, limit: int = 200) -> list[Dispatch]:
        query = select(Dispatch).order_by(Dispatch.id.desc()).limit(limit)
        if states:
            query = query.where(Dispatch.state.in_(states))
        with self.sessions() as session:
            return list(session.scalars(query))

    def dispatch_started(self, dispatch_id: int, attempt: int, pid: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(Dispatch).where(Dispatch.id == dispatch_id, Dispatch.attempt == attempt)
                         .values(pid=pid))

    def end_dispatch(self, dispatch_id: int, attempt: int, state: str, exit_code: int | None,
                     run_id: int | None) -> bool:
        """The crawl ended: ``done`` or ``failed``. False if the dispatch was handed on meanwhile."""
        with self.engine.begin() as conn:
            ended = conn.execute(update(Dispatch).where(Dispatch.id == dispatch_id, Dispatch.attempt == attempt,
                                                        Dispatch.state == "running")
                                 .values(state=state, exit_code=exit_code, run_id=run_id, ended_at=_clock(conn)))
            return ended.rowcount == 1

    def requeue_dispatch(self, dispatch: Dispatch, why: str) -> int | None:
        """Queued again under a new attempt (its worker died, or stopped before the crawl ended); returns the
        attempt to send, or None if it moved on meanwhile."""
        with self.sessions.begin() as session:
            now = _clock(session.connection())
            move = {"from": dispatch.worker, "at": isoformat(now), "why": why}
            again = session.execute(update(Dispatch).where(Dispatch.id == dispatch.id,
                                                           Dispatch.attempt == dispatch.attempt,
                                                           Dispatch.state.in_(("queued", "running")))
                                    .values(state="queued", attempt=dispatch.attempt + 1, worker=None, pid=None,
                                            started_at=None, sent_at=None, broker_id=None,
                                            moves=[*dispatch.moves, move]))
            if again.rowcount != 1:
                return None
            worker = session.get(Worker, dispatch.worker) if dispatch.worker else None
            if worker is not None and dispatch.pid:  # its crawl is gone: the next one goes on from its run
                _close_runs(session, worker.host, [dispatch.pid], now, why)
            return dispatch.attempt + 1

    def stray_dispatches(self, worker_timeout: timedelta = WORKER_TIMEOUT) -> list[tuple[Dispatch, str]]:
        """Running dispatches nobody runs any more, each with why: its worker stopped, died or is silent, or has
        not listed it among its crawls for ``worker_timeout`` (a claim whose crawl never started)."""
        with self.engine.connect() as conn:
            now = _clock(conn)
        workers = {worker.name: worker for worker in self.workers()}
        stray = []
        for dispatch in self.dispatches(("running",), limit=100_000):
            worker = workers.get(dispatch.worker or "")
            listed = worker is not None and any(c.get("dispatch") == dispatch.id for c in worker.crawls)
            if worker is None:
                stray.append((dispatch, f"worker {dispatch.worker} is unknown"))
            elif worker.state in WORKER_ENDED or worker.heartbeat_at < now - worker_timeout:
                stray.append((dispatch, f"worker {worker.name} {'stopped' if worker.state == 'stopped' else 'died'}"))
            elif not listed and dispatch.started_at is not None and dispatch.started_at < now - worker_timeout:
                stray.append((dispatch, f"worker {worker.name} does not run it"))
        return stray

    def dispatch_counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return dict(conn.execute(select(Dispatch.state, func.count()).group_by(Dispatch.state)).all())

    def open_dispatch_sites(self) -> set[str]:
        """Sites in a dispatch not yet ended: not handed out again."""
        return {site for dispatch in self.dispatches(("queued", "running"), limit=100_000) for site in dispatch.sites}


def _close_runs(session: Session, host: str, pids: list[int], now: datetime, why: str) -> None:
    """Runs left ``running`` by crawls that are gone: failed, saying why (the next crawl of their sites resumes)."""
    if pids:
        for run in session.scalars(select(Run).where(Run.status == "running", Run.host == host, Run.pid.in_(pids))):
            run.status, run.finished_at, run.stats = "failed", now, {**run.stats, "stopped": why}


def describe(row: Row) -> str:
    who = f"pid {row.pid} on {row.host}"
    return f"{who} (worker {row.worker})" if row.worker else who


def _clock(conn: Connection) -> datetime:
    return conn.scalar(select(database_now(conn.dialect.name)))


def _leases(conn: Connection, sites: list[str], lock: bool = False) -> dict[str, Row]:
    """The lease rows of ``sites`` (locked until the transaction ends: ``lock``)."""
    query = select(*SiteLease.__table__.c).where(SiteLease.site.in_(sites))
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return {row.site: row for row in conn.execute(query)}


def _dead_workers(conn: Connection, names: set[str], now: datetime, timeout: timedelta) -> set[str]:
    if not names:
        return set()
    query = select(Worker.name).where(Worker.name.in_(names),
                                      or_(Worker.state.in_(WORKER_ENDED), Worker.heartbeat_at < now - timeout))
    return set(conn.scalars(query))


def _free(row: Row, now: datetime, dead_workers: set[str], worker_timeout: timedelta) -> bool:
    """Expired; its worker dead and the lease not renewed since (a crawl cut off from its worker's heartbeat but
    still renewing keeps it); or its process seen gone on this very machine (same host name and boot)."""
    if row.expires_at <= now:
        return True
    if row.worker is not None and row.worker in dead_workers and row.renewed_at < now - worker_timeout:
        return True
    if row.host == socket.gethostname() and row.boot_id is not None and row.boot_id == boot_id():
        return not alive(row.pid)
    return False
