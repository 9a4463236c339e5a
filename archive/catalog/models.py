"""The catalog's tables as the code sees them: the schema at the head revision (see migrations/).

A change here is a change of schema: it goes with a new revision in ``migrations/versions/``
(tests/test_migrations.py checks that the migrated database and these models agree).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from archive.headers import pairs as header_pairs

#: Kinds of capture whose bodies go on to parsing; list pages are kept but not parsed.
PARSED_KINDS = frozenset({"report", "attachment"})
#: Answers that say a page seen before is no more: recorded as a capture whose novelty is ``gone``.
GONE_STATUSES = (404, 410)
#: A run's status: ``running`` until it ends as one of the others.
RUN_STATUSES = ("running", "finished", "failed", "cancelled")
#: A parse request's state: ``pending`` until a worker claims it (``parsing``), then ``done`` or ``failed``
#: (final until ``nianbao parse run --reparse``).
PARSE_STATES = ("pending", "parsing", "done", "failed")
#: Claims of one request (each worker that took it) before it is failed: a body storage keeps refusing to give
#: (permission denied, an unreadable disk) would otherwise be claimed first by every run, and stop each.
PARSE_ATTEMPTS = 3


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def isoformat(moment: datetime | None) -> str | None:
    """UTC timestamps as printed everywhere: ``2024-03-01T08:00:00.123456Z``."""
    return None if moment is None else moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_moment(text: str) -> datetime:
    """A moment as people and the CLI write it (``2023-03-01``, ``2023-03-01T08:00:00``, with ``Z`` or
    an offset, the microseconds ``history`` prints), as naive UTC like the catalog's timestamps."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        raise ValueError(f"{text!r} is not a time: use 2023-03-01 or 2023-03-01T08:00:00Z") from None
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON}


class Run(Base):
    """One crawl, by hand or scheduled, with its figures (stats, see crawler.runfigures)."""

    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    trigger: Mapped[str] = mapped_column(String(32), default="manual")
    sites: Mapped[list[str]] = mapped_column(default=list)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16), default="running", index=True)
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: When stats were last written: a running run's figures are refreshed as it goes.
    updated_at: Mapped[datetime | None] = mapped_column(DateTime)
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer)
    #: The run's JSON-lines log, stored in object storage when the run ended.
    log_sha256: Mapped[str | None] = mapped_column(String(64))

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "trigger": self.trigger, "sites": self.sites, "status": self.status,
                "started_at": isoformat(self.started_at), "finished_at": isoformat(self.finished_at),
                "updated_at": isoformat(self.updated_at), "host": self.host, "pid": self.pid,
                "log_sha256": self.log_sha256, "stats": self.stats}


class RunSite(Base):
    """Which sites a run crawled: the per-site view (last run, last success) without reading JSON."""

    __tablename__ = "run_sites"
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), primary_key=True)
    site: Mapped[str] = mapped_column(String(64), primary_key=True, index=True)


class Capture(Base):
    __tablename__ = "captures"
    __table_args__ = (Index("ix_captures_site_kind_year", "site", "kind", "year"),)  # coverage, documents
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"), index=True)
    site: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(Text, index=True)
    final_url: Mapped[str] = mapped_column(Text, index=True)  # a URL is looked up as requested or redirected to
    #: ``url`` and ``final_url`` as archive.urlkey keys them (SURT: scheme, ``www.``, host case, default
    #: port and fragment aside): what lookups and Memento match. Nullable only so that old rows could be
    #: backfilled in place; every row has them (revision 0002).
    url_key: Mapped[str | None] = mapped_column(Text, index=True)
    final_url_key: Mapped[str | None] = mapped_column(Text, index=True)
    method: Mapped[str] = mapped_column(String(8), default="GET")
    status: Mapped[int] = mapped_column(Integer)
    #: What the status line said of the protocol (``HTTP/1.1``); the reason phrase is not kept.
    protocol: Mapped[str | None] = mapped_column(String(32))
    #: The headers as received, in order, repeats apart (the stored form: see archive.headers;
    #: rows from before it hold a dict of name → joined value, read alike and never rewritten).
    headers: Mapped[Any] = mapped_column(JSON, default=list)
    fetched_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(Text)  # servers send anything: no length to overflow
    referrer: Mapped[str | None] = mapped_column(Text)
    year: Mapped[int | None] = mapped_column(Integer, index=True)
    agency: Mapped[str | None] = mapped_column(Text)
    agency_kind: Mapped[str | None] = mapped_column(String(16))
    title: Mapped[str | None] = mapped_column(Text)
    filename: Mapped[str | None] = mapped_column(Text)
    #: Where the year came from: ``title``, ``document`` (its heading, 统计期限) or ``published`` (date − 1).
    year_source: Mapped[str | None] = mapped_column(String(16))
    #: Why it is (or, kind ``page``, is not) a report: the judge's words (crawler.judge).
    judgement: Mapped[str | None] = mapped_column(Text)
    #: ``new`` (URL first captured), ``changed`` (a body not seen at this URL before), ``same`` (a
    #: revisit: the body was captured here before) or ``gone`` (404/410 where there was a page).
    novelty: Mapped[str | None] = mapped_column(String(8))

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "url": self.url,
            "final_url": self.final_url,
            "method": self.method,
            "status": self.status,
            "protocol": self.protocol,
            "headers": [list(pair) for pair in header_pairs(self.headers)],
            "sha256": self.sha256,
            "size": self.size,
            "content_type": self.content_type,
            "kind": self.kind,
            "site": self.site,
            "year": self.year,
            "year_source": self.year_source,
            "agency": self.agency,
            "agency_kind": self.agency_kind,
            "title": self.title,
            "filename": self.filename,
            "judgement": self.judgement,
            "referrer": self.referrer,
            "fetched_at": isoformat(self.fetched_at),
            "run": self.run_id,
            "novelty": self.novelty,
        }


