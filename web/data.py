"""What the pages and the API show, built once: the API returns these models, the pages render them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from typing import Annotated, Any

from fastapi import Query
from pydantic import BeforeValidator

from archive import overview
from archive.catalog import Run, isoformat, utcnow
from archive.runlogs import at_least, read_log
from archive.storage import StorageError
from crawler.registry import Site

from .models import (
    CoveragePage,
    CoverageRow,
    FailureGroupOut,
    FailureOut,
    FlagOut,
    LogLevel,
    LogLine,
    LogPage,
    RunOut,
    RunRefOut,
    SiteOut,
    SitesPage,
)
from .state import ArchiveState

#: A running run's figures are refreshed every few seconds; this long without is worth a look.
STALLED_SECONDS = 120
PAGE_SIZE = 100


def run_out(run: Run) -> RunOut:
    row: dict[str, Any] = run.as_dict()
    end = run.finished_at or (utcnow() if run.status == "running" else run.updated_at)
    row["seconds"] = (end - run.started_at).total_seconds() if end and run.started_at else None
    row["stalled"] = run.status == "running" and (
        run.updated_at is None or (utcnow() - run.updated_at).total_seconds() > STALLED_SECONDS)
    return RunOut.model_validate(row)


def runs(state: ArchiveState, site: str | None = None, status: str | None = None, limit: int = 100) -> list[RunOut]:
    state.end_dead_runs()
    return [run_out(run) for run in state.catalog.runs(site=site, status=status, limit=limit)]


def run(state: ArchiveState, run_id: int) -> RunOut | None:
    state.end_dead_runs()
    found = state.catalog.run(run_id)
    return run_out(found) if found else None


def _level(value: object) -> object:
    """``warning`` as the CLI accepts it; an empty form field is no filter."""
    return (value.upper() or None) if isinstance(value, str) else value


@dataclass
class LogFilter:
    """The log viewer's filters, the same for the page and the API."""

    level: Annotated[LogLevel | None, Query(description="this level and above"), BeforeValidator(_level)] = None
    site: str | None = Query(None, description="one site id")
    event: str | None = Query(None, description="archived, failed, started, ended, or a logger's name")
    text: str | None = Query(None, description="in the message, URL or reason (case ignored)")

    def matches(self) -> Callable[[dict[str, Any]], bool]:
        level = at_least(self.level) if self.level else (lambda _line: True)
        text = (self.text or "").casefold()

        def match(line: dict[str, Any]) -> bool:
            return (level(line) and (not self.site or line.get("site") == self.site)
                    and (not self.event or line.get("event") == self.event)
                    and (not text or any(text in str(line.get(k) or "").casefold()
                                         for k in ("message", "url", "reason"))))
        return match


def run_log(state: ArchiveState, found: RunOut, filters: LogFilter, offset: int = 0, limit: int = 500) -> LogPage:
    """Matching lines from line ``offset`` on; raises FileNotFoundError when the log is nowhere."""
    match, lines, position = filters.matches(), [], offset
    try:
        for position, line in enumerate(islice(read_log(state.config.home, state.store, found.id, found.log_sha256),
                                               offset, None), start=offset + 1):
            if match(line):
                lines.append(LogLine.model_validate(line))
                if len(lines) == limit:
                    return LogPage(run=found.id, lines=lines, next_offset=position, more=True)
    except StorageError as exc:
        raise FileNotFoundError(f"the log of run {found.id} cannot be read from object storage: {exc}") from exc
    return LogPage(run=found.id, lines=lines, next_offset=position, more=False)


@dataclass
class SiteFilter:
    """Which sites a page or API call is about: 2,850 rows need narrowing."""

    province: str | None = Query(None, description="e.g. 江西省")
    flagged: bool = Query(False, description="only sites with a coverage flag")
    q: str | None = Query(None, description="in the site id, name or prefecture")

    def select(self, state: ArchiveState, statuses: dict[str, overview.SiteStatus]) -> list[Site]:
        needle = (self.q or "").strip().casefold()
        return [site for site in state.registry.sites
                if (not self.province or site.province == self.province)
                and (not self.flagged or statuses[site.id].flags)
                and (not needle or any(needle in (v or "").casefold() for v in (site.id, site.name, site.prefecture)))]


def _flags(state: ArchiveState, status: overview.SiteStatus) -> list[FlagOut]:
    site = state.site(status.site)
    return [FlagOut(site=f.site, name=site and site.name, province=site and site.province, kind=f.kind,
                    detail=f.detail) for f in status.flags]


def _run_ref(ref: overview.RunRef | None) -> RunRefOut | None:
    return ref and RunRefOut(id=ref.id, status=ref.status, started_at=isoformat(ref.started_at),
                             finished_at=isoformat(ref.finished_at))


def _statuses(state: ArchiveState) -> dict[str, overview.SiteStatus]:
    return overview.site_status(state.catalog, state.site_ids(), state.today())


def sites(state: ArchiveState, filters: SiteFilter, offset: int = 0, limit: int = PAGE_SIZE) -> SitesPage:
    statuses, year = _statuses(state), overview.report_year(state.today())
    chosen = filters.select(state, statuses)
    rows = []
    for site in chosen[offset:offset + limit]:
        status = statuses[site.id]
        rows.append(SiteOut(id=site.id, name=site.name, province=site.province, prefecture=site.prefecture,
                            home=site.home, last_run=_run_ref(status.last_run),
                            last_success=isoformat(status.last_success), last_success_run=status.last_success_run,
                            reports=status.reports.get(year, 0),
                            reports_previous=status.reports.get(year - 1, 0), flags=_flags(state, status)))
    return SitesPage(report_year=year, total=len(chosen), offset=offset, limit=limit, sites=rows)


def coverage(state: ArchiveState, filters: SiteFilter, offset: int = 0, limit: int = PAGE_SIZE,
             since: int | None = None) -> CoveragePage:
    statuses, today = _statuses(state), state.today()
    archived = {year for status in statuses.values() for year in status.reports}
    every, years = overview.coverage_years(today, archived), overview.coverage_years(today, archived, since)
    chosen = filters.select(state, statuses)
    rows = [CoverageRow(id=site.id, name=site.name, province=site.province, prefecture=site.prefecture,
                        reports={y: statuses[site.id].reports.get(y, 0) for y in years},
                        flags=_flags(state, statuses[site.id]))
            for site in chosen[offset:offset + limit]]
    return CoveragePage(years=years, first_year=every[0], due_year=overview.due_year(today), total=len(chosen),
                        offset=offset, limit=limit, sites=rows)


def flags(state: ArchiveState) -> list[FlagOut]:
    return [flag for status in _statuses(state).values() for flag in _flags(state, status)]


def failures(state: ArchiveState, run_id: int | None = None, site: str | None = None,
             per_reason: int = 100) -> list[FailureGroupOut]:
    return [FailureGroupOut(reason=g.reason, count=g.count, sites=sorted(g.sites),
                            failures=[FailureOut.model_validate(f.as_dict()) for f in g.failures])
            for g in overview.failures_by_reason(state.catalog, run=run_id, site=site, per_reason=per_reason)]

