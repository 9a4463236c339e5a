"""The parse queue's consumer: claim a request, read its body back verified, parse it, record the result.

Each worker is a process with its own catalog connection and store, and the parser runs in a child of its own
(``ParserProcess``): a document that takes longer than its time limit, or takes the process down (memory, a
crashing library), is killed with that child and recorded as failed with why, and the worker goes on. A body
is parsed once per parser version whatever URLs it was captured under; a failure is final until ``--reparse``.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.synchronize import Event
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from archive.catalog import PARSE_LEASE, Catalog, CatalogError, ParseRequest
from archive.storage import IntegrityError, ObjectStore, StorageError, open_store
from nianbao.config import Config
from parsing import PARSER_VERSION

#: Seconds one document may take before its parser is killed and the body recorded as failed.
DOCUMENT_SECONDS = 300.0
#: A parser child left holding more than this after a document is replaced by a fresh one (bytes resident).
MAX_RESIDENT = 1 << 30
#: Seconds between looks at the queue when it is empty (``run`` without ``once``).
POLL_SECONDS = 5.0
_SPAWN = multiprocessing.get_context("spawn")


class Stopped(Exception):
    """The worker was asked to stop (SIGINT, SIGTERM) in the middle of a document."""


@dataclass
class Counts:
    parsed: int = 0
    failed: int = 0
    seconds: float = 0.0

    def add(self, other: Counts) -> None:
        self.parsed, self.failed = self.parsed + other.parsed, self.failed + other.failed


@dataclass
class Outcome:
    """What the parser child said of one body: a Reading's JSON, or why there is none."""

    reading: dict[str, Any] | None
    error: str | None
    seconds: float


def parse_bytes(body: bytes, content_type: str | None, name: str | None) -> Outcome:
    """``parsing.parse`` with every failure turned into its message: what is recorded against a body."""
    from parsing import parse
    from parsing.document import Unreadable

    started = time.monotonic()
    try:
        reading = parse(body, content_type, name).to_json()
    except Unreadable as exc:
        return Outcome(None, str(exc) or "unreadable", time.monotonic() - started)
    except Exception as exc:  # noqa: BLE001 - any reader's bug is that body's failure, recorded, not the worker's
        return Outcome(None, f"{type(exc).__name__}: {exc}", time.monotonic() - started)
    return Outcome(reading, None, time.monotonic() - started)


def _serve(conn: Connection) -> None:
    """The parser child: one body at a time from the pipe, its Outcome back. Its worker stops it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C reaches the worker, which ends this child
    while True:
        try:
            body, content_type, name = conn.recv()
        except EOFError:
            return
        conn.send(parse_bytes(body, content_type, name))


class ParserProcess:
    """``parse_bytes`` in a child process, within a time limit."""

    def __init__(self, seconds: float = DOCUMENT_SECONDS) -> None:
        self.seconds = seconds
        self._process: Any = None
        self._conn: Connection | None = None

    def parse(self, body: bytes, content_type: str | None, name: str | None,
              stopping: Callable[[], bool] = lambda: False) -> Outcome:
        if self._process is None:
            self._start()
        assert self._conn is not None
        started = time.monotonic()
        self._conn.send((body, content_type, name))
        while not self._conn.poll(0.2):
            elapsed = time.monotonic() - started
            if stopping():
                self.close()
                raise Stopped
            if not self._process.is_alive():
                code = self._process.exitcode
                self.close()
                why = f"killed by signal {-code}" if code and code < 0 else f"exit status {code}"
                return Outcome(None, f"the parser process died while reading it ({why})", elapsed)
            if elapsed > self.seconds:
                self.close()
                return Outcome(None, f"parsing took longer than {self.seconds:g} s (the limit): stopped", elapsed)
        outcome: Outcome = self._conn.recv()
        if _resident(self._process.pid) > MAX_RESIDENT:
            self.close()  # what a huge document left behind goes with its process
        return outcome

    def _start(self) -> None:
        self._conn, child = _SPAWN.Pipe()
        self._process = _SPAWN.Process(target=_serve, args=(child,), daemon=True, name="nianbao-parser")
        self._process.start()
        child.close()

    def close(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.join()
            self._process = None
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _resident(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def filename(request: ParseRequest) -> str | None:
    """The name a reader may go by (its extension): the capture's filename, else its URL's last segment."""
    capture = request.capture
    if capture.filename:
        return capture.filename
    name = PurePosixPath(unquote(urlsplit(capture.final_url or capture.url).path)).name
    return name or None


class Consumer:
    """One worker: claims requests one at a time and records each body's result."""

    def __init__(self, catalog: Catalog, store: ObjectStore, stop: Event, seconds: float = DOCUMENT_SECONDS,
                 report: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True)) -> None:
        self.catalog, self.store, self.stop, self.report = catalog, store, stop, report
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self.parser = ParserProcess(seconds)
        self.counts = Counts()

    def run(self, once: bool, poll: float = POLL_SECONDS) -> Counts:
        """Until the queue is empty (``once``) or until stopped."""
        try:
            while not self.stop.is_set():
                claimed = self.catalog.claim_parses(self.worker, 1, PARSE_LEASE)
                if not claimed:
                    if once:
                        break
                    self._pause(poll)
                    continue
                for request in claimed:
                    try:
                        self.handle(request)
                    except BaseException:
                        self.catalog.release_parses([r.id for r in claimed], self.worker)
                        raise
        except Stopped:
            pass
        finally:
            self.parser.close()
        return self.counts

    def _pause(self, seconds: float) -> None:
        """Sleep, looking at ``stop`` now and then: waiting on the Event itself would deadlock with a signal
        handler setting it in this same thread (multiprocessing's Event.set waits for its waiters to wake)."""
        deadline = time.monotonic() + seconds
        while not self.stop.is_set() and time.monotonic() < deadline:
            time.sleep(0.1)

    def handle(self, request: ParseRequest) -> None:
        done = self.catalog.parse_result(request.sha256, PARSER_VERSION)
        if done is not None and done.state == "parsed":  # the same body under another URL, parsed already
            self.catalog.record_parse(request.sha256, PARSER_VERSION, **_columns(done))
            return
        url = request.capture.url
        try:
            body = self.store.get(request.sha256)
        except IntegrityError as exc:  # missing or corrupt: never parse bytes that are not the archived ones
            self._failed(request, f"the archived body failed its checksum: {exc}", 0.0)
            return
        outcome = self.parser.parse(body, request.capture.content_type, filename(request), self.stop.is_set)
        if outcome.error is not None:
            self._failed(request, outcome.error, outcome.seconds)
            return
        reading = outcome.reading or {}
        self.catalog.record_parse(request.sha256, PARSER_VERSION, state="parsed", error=None,
                                  format=reading.get("format"), template=reading.get("template"),
                                  year=reading.get("year"), agency=reading.get("agency"), passed=reading.get("passed"),
                                  reading=reading, seconds=outcome.seconds)
        self.counts.parsed += 1
        checks = reading.get("checks") or []
        passed = sum(1 for c in checks if c.get("passed"))
        self.report(f"parsed {reading.get('format')} template {reading.get('template') or '-'} "
                    f"checks {passed}/{len(checks)} {outcome.seconds:.2f}s {request.sha256[:12]} {url}")

    def _failed(self, request: ParseRequest, error: str, seconds: float) -> None:
        self.catalog.record_parse(request.sha256, PARSER_VERSION, state="failed", error=error, format=None,
                                  template=None, year=None, agency=None, passed=None, reading=None, seconds=seconds)
        self.counts.failed += 1
        self.report(f"failed {request.sha256[:12]} {request.capture.url}: {error}")


