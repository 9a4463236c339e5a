"""The catalog's write path: runs, and the captures a crawl records with their parse requests,
failures and check schedule, each batch in one transaction; the parser's claims on the queue and its results."""

from __future__ import annotations

import os
import socket
from collections import Counter
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import DateTime, and_, delete, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import joinedload, sessionmaker

from archive.urlkey import url_key
from nianbao.processes import alive

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
    utcnow,
)
from .recheck import RecheckPolicy

_DIALECT_INSERT = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}
#: How long a claim on a parse request holds: one older than this was a worker's that died (killed, its machine
#: reset) and is taken again. Longer than any document may take (parsing.queue's time limit).
PARSE_LEASE = timedelta(minutes=10)
#: Claims lost to another worker before one wins: SQLite's candidates can be taken between select and update.
_CLAIM_TRIES = 5
#: The PostgreSQL advisory lock claims are made under ("nianbao" in ASCII).
_CLAIM_LOCK = 0x6E69616E62616F


class Writes:
    engine: Engine
    sessions: sessionmaker

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

    # -- captures ---------------------------------------------------------------------------
    def record(self, captures: Iterable[dict[str, Any]] = (), failures: Iterable[dict[str, Any]] = (),
               recheck: RecheckPolicy = RecheckPolicy()) -> Counter[str]:  # noqa: B008 - frozen, shared
        """Commit captures, their parse requests, their URLs' next checks and failures in one transaction;
        count what is new.

        Rows are plain dicts of column values, inserted in bulk (one statement per table): the
        crawl records a row per body, and ORM objects would cost more than the fetch. A body
        already queued once (the same report crawled again) is not queued again: the parser's
        result for those bytes stands. Each capture not of kind ``list`` moves its URL's next check
        (``recheck``: sooner after a change, later while unchanged). Returns counts by ``new/KIND``
        (a URL first captured) and ``changed/KIND`` (a body not seen at its URL before), and of
        ``new_bodies`` and ``new_bytes`` the archive did not hold before.
        """
        captures, failures = list(captures), list(failures)
        now = utcnow()
        counts: Counter[str] = Counter()
        for capture in captures:
            capture["url_key"] = url_key(capture["url"])
            capture["final_url_key"] = url_key(capture["final_url"]) if capture.get("final_url") else None
        with self.engine.begin() as conn:
            if captures:
                _mark_novelty(conn, captures, counts)
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
                _schedule_checks(conn, captures, recheck)
            if failures:
                conn.execute(insert(Failure), [{"at": now, **f} for f in failures])
        return counts

    def record_list(self, site: str, url: str, run_id: int | None) -> None:
        with self.sessions.begin() as session:
            known = session.scalar(select(DiscoveredList.id).where(DiscoveredList.site == site,
                                                                   DiscoveredList.url == url))
            if known is None:
                session.add(DiscoveredList(site=site, url=url, run_id=run_id))

    # -- the parser ---------------------------------------------------------------------------
    def claim_parses(self, worker: str, limit: int = 1, lease: timedelta = PARSE_LEASE) -> list[ParseRequest]:
        """Take up to ``limit`` requests for ``worker`` (pending ones, or a dead worker's older than ``lease``),
        oldest first, each with its capture: ``parsing`` and theirs until recorded or released; each claim
        counts an attempt.

        One body is in one worker's hands at a time: a request whose body another request has under a live claim
        is skipped (the same report crawled under two URLs is parsed once, by whoever took it first), and one
        claim takes one request per body. Claims are serialised so that each sees the one before it: PostgreSQL
        by a transaction-scoped advisory lock, SQLite by its single writer (one UPDATE that still requires each
        row takeable, its rows the ones this worker got). The lease is judged by the database's clock.
        """
        now, expired = database_now(self.engine.dialect.name), database_now(self.engine.dialect.name, lease)
        live = and_(ParseRequest.state == "parsing", ParseRequest.claimed_at >= expired)
        held = select(ParseRequest.sha256).where(live)
        takeable = and_(or_(ParseRequest.state == "pending",
                            and_(ParseRequest.state == "parsing", ParseRequest.claimed_at < expired)),
                        ParseRequest.sha256.not_in(held))
        first = func.min(ParseRequest.id)
        candidates = select(first).where(takeable).group_by(ParseRequest.sha256).order_by(first).limit(limit)
        mark = dict(state="parsing", claimed_by=worker, claimed_at=now, attempts=ParseRequest.attempts + 1)
        taken: list[int] = []
        if self.engine.dialect.name == "postgresql":
            with self.engine.begin() as conn:
                conn.execute(select(func.pg_advisory_xact_lock(_CLAIM_LOCK)))
                ids = list(conn.scalars(candidates))
                if ids:
                    taken = list(conn.scalars(update(ParseRequest).where(ParseRequest.id.in_(ids))
                                              .values(**mark).returning(ParseRequest.id)))
        else:
            for _ in range(_CLAIM_TRIES):
                with self.engine.connect() as conn:  # read outside the write: no lock upgrade to fail
                    ids = list(conn.scalars(candidates))
                if not ids:
                    break
                with self.engine.begin() as conn:
                    taken = list(conn.scalars(update(ParseRequest).where(ParseRequest.id.in_(ids), takeable)
                                              .values(**mark).returning(ParseRequest.id)))
                if taken:
                    break
        if not taken:
            return []
        with self.sessions() as session:
            return list(session.scalars(select(ParseRequest).options(joinedload(ParseRequest.capture))
                                        .where(ParseRequest.id.in_(taken)).order_by(ParseRequest.id)))

    def renew_parse(self, request_id: int, worker: str) -> None:
        """A long document's claim held on (its lease starts again), while this worker still has it."""
        with self.engine.begin() as conn:
            conn.execute(update(ParseRequest).where(ParseRequest.id == request_id, ParseRequest.claimed_by == worker,
                                                    ParseRequest.state == "parsing")
                         .values(claimed_at=database_now(conn.dialect.name)))

    def release_parses(self, ids: Iterable[int], worker: str, counted: bool = False) -> None:
        """Requests this worker took and did not finish: pending again, for anyone. Stopped by hand, the attempt
        is given back; ``counted`` (the body could not be read) it stays, towards PARSE_ATTEMPTS."""
        values: dict[str, Any] = dict(state="pending", claimed_by=None, claimed_at=None)
        if not counted:
            values["attempts"] = ParseRequest.attempts - 1
        with self.engine.begin() as conn:
            conn.execute(update(ParseRequest)
                         .where(ParseRequest.id.in_(list(ids)), ParseRequest.claimed_by == worker,
                                ParseRequest.state == "parsing")
                         .values(**values))

    def record_parse(self, sha256: str, parser_version: int, **result: Any) -> str:
        """A body's result (parse_results' columns), and every request naming that body ``done`` (or ``failed``),
        in one transaction. Returns the state that stands.

        A result for (sha256, version) already there is replaced (``--reparse`` retries a failure in place),
        except that a failure never replaces a ``parsed`` result: the worker that failed (a timeout on a busy
        machine, its storage away) read nothing that unmakes what another read.
        """
        row = {"sha256": sha256, "parser_version": parser_version, "parsed_at": database_now(self.engine.dialect.name),
               **result}
        with self.engine.begin() as conn:
            upsert = _DIALECT_INSERT[conn.dialect.name](ParseResult)
            conn.execute(upsert.values(row).on_conflict_do_update(
                index_elements=[ParseResult.sha256, ParseResult.parser_version],
                set_={name: upsert.excluded[name] for name in row if name not in ("sha256", "parser_version")},
                where=or_(upsert.excluded.state == "parsed", ParseResult.state != "parsed")))
            state = conn.scalar(select(ParseResult.state).where(ParseResult.sha256 == sha256,
                                                                ParseResult.parser_version == parser_version))
            _finish(conn, sha256, state)
        return state

    def finish_parses(self, sha256: str, parser_version: int) -> str | None:
        """Every open request naming a body already read by this parser version ``done`` (or ``failed``, as its
        result is), the result left as it was recorded. Returns that state (None: no result)."""
        with self.engine.begin() as conn:
            state = conn.scalar(select(ParseResult.state).where(ParseResult.sha256 == sha256,
                                                                ParseResult.parser_version == parser_version))
            if state is not None:
                _finish(conn, sha256, state)
        return state

    def requeue_parses(self, parser_version: int) -> int:
        """``--reparse``: every request whose body has no parsed result from this parser version (read by an
        older one, or failed) pending again, its attempts from nothing; this version's failures are taken back
        (a request for a body with a result is only marked as it is: see parsing.queue). Returns how many."""
        current = select(ParseResult.sha256).where(ParseResult.parser_version == parser_version,
                                                   ParseResult.state == "parsed")
        with self.engine.begin() as conn:
            conn.execute(delete(ParseResult).where(ParseResult.parser_version == parser_version,
                                                   ParseResult.state == "failed"))
            return conn.execute(update(ParseRequest)
                                .where(ParseRequest.state.in_(("done", "failed")), ParseRequest.sha256.not_in(current))
                                .values(state="pending", claimed_by=None, claimed_at=None, attempts=0)).rowcount

    def record_audit(self, **facts: Any) -> int:
        with self.sessions.begin() as session:
            audit = FixityAudit(**facts)
            session.add(audit)
            session.flush()
            return audit.id


