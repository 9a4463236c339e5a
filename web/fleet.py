"""The fleet in the dashboard: ``/workers`` and its JSON twin ``/api/workers``.

Every figure is what the workers last wrote into the catalog (their heartbeats) and what the
scheduler recorded of the dispatches it handed out: the server talks to no broker and no worker,
so it shows a fleet it cannot reach, and a worker that stopped beating shows ``dead`` at once,
before the scheduler buries it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from archive.catalog import WORKER_TIMEOUT, Dispatch, isoformat

from . import pages
from .api import Limit
from .auth import require_session, require_token
from .state import ArchiveState, State

api = APIRouter(prefix="/api", tags=["fleet"], dependencies=[Depends(require_token)],
                responses={401: {"description": "no valid token"}})
router = APIRouter(include_in_schema=False, dependencies=[Depends(require_session)])

#: Hand-overs and dispatches the page shows (the API takes ``limit``).
PAGE_ROWS = 50
#: Worker states that take work: ``nianbao_worker_up`` is 1 for them.
UP_STATES = ("ready", "busy")


def worker_timeout(env: Mapping[str, str] | None = None) -> timedelta:
    """NIANBAO_WORKER_TIMEOUT as the scheduler reads it (scheduler.config), without importing Scrapy's settings.

    A value the scheduler would refuse (not a number, under 1 s) shows the default here: the scheduler, which
    refuses to start on it, is where it is said, and the dashboard stays readable meanwhile.
    """
    raw = (os.environ if env is None else env).get("NIANBAO_WORKER_TIMEOUT")
    try:
        seconds = float(raw) if raw else None
    except ValueError:
        seconds = None
    return timedelta(seconds=seconds) if seconds is not None and seconds >= 1 else WORKER_TIMEOUT


class CrawlOut(BaseModel):
    """A crawl a worker runs now."""

    model_config = ConfigDict(extra="allow")  # whatever a newer worker adds passes through
    dispatch: int | None = None
    pid: int | None = None
    sites: list[str] = Field(default_factory=list)


class WorkerOut(BaseModel):
    name: str
    host: str
    pid: int
    state: str = Field(description="starting, ready, busy, unhealthy, stopping, stopped or dead (a silent one)")
    reason: str | None = Field(description="why unhealthy, dead or stopped")
    started_at: str | None
    heartbeat_at: str | None
    heartbeat_age: float = Field(description="seconds since its last heartbeat, by the catalog's clock")
    slots: int = Field(description="crawls it runs at once")
    parsers: int = Field(description="parse processes it runs")
    crawls: list[CrawlOut]
    sites: list[str] = Field(description="the sites its current crawls have")
    requests: int = Field(description="requests its crawls made since it started")
    requests_per_s: float
    errors: int


class HandoverOut(BaseModel):
    """A dispatch moved off a worker that died or stopped before its crawl ended."""

    dispatch: int
    sites: list[str]
    from_: str | None = Field(alias="from", description="the worker it was on")
    at: str | None
    why: str | None
    state: str = Field(description="the dispatch's state now")
    now_on: str | None = Field(description="the worker it runs on now, if any")


class DispatchOut(BaseModel):
    """Sites handed out as one crawl."""

    id: int
    state: str = Field(description="queued, running, done or failed")
    attempt: int = Field(description="how often it was sent (more than one: handed on)")
    worker: str | None
    sites: list[str]
    created_at: str | None
    started_at: str | None
    ended_at: str | None
    exit_code: int | None
    run_id: int | None = Field(description="the run its crawl recorded")


class FleetOut(BaseModel):
    workers: list[WorkerOut]
    handovers: list[HandoverOut] = Field(description="newest first")
    dispatches: list[DispatchOut] = Field(description="newest first")


def dispatch_out(dispatch: Dispatch) -> DispatchOut:
    return DispatchOut(id=dispatch.id, state=dispatch.state, attempt=dispatch.attempt, worker=dispatch.worker,
                       sites=dispatch.sites, created_at=isoformat(dispatch.created_at),
                       started_at=isoformat(dispatch.started_at), ended_at=isoformat(dispatch.ended_at),
                       exit_code=dispatch.exit_code, run_id=dispatch.run_id)


def workers(state: ArchiveState) -> list[dict[str, Any]]:
    """The catalog's view of every worker, judged dead after NIANBAO_WORKER_TIMEOUT (shared with /metrics)."""
    return state.catalog.fleet(worker_timeout())


def fleet(state: ArchiveState, limit: int) -> FleetOut:
    return FleetOut(workers=[WorkerOut.model_validate(row) for row in workers(state)],
                    handovers=[HandoverOut.model_validate(row) for row in state.catalog.handovers(limit)],
                    dispatches=[dispatch_out(d) for d in state.catalog.dispatches(limit=limit)])


@api.get("/workers", response_model=FleetOut, summary="The fleet: workers, hand-overs, recent dispatches")
def get_workers(state: State, limit: Limit = 200) -> FleetOut:
    """``limit`` holds for the hand-overs and the dispatches each; every worker is listed."""
    return fleet(state, limit)


@router.get("/workers")
def workers_page(request: Request, state: State) -> Response:
    return pages.render(request, "workers.html", nav="workers", fleet=fleet(state, PAGE_ROWS), rows=PAGE_ROWS)