def _columns(result: Any) -> dict[str, Any]:
    return {name: getattr(result, name) for name in ("state", "error", "format", "template", "year", "agency",
                                                     "passed", "reading", "seconds", "from_attachment",
                                                     "from_sha256")}


def _worker(config: Config, once: bool, seconds: float, poll: float, stop: Event, results: Any) -> None:
    """A worker process: its own catalog connection and store; its counts put on ``results``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent hears Ctrl-C and sets ``stop``
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        catalog = Catalog(config.catalog, timeout=config.timeout)
        counts = Consumer(catalog, open_store(config), stop, seconds).run(once, poll)
    except (CatalogError, StorageError) as exc:
        print(f"nianbao: error: parse worker {os.getpid()}: {exc}", file=sys.stderr, flush=True)
        sys.exit(1)
    results.put(counts)


def _gather(results: Any, processes: list[Any]) -> Counts:
    """The workers' counts as each ends (read before joining: a queue's writer exits once it is read)."""
    counts, heard = Counts(), 0
    while heard < len(processes):
        try:
            counts.add(results.get(timeout=0.5))
            heard += 1
        except queue.Empty:
            if not any(p.is_alive() for p in processes):
                break
    for process in processes:
        process.join()
    failed = [p.exitcode for p in processes if p.exitcode != 0]
    if failed:
        raise RuntimeError(f"{len(failed)} of {len(processes)} parse workers ended with an error "
                           f"(exit status {', '.join(map(str, failed))}): see above")
    return counts


def check_time_limit(seconds: float) -> None:
    if seconds >= PARSE_LEASE.total_seconds():
        raise ValueError(f"a document's time limit ({seconds:g} s) must be shorter than the claims' lease "
                         f"({PARSE_LEASE.total_seconds():g} s), or another worker would take it meanwhile")


def run(config: Config, catalog: Catalog, store: ObjectStore, stop: Event, workers: int = 1, once: bool = False,
        reparse: bool = False, seconds: float = DOCUMENT_SECONDS, poll: float = POLL_SECONDS) -> Counts:
    """Consume the queue with ``workers`` processes (one: in this process) until it is empty (``once``) or
    ``stop`` is set. ``reparse`` first puts back every body this parser version has not read."""
    check_time_limit(seconds)
    started = time.monotonic()
    if reparse:
        catalog.requeue_parses(PARSER_VERSION)
    if workers <= 1:
        counts = Consumer(catalog, store, stop, seconds).run(once, poll)
    else:
        results = _SPAWN.Queue()
        processes = [_SPAWN.Process(target=_worker, args=(config, once, seconds, poll, stop, results),
                                    name=f"nianbao-parse-{n}") for n in range(workers)]
        for process in processes:
            process.start()
        counts = _gather(results, processes)
    counts.seconds = time.monotonic() - started
    return counts