def _mark_novelty(conn: Connection, captures: list[dict[str, Any]], counts: Counter[str]) -> None:
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
            counts["new_bytes"] += capture["size"]
            counts["new_bodies"] += 1


def _schedule_checks(conn: Connection, captures: list[dict[str, Any]], recheck: RecheckPolicy) -> None:
    """Each checked URL's row in url_checks, upserted in bulk after one select of the rows there were."""
    checked = [c for c in captures if c["kind"] != "list"]
    if not checked:
        return
    upsert = _DIALECT_INSERT[conn.dialect.name](UrlCheck)
    query = select(UrlCheck.site, UrlCheck.url, UrlCheck.interval, UrlCheck.changed_at).where(
        UrlCheck.url.in_({c["url"] for c in checked}))
    previous = {(site, url): {"interval": interval, "changed_at": changed_at}
                for site, url, interval, changed_at in conn.execute(query)}
    written: dict[tuple[str, str], dict[str, Any]] = {}
    for capture in sorted(checked, key=lambda c: c["fetched_at"]):  # a URL twice in a batch: in time order
        key = (capture["site"], capture["url"])
        before = written.get(key) or previous.get(key)
        interval = recheck.interval(capture["novelty"], before["interval"] if before else None, capture.get("year"),
                                    capture["fetched_at"])
        changed = capture["novelty"] in ("new", "changed")
        written[key] = {"site": key[0], "url": key[1], "url_key": capture["url_key"], "kind": capture["kind"],
                        "checked_at": capture["fetched_at"],
                        "changed_at": capture["fetched_at"] if changed else before and before["changed_at"],
                        "interval": interval, "next_check_at": capture["fetched_at"] + timedelta(seconds=interval)}
    conn.execute(upsert.on_conflict_do_update(
        index_elements=[UrlCheck.site, UrlCheck.url],
        set_={name: upsert.excluded[name] for name in ("url_key", "kind", "checked_at", "changed_at", "interval",
                                                        "next_check_at")}), list(written.values()))


def _finish(conn: Connection, sha256: str, state: str) -> None:
    conn.execute(update(ParseRequest).where(ParseRequest.sha256 == sha256,
                                            ParseRequest.state.in_(("pending", "parsing")))
                 .values(state="done" if state == "parsed" else "failed"))


def database_now(dialect: str, before: timedelta = timedelta(0)) -> Any:
    """The database's clock (less ``before``) as naive UTC, in the form the DateTime columns hold (SQLite: text
    to the microsecond). Claims and results are stamped by it, never by a worker's: leases are judged alike from
    every machine whatever its clock says."""
    if dialect == "postgresql":
        return func.timezone("UTC", func.now(), type_=DateTime) - before
    return func.strftime("%Y-%m-%d %H:%M:%f000", "now", f"-{before.total_seconds():f} seconds", type_=DateTime)


def _parsed(capture: dict[str, Any]) -> bool:
    return capture["kind"] in PARSED_KINDS and capture["novelty"] != "gone"
