"""The catalog's reads: what the CLI, the dashboard, Memento and the next crawl ask of it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker, undefer
from w3lib.url import safe_url_string

from archive.urlkey import url_key

from .models import (
    GONE_STATUSES,
    PARSED_KINDS,
    Capture,
    DiscoveredList,
    Failure,
    FixityAudit,
    ParseRequest,
    ParseResult,
    Run,
    RunSite,
    UrlCheck,
    isoformat,
)

#: Runs a crawl was stopped in: what a resumed crawl goes on from.
INTERRUPTED = ("failed", "cancelled")
#: Bodies looked up at once (an IN list SQLite and PostgreSQL both take).
_CHUNK = 500


@dataclass
class ParsedReport:
    """A report (the newest capture with a body of a report URL) and what the parser read of it."""

    capture: Capture
    #: The result for its body; None while it waits for the parser.
    result: ParseResult | None
    #: Where its tables were read: the page's own result, or — a page that printed no cell — that of the
    #: attachment it wraps (Queries.parse_results says which), and that attachment's capture.
    source: ParseResult | None
    source_capture: Capture

    def parsed_first(self, name: str) -> Any:
        """``year`` or ``agency`` as the document says it (the tables' source, then the page's own result),
        else as the crawl judged it from the title and the list (``capture``): the document disposes."""
        for result in (self.source, self.result):
            if result is not None and result.state == "parsed" and getattr(result, name) is not None:
                return getattr(result, name)
        return getattr(self.capture, name)

    @property
    def year(self) -> int | None:
        return self.parsed_first("year")

    @property
    def agency(self) -> str | None:
        return self.parsed_first("agency")

    @property
    def wrapped(self) -> bool:
        """Its tables are an attachment's, not its own."""
        return self.source is not None and self.source is not self.result


