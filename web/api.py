"""The JSON API under ``/api``: everything the dashboard shows, for scripts (OpenAPI at /openapi.json)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query
from pydantic import BeforeValidator

from . import data
from .auth import require_token
from .models import CoveragePage, FailureGroupOut, FlagOut, LogPage, RunOut, RunStatus, SitesPage
from .state import State

router = APIRouter(prefix="/api", tags=["api"], dependencies=[Depends(require_token)],
                   responses={401: {"description": "no valid token"}})


def found_run(state: State, run_id: int) -> RunOut:
    """The run named in the path, or 404 (shared by the API and the pages)."""
    found = data.run(state, run_id)
    if found is None:
        raise HTTPException(404, f"no run {run_id}")
    return found


FoundRun = Annotated[RunOut, Depends(found_run)]
LogFilters = Annotated[data.LogFilter, Depends()]
SiteFilters = Annotated[data.SiteFilter, Depends()]
Offset = Annotated[int, Query(ge=0, description="skip this many rows")]
#: A run number to filter by; the dashboard's form sends an empty one for "none".
RunNumber = Annotated[int | None, Query(description="only this run's failures"),
                      BeforeValidator(lambda value: None if value == "" else value)]
Limit = Annotated[int, Query(ge=1, le=5000, description="at most this many rows")]
#: The coverage grid's first column; the dashboard's form sends an empty one for "the earliest archived".
FromYear = Annotated[int | None, Query(alias="from", description="start the grid at this report year"),
                     BeforeValidator(lambda value: None if value == "" else value)]


@router.get("/runs", response_model=list[RunOut], summary="Runs, newest first")
def list_runs(state: State, site: Annotated[str | None, Query(description="only runs that crawled this site")] = None,
              status: RunStatus | None = None, limit: Limit = 100) -> list[RunOut]:
    return data.runs(state, site=site, status=status, limit=limit)


@router.get("/runs/{run_id}", response_model=RunOut, summary="A run and its figures",
            responses={404: {"description": "no such run"}})
def get_run(run: FoundRun) -> RunOut:
    return run


@router.get("/runs/{run_id}/log", response_model=LogPage, summary="A run's log lines, filtered",
            responses={404: {"description": "no such run, or its log is nowhere"}})
def get_run_log(state: State, run: FoundRun, filters: LogFilters,
                offset: Annotated[int, Query(ge=0, description="skip this many log lines (next_offset)")] = 0,
                limit: Limit = 500) -> LogPage:
    try:
        return data.run_log(state, run, filters, offset, limit)
    except FileNotFoundError as exc:
        raise HTTPException(404, str(exc)) from None


@router.get("/sites", response_model=SitesPage, summary="Per-site status: last run, last success, reports")
def list_sites(state: State, filters: SiteFilters, offset: Offset = 0, limit: Limit = data.PAGE_SIZE) -> SitesPage:
    return data.sites(state, filters, offset, limit)


@router.get("/failures", response_model=list[FailureGroupOut], summary="Failures grouped by reason, with URLs",
            description="Without run: the failures of each site's latest run (what is wrong now).")
def list_failures(state: State, run: RunNumber = None,
                  site: str | None = None,
                  per_reason: Annotated[int, Query(ge=1, le=10000, description="URLs kept per reason")] = 100,
                  ) -> list[FailureGroupOut]:
    return data.failures(state, run, site, per_reason)


@router.get("/coverage", response_model=CoveragePage, summary="Sites × report years: reports archived")
def get_coverage(state: State, filters: SiteFilters, offset: Offset = 0,
                 limit: Limit = data.PAGE_SIZE, since: FromYear = None) -> CoveragePage:
    return data.coverage(state, filters, offset, limit, since)


@router.get("/flags", response_model=list[FlagOut], summary="Coverage regressions: missing reports, failing crawls")
def list_flags(state: State) -> list[FlagOut]:
    return data.flags(state)
