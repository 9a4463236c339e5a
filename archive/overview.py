"""Read-side aggregates over the catalog: what the dashboard, its API and the metrics show.

Every figure here is one aggregate query over the whole catalog (never a query per site), so
the national registry's 2,850 sites cost the same few queries as one. The pages, the JSON API
and ``/metrics`` all call these functions, so they can never disagree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import BigInteger, cast, func, select

from archive.catalog import Capture, Catalog, Failure, ParseRequest, Run, RunSite
from archive.reasons import reason_class

#: Reports for year Y are due by 31 March of Y+1 (the county government's own; departments' by 31 January).
DEADLINE_MONTH, DEADLINE_DAY = 3, 31
#: A site whose last this many ended runs brought nothing is flagged as failing.
FAILING_RUNS = 3
#: Report years the coverage grid shows at least (ending with last year's), however little is archived.
COVERAGE_YEARS = 6


def due_year(today: date) -> int:
    """The latest report year whose deadline has passed on ``today``."""
    return today.year - 1 if today > date(today.year, DEADLINE_MONTH, DEADLINE_DAY) else today.year - 2


def report_year(today: date) -> int:
    """The report year being published this spring (due by its 31 March, or already past it)."""
    return today.year - 1


def coverage_years(today: date, archived: Iterable[int] = (), since: int | None = None) -> list[int]:
    """The grid's columns: every report year ``archived`` (a county's 2008 reports are coverage too) through the
    one being published this spring, and at least the last few; from ``since`` on when the grid gets too wide."""
    archived = list(archived)
    first = min([*archived, report_year(today) - COVERAGE_YEARS + 1])
    last = max([*archived, report_year(today)])
    if since is not None:
        first = max(first, min(since, last))  # narrows only: ?from=1 is not 2,000 empty columns
    return list(range(first, last + 1))


@dataclass(frozen=True)
class RunRef:
    id: int
    status: str
    started_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class Flag:
    """A coverage regression a person should look at: ``missing`` reports or ``failing`` crawls."""

    site: str
    kind: str
    detail: str


@dataclass
class SiteStatus:
    site: str
    last_run: RunRef | None = None
    #: When the site last gave the archive anything (its newest capture), and in which run.
    last_success: datetime | None = None
    last_success_run: int | None = None
    #: Distinct report URLs archived, by report year.
    reports: dict[int, int] = field(default_factory=dict)
    flags: list[Flag] = field(default_factory=list)


def report_counts(catalog: Catalog, years: Iterable[int] | None = None) -> dict[str, dict[int, int]]:
    """Site → report year → distinct report URLs archived (a re-crawl is not a second report)."""
    query = (select(Capture.site, Capture.year, func.count(Capture.url.distinct()))
             .where(Capture.kind == "report", Capture.year.is_not(None)).group_by(Capture.site, Capture.year))
    if years is not None:
        query = query.where(Capture.year.in_(list(years)))
    counts: dict[str, dict[int, int]] = {}
    with catalog.sessions() as session:
        for site, year, count in session.execute(query):
            counts.setdefault(site, {})[year] = count
    return counts


def recent_runs(catalog: Catalog, per_site: int = 10) -> dict[str, list[RunRef]]:
    """Site → its newest runs, newest first (one windowed query for every site)."""
    number = func.row_number().over(partition_by=RunSite.site, order_by=RunSite.run_id.desc()).label("n")
    ranked = select(RunSite.site, RunSite.run_id, number).subquery()
    query = (select(ranked.c.site, Run.id, Run.status, Run.started_at, Run.finished_at)
             .join(Run, Run.id == ranked.c.run_id).where(ranked.c.n <= per_site)
             .order_by(ranked.c.site, Run.id.desc()))
    runs: dict[str, list[RunRef]] = {}
    with catalog.sessions() as session:
        for site, run_id, status, started, finished in session.execute(query):
            runs.setdefault(site, []).append(RunRef(run_id, status, started, finished))
    return runs


def last_captures(catalog: Catalog) -> dict[str, tuple[int | None, datetime]]:
    """Site → (newest run that captured anything of it, time of its newest capture)."""
    query = select(Capture.site, func.max(Capture.run_id), func.max(Capture.fetched_at)).group_by(Capture.site)
    with catalog.sessions() as session:
        return {site: (run_id, at) for site, run_id, at in session.execute(query)}


def site_status(catalog: Catalog, sites: Iterable[str], today: date,
                failing_runs: int = FAILING_RUNS) -> dict[str, SiteStatus]:
    """Every site's last run, last success, reports by year and flags, in a few queries."""
    counts, runs, captured = report_counts(catalog), recent_runs(catalog, failing_runs + 5), last_captures(catalog)
    year = due_year(today)
    statuses: dict[str, SiteStatus] = {}
    for site in sites:
        status = statuses[site] = SiteStatus(site, reports=counts.get(site, {}))
        site_runs = runs.get(site, [])
        status.last_run = site_runs[0] if site_runs else None
        status.last_success_run, status.last_success = captured.get(site, (None, None))
        if status.reports.get(year - 1) and not status.reports.get(year):
            status.flags.append(Flag(site, "missing", f"reports for {year - 1} but none for {year}, "
                                                      f"due by {date(year + 1, DEADLINE_MONTH, DEADLINE_DAY)}"))
        ended = [r for r in site_runs if r.status in ("finished", "failed")][:failing_runs]
        if len(ended) == failing_runs and (status.last_success_run or 0) < ended[-1].id:
            status.flags.append(Flag(site, "failing", f"its last {failing_runs} runs brought nothing "
                                                      f"(runs {', '.join(str(r.id) for r in ended)})"))
    return statuses


