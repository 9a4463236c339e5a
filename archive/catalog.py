"""The catalog: what was fetched, when, from where, and where its bytes are.

SQLAlchemy, so the embedded default (SQLite) and a shared PostgreSQL behave alike. A capture
row is written only after its body was stored and verified, and its parse request (the outbox)
is written in the same transaction: the queue never names a capture that is not committed.
"""

from __future__ import annotations

import os
import socket
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    create_engine,
    event,
    func,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, ProgrammingError, SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, sessionmaker
from w3lib.url import safe_url_string

from archive.headers import pairs as header_pairs
from nianbao.config import ARCHIVE_TIMEOUT, redact
from nianbao.processes import alive

#: Kinds of capture whose bodies go on to parsing; list pages are kept but not parsed.
PARSED_KINDS = frozenset({"report", "attachment"})
#: Answers that say a page seen before is no more: recorded as a capture whose novelty is ``gone``.
GONE_STATUSES = (404, 410)


class CatalogError(RuntimeError):
    """The catalog database cannot be opened or written."""


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


#: A run's status: ``running`` until it ends as one of the others.
RUN_STATUSES = ("running", "finished", "failed", "cancelled")


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
    """Outbox of bodies waiting for the parser; written with the capture it names."""

    __tablename__ = "parse_queue"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    capture_id: Mapped[int] = mapped_column(ForeignKey("captures.id"), unique=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    enqueued_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    capture: Mapped[Capture] = relationship()


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


class Catalog:
    def __init__(self, url: str, create: bool = True, timeout: float = ARCHIVE_TIMEOUT) -> None:
        """Open the catalog at ``url``; ``create=False`` (read-only commands) refuses to make a new one.

        A database server is given ``timeout`` seconds to accept and answer a connection (libpq's
        connect_timeout covers the whole start-up), and a connection whose packets go unacknowledged
        that long is dropped: a port that accepts and never answers is an error, not a hang.
        """
        self.url, self.timeout = url, timeout
        try:
            options: dict[str, Any] = {}
            if make_url(url).get_backend_name() == "postgresql":
                options["connect_args"] = {"connect_timeout": max(1, round(timeout)),
                                           "tcp_user_timeout": int(timeout * 1000)}
            # hide_parameters: bodies' metadata stays out of errors
            self.engine: Engine = create_engine(url, hide_parameters=True, **options)
        except (ArgumentError, ImportError, ValueError) as exc:
            raise CatalogError(f"NIANBAO_CATALOG: cannot use {_safe(url)!r}: {exc}") from exc
        if self.engine.dialect.name == "sqlite":
            database = self.engine.url.database
            if not database or database == ":memory:":
                raise CatalogError(f"NIANBAO_CATALOG={url!r}: an in-memory SQLite catalog would keep nothing")
            if not create and not Path(database).is_file():
                raise CatalogError(f"no archive catalog at {database} (is NIANBAO_HOME right?)")
            event.listen(self.engine, "connect", _sqlite_pragmas)
            _ensure_dir(Path(database).parent)
        try:
            if create:
                self._create_tables()
            elif not inspect(self.engine).has_table(Capture.__tablename__):
                raise CatalogError(f"no archive catalog in {_safe(url)} (nothing was crawled into it)")
        except SQLAlchemyError as exc:
            if "timeout expired" in str(exc):  # libpq's words for connect_timeout
                where = f"{self.engine.url.host}:{self.engine.url.port or 5432}"
                raise CatalogError(f"catalog database {where} did not answer within {timeout:g} s "
                                   "(NIANBAO_ARCHIVE_TIMEOUT)") from None
            raise CatalogError(f"cannot open catalog {_safe(url)}: {getattr(exc, 'orig', None) or exc}") from exc
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def _create_tables(self) -> None:
        had_runs_only = inspect(self.engine).has_table(Run.__tablename__) and not inspect(self.engine).has_table(
            RunSite.__tablename__)
        try:
            Base.metadata.create_all(self.engine)
        except OperationalError as exc:
            if "already exists" not in str(exc):
                raise
            Base.metadata.create_all(self.engine)  # another process created them at the same moment
        self._add_new_columns()
        if had_runs_only:  # a catalog from before run_sites: its runs' sites, for the per-site views
            with self.engine.begin() as conn:
                rows = [{"run_id": run_id, "site": site} for run_id, sites in conn.execute(select(Run.id, Run.sites))
                        for site in set(sites or [])]
                if rows:
                    conn.execute(insert(RunSite), rows)

    def _add_new_columns(self) -> None:
        """Columns and indexes added since a catalog was created, added to it (columns nullable: no data moves)."""
        inspector = inspect(self.engine)
        for table in Base.metadata.sorted_tables:
            present = {c["name"] for c in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name not in present and column.nullable:
                    kind = column.type.compile(dialect=self.engine.dialect)
                    try:
                        with self.engine.begin() as conn:
                            conn.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}")
                    except (OperationalError, ProgrammingError) as exc:
                        if "duplicate" not in str(exc).lower() and "already exists" not in str(exc).lower():
                            raise  # another process added it at the same moment: fine; anything else is not
            indexed = {index["name"] for index in inspector.get_indexes(table.name)}
            for index in table.indexes:
                if index.name not in indexed:
                    index.create(self.engine, checkfirst=True)

    # -- runs -------------------------------------------------------------------------------
    def start_run(self, sites: list[str], trigger: str = "manual") -> int:
        with self.sessions.begin() as session:
            run = Run(sites=sites, trigger=trigger, host=socket.gethostname(), pid=os.getpid(), updated_at=utcnow())
            session.add(run)
            session.flush()
            session.add_all(RunSite(run_id=run.id, site=site) for site in sites)
            return run.id

    def update_run(self, run_id: int, stats: dict[str, Any]) -> None:
        """A running run's figures so far (live progress)."""
        with self.sessions.begin() as session:
            session.execute(update(Run).where(Run.id == run_id).values(stats=stats, updated_at=utcnow()))

    def finish_run(self, run_id: int, status: str, stats: dict[str, Any], log_sha256: str | None = None) -> None:
        with self.sessions.begin() as session:
            run = session.get(Run, run_id)
            run.status, run.stats, run.log_sha256 = status, stats, log_sha256
            run.finished_at = run.updated_at = utcnow()

    def close_open_run(self, run_id: int | None, why: str) -> None:
        """A run its crawl never closed (a signal while Scrapy was starting): cancelled, saying why."""
        with self.sessions.begin() as session:
            run = session.get(Run, run_id) if run_id else None
            if run is not None and run.status == "running":
                run.status, run.finished_at, run.stats = "cancelled", utcnow(), {**run.stats, "stopped": why}

    def set_run_log(self, run_id: int, log_sha256: str) -> None:
        """The stored log of a run that ended without storing its own (stopped hard, or killed)."""
        with self.sessions.begin() as session:
            session.execute(update(Run).where(Run.id == run_id, Run.log_sha256.is_(None)).values(log_sha256=log_sha256))

    def end_dead_runs(self) -> list[int]:
        """Runs left ``running`` by a crawl process of this host that is gone (killed, machine reset): failed."""
        host, ended = socket.gethostname(), []
        with self.sessions.begin() as session:
            for run in session.scalars(select(Run).where(Run.status == "running", Run.host == host)):
                if run.pid is not None and not alive(run.pid):
                    run.status, run.finished_at = "failed", utcnow()
                    run.stats = {**run.stats, "stopped": f"the crawl process ({run.pid}) ended without closing the run"}
                    ended.append(run.id)
        return ended

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

    # -- writing ----------------------------------------------------------------------------
    def record(self, captures: Iterable[dict[str, Any]] = (),
               failures: Iterable[dict[str, Any]] = ()) -> Counter[str]:
        """Commit captures, their parse requests and failures in one transaction; count what is new.

        Rows are plain dicts of column values, inserted in bulk (one statement per table): the
        crawl records a row per body, and ORM objects would cost more than the fetch. A body
        already queued once (the same report crawled again) is not queued again: the parser's
        result for those bytes stands. Returns counts by ``new/KIND`` (a URL first captured) and
        ``changed/KIND`` (a body not seen at its URL before), and of ``new_bodies`` and
        ``new_bytes`` the archive did not hold before.
        """
        captures, failures = list(captures), list(failures)
        now = utcnow()
        counts: Counter[str] = Counter()
        with self.engine.begin() as conn:
            if captures:
                self._mark_novelty(conn, captures, counts)
                ids = conn.execute(insert(Capture).returning(Capture.id, sort_by_parameter_order=True),
                                   captures).scalars().all()
                parsed = {c["sha256"] for c in captures if _parsed(c)}
                queued = set(conn.scalars(select(ParseRequest.sha256).where(ParseRequest.sha256.in_(parsed))))
                requests = []
                for capture_id, capture in zip(ids, captures, strict=True):
                    if _parsed(capture) and capture["sha256"] not in queued:
                        queued.add(capture["sha256"])
                        requests.append({"capture_id": capture_id, "sha256": capture["sha256"],
                                         "state": "pending", "enqueued_at": now})
                if requests:
                    conn.execute(insert(ParseRequest), requests)
            if failures:
                conn.execute(insert(Failure), [{"at": now, **f} for f in failures])
        return counts

    @staticmethod
    def _mark_novelty(conn: Any, captures: list[dict[str, Any]], counts: Counter[str]) -> None:
        """Set each row's ``novelty`` against what the catalog holds, and count what is new."""
        urls = {c["url"] for c in captures}
        seen: dict[str, set[str]] = {}
        query = select(Capture.url, Capture.sha256).where(Capture.url.in_(urls), Capture.status.not_in(GONE_STATUSES))
        for url, digest in conn.execute(query):
            seen.setdefault(url, set()).add(digest)
        digests = {c["sha256"] for c in captures}
        stored = set(conn.scalars(select(Capture.sha256).where(Capture.sha256.in_(digests)).distinct()))
        for capture in captures:
            bodies = seen.setdefault(capture["url"], set())
            if capture["status"] in GONE_STATUSES:  # the page went away; what it held before stays
                capture["novelty"] = "gone"
                counts[f"gone/{capture['kind']}"] += 1
                continue
            capture["novelty"] = "same" if capture["sha256"] in bodies else "changed" if bodies else "new"
            bodies.add(capture["sha256"])
            if capture["novelty"] != "same":
                counts[f"{capture['novelty']}/{capture['kind']}"] += 1
            if capture["sha256"] not in stored:
                stored.add(capture["sha256"])
                counts["new_bodies"] += 1
                counts["new_bytes"] += capture["size"]

    def record_list(self, site: str, url: str, run_id: int | None) -> None:
        with self.sessions.begin() as session:
            known = session.scalar(select(DiscoveredList.id).where(DiscoveredList.site == site,
                                                                   DiscoveredList.url == url))
            if known is None:
                session.add(DiscoveredList(site=site, url=url, run_id=run_id))

    # -- reading ----------------------------------------------------------------------------
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
        """Every capture of ``url`` as requested or as redirected to (host case and #fragment aside), oldest first."""
        url = safe_url_string(url)  # 年报.pdf as typed, %E5%B9%B4%E6%8A%A5.pdf as crawled
        variants = {url, _plain_url(url)}
        query = (select(Capture).where(Capture.url.in_(variants) | Capture.final_url.in_(variants))
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

    def finished_runs(self, run_ids: Iterable[int | None]) -> set[int]:
        """Which of these runs ended ``finished``: what they fetched was followed to its end."""
        ids = {run_id for run_id in run_ids if run_id is not None}
        with self.sessions() as session:
            return set(session.scalars(select(Run.id).where(Run.id.in_(ids), Run.status == "finished")))

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

    def record_audit(self, **facts: Any) -> int:
        with self.sessions.begin() as session:
            audit = FixityAudit(**facts)
            session.add(audit)
            session.flush()
            return audit.id

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
                 "enqueued_at": isoformat(req.enqueued_at), "url": cap.url, "site": cap.site,
                 "kind": cap.kind, "content_type": cap.content_type, "year": cap.year,
                 "agency": cap.agency, "title": cap.title}
                for req, cap in session.execute(query)
            ]

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


def _parsed(capture: dict[str, Any]) -> bool:
    return capture["kind"] in PARSED_KINDS and capture["novelty"] != "gone"


def _plain_url(url: str) -> str:
    parts = urlsplit(url.strip())
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, ""))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _ensure_dir(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CatalogError(f"cannot create the catalog directory {directory}: {exc.strerror}") from exc


def _safe(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return redact(url)