class UrlCheck(Base):
    """When a report, attachment or page was last asked after, and when to ask again (see RecheckPolicy).

    One row per (site, URL as requested) of every capture not of kind ``list`` (lists are read every
    round); written with the captures, in their transaction.
    """

    __tablename__ = "url_checks"
    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(Text, primary_key=True)
    url_key: Mapped[str] = mapped_column(Text, index=True)
    kind: Mapped[str] = mapped_column(String(16))
    #: The last capture's time, and the last time it gave a new or changed body.
    checked_at: Mapped[datetime] = mapped_column(DateTime)
    changed_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: Seconds from ``checked_at`` to ``next_check_at``: doubled while unchanged, back to the first after a change.
    interval: Mapped[int] = mapped_column(Integer)
    next_check_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class Failure(Base):
    """A URL that could not be archived, with a reason a person can act on."""

    __tablename__ = "failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"), index=True)
    site: Mapped[str] = mapped_column(String(64), index=True)
    url: Mapped[str] = mapped_column(Text)
    kind: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    def as_dict(self) -> dict[str, Any]:
        return {"site": self.site, "url": self.url, "kind": self.kind, "reason": self.reason,
                "at": isoformat(self.at), "run": self.run_id}


class ParseRequest(Base):
    """Outbox of bodies waiting for the parser; written with the capture it names (states: PARSE_STATES)."""

    __tablename__ = "parse_queue"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    capture_id: Mapped[int] = mapped_column(ForeignKey("captures.id"), unique=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    enqueued_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    #: The worker (``host:pid``) that took it, and when: a claim older than the lease is a dead worker's, taken again.
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    #: The database's clock, never a worker's: workers on machines whose clocks differ judge one lease.
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime)
    #: Claims so far that did not end in a result (see PARSE_ATTEMPTS); a worker stopped by hand gives its back.
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    capture: Mapped[Capture] = relationship()


class ParseResult(Base):
    """What one parser version read in one body: recorded once per (sha256, parser_version), whatever URLs
    the body was captured under; ``failed`` (with ``error``) for a body no reader could open."""

    __tablename__ = "parse_results"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    parser_version: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String(16))  # parsed | failed
    error: Mapped[str | None] = mapped_column(Text)
    format: Mapped[str | None] = mapped_column(String(16))
    template: Mapped[str | None] = mapped_column(String(8))
    year: Mapped[int | None] = mapped_column(Integer)
    agency: Mapped[str | None] = mapped_column(Text)
    #: Every check that ran passed (None for a failed parse, or when no check could run: blank tables).
    passed: Mapped[bool | None] = mapped_column(Boolean)
    #: What lists show, kept beside the reading so that a list never loads readings (parsing.reading.check_summary;
    #: None for a failed parse): checks passed, the names of those failed, checks skipped (cells blank), and the
    #: cells printed (0: no table was read — a page that only wraps its report, see Queries.parse_results).
    checks_passed: Mapped[int | None] = mapped_column(Integer)
    checks_failed: Mapped[list[str] | None] = mapped_column(JSON)
    checks_skipped: Mapped[int | None] = mapped_column(Integer)
    cells_printed: Mapped[int | None] = mapped_column(Integer)
    #: parsing.reading.Reading.to_json(): sections, cells, sources, checks, notes, confidence. Deferred: loaded
    #: only where asked for (``undefer``), the sections' text being most of a row.
    reading: Mapped[dict[str, Any] | None] = mapped_column(JSON, deferred=True)
    parsed_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    seconds: Mapped[float] = mapped_column(Float)

    @property
    def cells(self) -> dict[str, Any]:
        return (self.reading or {}).get("cells") or {}

    def as_dict(self) -> dict[str, Any]:
        return {"sha256": self.sha256, "parser_version": self.parser_version, "state": self.state,
                "error": self.error, "format": self.format, "template": self.template, "year": self.year,
                "agency": self.agency, "passed": self.passed, "checks_passed": self.checks_passed,
                "checks_failed": self.checks_failed, "checks_skipped": self.checks_skipped,
                "cells_printed": self.cells_printed, "parsed_at": isoformat(self.parsed_at), "seconds": self.seconds,
                "reading": self.reading}