def flags(catalog: Catalog, sites: Iterable[str], today: date) -> list[Flag]:
    return [flag for status in site_status(catalog, sites, today).values() for flag in status.flags]


@dataclass
class FailureGroup:
    """Failures that share a reason class (``HTTP 404``, ``timed out`` …), newest first."""

    reason: str
    count: int = 0
    sites: set[str] = field(default_factory=set)
    failures: list[Failure] = field(default_factory=list)


def failures_by_reason(catalog: Catalog, run: int | None = None, site: str | None = None,
                       per_reason: int = 100) -> list[FailureGroup]:
    """Failures grouped by reason, largest group first, at most ``per_reason`` URLs kept per group.

    Without ``run``: the failures of each site's latest run — what is wrong now, not every
    failure since the archive began.
    """
    query = select(Failure).order_by(Failure.id.desc())
    if run is not None:
        query = query.where(Failure.run_id == run)
    else:
        latest = select(RunSite.site, func.max(RunSite.run_id).label("run_id")).group_by(RunSite.site).subquery()
        query = query.join(latest, (latest.c.site == Failure.site) & (latest.c.run_id == Failure.run_id))
    if site:
        query = query.where(Failure.site == site)
    groups: dict[str, FailureGroup] = {}
    with catalog.sessions() as session:
        for failure in session.scalars(query.execution_options(yield_per=1000)):
            reason = reason_class(failure.reason)
            group = groups.setdefault(reason, FailureGroup(reason))
            group.count += 1
            group.sites.add(failure.site)
            if len(group.failures) < per_reason:
                group.failures.append(failure)
    return sorted(groups.values(), key=lambda g: (-g.count, g.reason))


@dataclass
class Totals:
    """Archive-wide figures; requests and bytes are sums over every run's figures (a running run's so far)."""

    runs: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    bytes_stored: int = 0
    objects_stored: int = 0
    #: Every failure recorded, by reason class (the same failures the runs counted as errors).
    errors_by_reason: dict[str, int] = field(default_factory=dict)
    parse_queue: int = 0
    reports_by_year: dict[int | None, int] = field(default_factory=dict)
    last_finished: datetime | None = None


def totals(catalog: Catalog) -> Totals:
    """Summed in the database (JSON fields included): a few springs of 2,850 sites are 100,000s of runs."""
    result = Totals()
    sums = [func.coalesce(func.sum(cast(Run.stats[name].as_string(), BigInteger)), 0)  # bytes pass 2**31
            for name in ("requests", "bytes_stored", "objects_stored")]
    with catalog.sessions() as session:
        result.runs = dict(session.execute(select(Run.status, func.count()).group_by(Run.status)).all())
        result.requests, result.bytes_stored, result.objects_stored = map(int, session.execute(select(*sums)).one())
        for reason, count in session.execute(select(Failure.reason, func.count()).group_by(Failure.reason)):
            key = reason_class(reason)
            result.errors_by_reason[key] = result.errors_by_reason.get(key, 0) + count
        result.parse_queue = session.scalar(select(func.count()).select_from(ParseRequest)
                                            .where(ParseRequest.state == "pending")) or 0
        result.reports_by_year = dict(session.execute(
            select(Capture.year, func.count(Capture.url.distinct())).where(Capture.kind == "report")
            .group_by(Capture.year)).all())
        result.last_finished = session.scalar(select(func.max(Run.finished_at)))
    return result