class Queries:
    engine: Engine
    sessions: sessionmaker

    # -- runs -------------------------------------------------------------------------------
    def run(self, run_id: int) -> Run | None:
        with self.sessions() as session:
            return session.get(Run, run_id)

    def runs(self, site: str | None = None, status: str | None = None, limit: int | None = None) -> list[Run]:
        """Runs, newest first."""
        query = select(Run).order_by(Run.id.desc()).limit(limit)
        if site:
            query = query.where(Run.id.in_(select(RunSite.run_id).where(RunSite.site == site)))
        if status:
            query = query.where(Run.status == status)
        with self.sessions() as session:
            return list(session.scalars(query))

    def finished_runs(self, run_ids: Iterable[int | None]) -> set[int]:
        """Which of these runs ended ``finished``: what they fetched was followed to its end."""
        ids = {run_id for run_id in run_ids if run_id is not None}
        with self.sessions() as session:
            return set(session.scalars(select(Run.id).where(Run.id.in_(ids), Run.status == "finished")))

    def interrupted_runs(self, sites: list[str], since: datetime) -> dict[str, list[int]]:
        """Per site (those that have any), the runs stopped while crawling it since its last finished one,
        oldest first: ``failed`` or ``cancelled``, started at or after ``since``. A ``running`` run is
        someone else's (or about to be closed as failed) and neither counts nor ends the series."""
        query = (select(RunSite.site, Run.id, Run.status).join(Run, Run.id == RunSite.run_id)
                 .where(RunSite.site.in_(sites),
                        or_(Run.status == "finished", and_(Run.status.in_(INTERRUPTED), Run.started_at >= since)))
                 .order_by(Run.id))
        found: dict[str, list[int]] = {}
        with self.engine.connect() as conn:
            for site, run_id, status in conn.execute(query):
                if status == "finished":
                    found.pop(site, None)
                else:
                    found.setdefault(site, []).append(run_id)
        return found

    # -- captures ---------------------------------------------------------------------------
    def discovered_lists(self, site: str) -> list[str]:
        query = select(DiscoveredList.url).where(DiscoveredList.site == site).order_by(DiscoveredList.id)
        with self.sessions() as session:
            return list(session.scalars(query))

    def captures(self, site: str | None = None, year: int | None = None, kind: str | None = None,
                 run: int | None = None) -> Iterator[Capture]:
        query = select(Capture).order_by(Capture.id)
        if site:
            query = query.where(Capture.site == site)
        if year:
            query = query.where(Capture.year == year)
        if kind:
            query = query.where(Capture.kind == kind)
        if run:
            query = query.where(Capture.run_id == run)
        with self.sessions() as session:
            yield from session.scalars(query.execution_options(yield_per=500))

    def captures_of(self, url: str) -> list[Capture]:
        """Every capture of ``url`` as requested or as redirected to, oldest first, whatever variant of it was
        asked (http/https, ``www.``, host case, default port, #fragment: archive.urlkey)."""
        key = url_key(safe_url_string(url))  # 年报.pdf as typed, %E5%B9%B4%E6%8A%A5.pdf as crawled
        query = (select(Capture).where((Capture.url_key == key) | (Capture.final_url_key == key))
                 .order_by(Capture.fetched_at, Capture.id))
        with self.sessions() as session:
            return list(session.scalars(query))

    def held_captures(self, url: str) -> list[Capture]:
        """The captures of ``url`` that have a body to give (not a 404/410 that said it is gone), oldest first."""
        return [c for c in self.captures_of(url) if c.novelty != "gone"]

    def latest_capture(self, url: str) -> Capture | None:
        held = self.held_captures(url)
        return held[-1] if held else None

    def known_urls(self, sites: list[str]) -> dict[str, Capture]:
        """Each URL of these sites with a body in the archive, and its newest capture (what a recrawl asks after).

        Only the newest capture of each URL is read: weekly revisits add rows, not work here.
        """
        newest = select(func.max(Capture.id)).where(Capture.site.in_(sites)).group_by(Capture.url)
        known: dict[str, Capture] = {}
        with self.sessions() as session:
            for capture in session.scalars(select(Capture).where(Capture.id.in_(newest)).order_by(Capture.id)):
                if capture.novelty != "gone":
                    known[capture.url] = capture
                    known.setdefault(capture.final_url, capture)
        return known

    def replayable(self, runs_by_site: dict[str, list[int]]) -> dict[str, Capture]:
        """The newest list and report capture with a body (200, or a 304 that repeats one) of each URL (as
        requested) these runs fetched for these sites: the pages an interrupted crawl had read, which lead to the
        rest, read back from the archive by the crawl that goes on from it (crawler.downloadermiddlewares.replay)."""
        if not any(runs_by_site.values()):
            return {}
        newest = (select(func.max(Capture.id))
                  .where(Capture.kind.in_(("list", "report")), Capture.status.in_((200, 304)),
                         _fetched_by(runs_by_site))
                  .group_by(Capture.url))
        with self.sessions() as session:
            return {c.url: c for c in session.scalars(select(Capture).where(Capture.id.in_(newest)))}

    def recorded(self, runs_by_site: dict[str, list[int]]) -> set[tuple[str, str]]:
        """(URL as requested, sha256) of every capture these runs recorded for these sites: what a crawl going on
        from them fetches again (in flight when they died, or not read back: a POST) is not recorded twice."""
        if not any(runs_by_site.values()):
            return set()
        query = select(Capture.url, Capture.sha256).where(_fetched_by(runs_by_site))
        with self.engine.connect() as conn:
            return {(url, digest) for url, digest in conn.execute(query)}

    # -- the check schedule -----------------------------------------------------------------
    def next_checks(self, sites: list[str]) -> dict[str, datetime]:
        """URL (as requested) → when it is next due, for every report, attachment and page of these sites."""
        query = select(UrlCheck.url, UrlCheck.next_check_at).where(UrlCheck.site.in_(sites))
        with self.engine.connect() as conn:
            return {url: moment for url, moment in conn.execute(query)}

    def url_check(self, url: str) -> UrlCheck | None:
        """The check schedule of ``url`` (any variant of it, as captures_of), the most recently checked."""
        key = url_key(safe_url_string(url))
        query = select(UrlCheck).where(UrlCheck.url_key == key).order_by(UrlCheck.checked_at.desc()).limit(1)
        with self.sessions() as session:
            return session.scalar(query)

    # -- objects, audits, failures, the parse queue -----------------------------------------
    def objects(self) -> dict[str, int]:
        """Every object the catalog refers to (bodies and run logs), with its size when known."""
        with self.sessions() as session:
            found = {digest: size for digest, size in session.execute(
                select(Capture.sha256, func.max(Capture.size)).group_by(Capture.sha256))}
            for digest in session.scalars(select(Run.log_sha256).where(Run.log_sha256.is_not(None))):
                found.setdefault(digest, None)
        return found

    def referrers(self, sha256: str, limit: int = 20) -> list[dict[str, Any]]:
        """Who refers to an object: captures (site, URL, time) and runs whose log it is."""
        with self.sessions() as session:
            rows = [{"capture": c.id, "site": c.site, "url": c.url, "fetched_at": isoformat(c.fetched_at)}
                    for c in session.scalars(select(Capture).where(Capture.sha256 == sha256)
                                             .order_by(Capture.id).limit(limit))]
            rows += [{"run_log": run_id} for run_id in session.scalars(select(Run.id).where(Run.log_sha256 == sha256))]
        return rows

    def audits(self, limit: int = 20) -> list[FixityAudit]:
        with self.sessions() as session:
            return list(session.scalars(select(FixityAudit).order_by(FixityAudit.id.desc()).limit(limit)))

    def failures(self, run: int | None = None, site: str | None = None) -> list[Failure]:
        query = select(Failure).order_by(Failure.id)
        if run:
            query = query.where(Failure.run_id == run)
        if site:
            query = query.where(Failure.site == site)
        with self.sessions() as session:
            return list(session.scalars(query))

    def parse_queue(self, state: str | None = "pending") -> list[dict[str, Any]]:
        query = select(ParseRequest, Capture).join(Capture).order_by(ParseRequest.id)
        if state:
            query = query.where(ParseRequest.state == state)
        with self.sessions() as session:
            return [
                {"id": req.id, "capture": cap.id, "sha256": req.sha256, "state": req.state,
                 "enqueued_at": isoformat(req.enqueued_at), "claimed_by": req.claimed_by,
                 "claimed_at": isoformat(req.claimed_at), "attempts": req.attempts, "url": cap.url,
                 "site": cap.site, "kind": cap.kind, "content_type": cap.content_type, "year": cap.year,
                 "agency": cap.agency, "title": cap.title}
                for req, cap in session.execute(query)
            ]

    def parse_counts(self) -> dict[str, int]:
        """Requests by state (pending, parsing, done, failed)."""
        with self.engine.connect() as conn:
            return dict(conn.execute(select(ParseRequest.state, func.count()).group_by(ParseRequest.state)).all())

    def parse_result(self, sha256: str, parser_version: int | None = None) -> ParseResult | None:
        """The result for a body from that parser version (None: the newest version that read it), reading
        included."""
        query = select(ParseResult).options(undefer(ParseResult.reading)).where(ParseResult.sha256 == sha256)
        if parser_version is not None:
            query = query.where(ParseResult.parser_version == parser_version)
        with self.sessions() as session:
            return session.scalar(query.order_by(ParseResult.parser_version.desc()).limit(1))

    def captures_of_body(self, sha256: str, kinds: Iterable[str] = PARSED_KINDS) -> list[Capture]:
        """The captures (of these kinds) whose body is ``sha256``, oldest first."""
        query = select(Capture).where(Capture.sha256 == sha256, Capture.kind.in_(list(kinds))).order_by(Capture.id)
        with self.sessions() as session:
            return list(session.scalars(query))

    def parse_results(self, site: str | None = None, year: int | None = None, parser_version: int | None = None,
                      readings: bool = False) -> list[ParsedReport]:
        """Every report of ``site`` (and ``year``, as the document says it: ParsedReport.year), oldest first: its
        newest capture with a body, the result for that body (from ``parser_version``; None: each body's newest)
        and where its tables come from. What the export, the comparison and the dashboard list.

        ``readings``: load each result's reading too (cells, checks, sections); a list without them reads the
        summary columns only.
        """
        newest = select(func.max(Capture.id)).where(Capture.kind == "report", Capture.status.not_in(GONE_STATUSES))
        if site:
            newest = newest.where(Capture.site == site)
        with self.sessions() as session:
            captures = list(session.scalars(select(Capture).where(Capture.id.in_(newest.group_by(Capture.url)))
                                            .order_by(Capture.id)))
            reports = self._resolve(session, captures, parser_version, readings)
        return [r for r in reports if year is None or r.year == year]

    def parsed_report(self, capture: Capture, parser_version: int | None = None) -> ParsedReport:
        """One capture (a report, or an attachment) as parse_results gives a report, reading included."""
        with self.sessions() as session:
            return self._resolve(session, [capture], parser_version, True)[0]

    def _resolve(self, session: Any, captures: list[Capture], parser_version: int | None,
                 readings: bool) -> list[ParsedReport]:
        """Each capture's result, and where its tables come from, worked out now by one rule (results are
        recorded once and never rewritten, whatever order pages and attachments were parsed in).

        A report page whose result printed no cell (it only wraps its report) takes its tables from one of its
        attachments — captures of kind attachment whose referrer is the page's URL — whose result printed some:
        the one whose document's year is the page's year, else the newest capture of them.
        """
        results = self._results(session, {c.sha256 for c in captures}, parser_version, readings)
        wrappers = [c for c in captures if c.kind == "report" and (r := results.get(c.sha256)) is not None
                    and r.state == "parsed" and not r.cells_printed]
        wrapped = {c.id for c in wrappers}
        by_page: dict[str, list[Capture]] = {}
        for attachment in self._attachments_of({u for c in wrappers for u in (c.url, c.final_url) if u}, session):
            by_page.setdefault(attachment.referrer, []).append(attachment)
        attached = self._results(session, {a.sha256 for pages in by_page.values() for a in pages}, parser_version,
                                 readings)
        reports = []
        for capture in captures:
            result = results.get(capture.sha256)
            report = ParsedReport(capture, result, result, capture)
            if capture.id in wrapped:
                year = report.year
                tabled = [a for u in dict.fromkeys((capture.url, capture.final_url)) for a in by_page.get(u, [])
                          if (r := attached.get(a.sha256)) is not None and r.state == "parsed" and r.cells_printed]
                if tabled:
                    best = max(tabled, key=lambda a: (attached[a.sha256].year == year, a.fetched_at, a.id))
                    report = ParsedReport(capture, result, attached[best.sha256], best)
            reports.append(report)
        return reports

    @staticmethod
    def _results(session: Any, digests: set[str], parser_version: int | None,
                 readings: bool) -> dict[str, ParseResult]:
        found: dict[str, ParseResult] = {}
        ordered = sorted(digests)
        for start in range(0, len(ordered), _CHUNK):
            query = select(ParseResult).where(ParseResult.sha256.in_(ordered[start:start + _CHUNK]))
            if readings:
                query = query.options(undefer(ParseResult.reading))
            if parser_version is not None:
                query = query.where(ParseResult.parser_version == parser_version)
            for result in session.scalars(query.order_by(ParseResult.parser_version)):
                found[result.sha256] = result  # the newest version last
        return found

    @staticmethod
    def _attachments_of(pages: set[str], session: Any) -> list[Capture]:
        """Attachment captures with a body whose referrer is one of these pages, oldest first."""
        ordered = sorted(pages)
        found: list[Capture] = []
        for start in range(0, len(ordered), _CHUNK):
            found += session.scalars(select(Capture).where(Capture.referrer.in_(ordered[start:start + _CHUNK]),
                                                           Capture.kind == "attachment",
                                                           Capture.status.not_in(GONE_STATUSES)).order_by(Capture.id))
        return found

    def site_summary(self, run: int) -> dict[str, dict[str, int]]:
        """Per site: captures by kind and failures, for the end-of-crawl table."""
        summary: dict[str, dict[str, int]] = {}
        with self.sessions() as session:
            rows = session.execute(select(Capture.site, Capture.kind, func.count()).where(Capture.run_id == run)
                                   .group_by(Capture.site, Capture.kind))
            for site, kind, count in rows:
                summary.setdefault(site, {})[kind] = count
            rows = session.execute(select(Failure.site, func.count()).where(Failure.run_id == run)
                                   .group_by(Failure.site))
            for site, count in rows:
                summary.setdefault(site, {})["errors"] = count
        return summary


def _fetched_by(runs_by_site: dict[str, list[int]]) -> Any:
    """Captures these runs made for these sites (a site's runs only for it: a run may have crawled others)."""
    return or_(*(and_(Capture.site == site, Capture.run_id.in_(runs)) for site, runs in runs_by_site.items() if runs))