class DiscoveredList(Base):
    """A report list found from a site's home page: where the next crawl of that site starts."""

    __tablename__ = "discovered_lists"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    site: Mapped[str] = mapped_column(String(64), index=True)
    url: Mapped[str] = mapped_column(Text)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    found_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class FixityAudit(Base):
    """One ``archive verify``: how many objects were re-read and re-hashed, and what was wrong."""

    __tablename__ = "fixity_audits"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime] = mapped_column(DateTime)
    storage: Mapped[str] = mapped_column(Text)
    sample: Mapped[int | None] = mapped_column(Integer)
    checked: Mapped[int] = mapped_column(Integer)
    missing: Mapped[int] = mapped_column(Integer)
    corrupt: Mapped[int] = mapped_column(Integer)
    unreadable: Mapped[int] = mapped_column(Integer)
    problems: Mapped[list[Any]] = mapped_column(JSON, default=list)


class SiteLease(Base):
    """Who crawls a site now: one crawl of a site at a time across every machine on this catalog.

    Held by one crawl process (``holder``: host/pid), renewed while it lives, and free once ``expires_at``
    passes on the database's clock, its process is seen gone on its own host, or its worker stopped beating.
    """

    __tablename__ = "site_leases"
    site: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(255))
    host: Mapped[str] = mapped_column(String(255))
    boot_id: Mapped[str | None] = mapped_column(String(64))
    pid: Mapped[int] = mapped_column(Integer)
    worker: Mapped[str | None] = mapped_column(String(255), index=True)
    acquired_at: Mapped[datetime] = mapped_column(DateTime)
    renewed_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime] = mapped_column(DateTime)


class Worker(Base):
    """A ``nianbao worker`` as it last said (its heartbeat): the fleet the dashboard shows."""

    __tablename__ = "workers"
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    #: starting | ready | busy | unhealthy | stopping | stopped | dead
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)  # why unhealthy, dead or stopped
    slots: Mapped[int] = mapped_column(Integer, default=1)
    #: The crawls it runs now: [{"dispatch": id, "pid": crawl pid, "sites": [...]}].
    crawls: Mapped[list[Any]] = mapped_column(JSON, default=list)
    requests: Mapped[int] = mapped_column(Integer, default=0)  # since it started
    errors: Mapped[int] = mapped_column(Integer, default=0)
    requests_per_s: Mapped[float] = mapped_column(Float, default=0.0)
    parsers: Mapped[int] = mapped_column(Integer, default=0)  # parse processes it runs


#: A dispatch's state: ``queued`` (sent to the engine), ``running`` (a worker's crawl), then ``done`` or ``failed``.
DISPATCH_STATES = ("queued", "running", "done", "failed")


class Dispatch(Base):
    """Sites handed to the engine as one crawl (a Celery task): the catalog's record of it, which the broker may
    forget (a Redis restart) and the scheduler sends again from."""

    __tablename__ = "dispatches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sites: Mapped[list[str]] = mapped_column(default=list)
    state: Mapped[str] = mapped_column(String(16), default="queued", index=True)
    #: Each sending counts one; a worker runs only the current attempt's message (older copies are dropped).
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    broker_id: Mapped[str | None] = mapped_column(String(64))  # the broker instance it was sent to (Redis run_id)
    worker: Mapped[str | None] = mapped_column(String(255), index=True)
    pid: Mapped[int | None] = mapped_column(Integer)  # the worker's crawl process
    started_at: Mapped[datetime | None] = mapped_column(DateTime)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    run_id: Mapped[int | None] = mapped_column(Integer)
    #: Hand-overs: [{"from": worker, "at": iso time, "why": ...}], oldest first.
    moves: Mapped[list[Any]] = mapped_column(JSON, default=list)
