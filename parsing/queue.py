"""The parse queue's consumer: claim a request, read its body back verified, parse it, record the result.

Each worker is a process with its own catalog connection and store, and the parser runs in a child of its own
(``ParserProcess``, its address space bounded by ``NIANBAO_PARSE_MEMORY``): a document that takes longer than its
time limit (a base and a budget per page: OCR takes a minute a page), runs out of memory or takes the process down
(a crashing library) is recorded as failed with why, and the worker goes on.

A body is parsed once per parser version whatever URLs it was captured under, and a result, parsed or failed, is
final until ``--reparse``: a request for a body that already has one (the same bytes captured again under another
URL) is marked as that result is, never parsed again — the same bytes and the same parser fail the same way, and
a retry that could succeed (a new parser version, a fixed reader) is what ``--reparse`` is for. The one failure
retried before it is recorded is storage's (the body could not be read: permission denied, a disk away): the
request goes back to the queue and the worker stops, up to PARSE_ATTEMPTS claims of it.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import resource
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
from archive.catalog.models import PARSE_ATTEMPTS
from archive.storage import IntegrityError, ObjectStore, StorageError, open_store
from nianbao.config import Config
from parsing import PARSER_VERSION
from parsing.reading import check_summary

#: Seconds any document may take before its parser is killed and the body recorded as failed …
DOCUMENT_SECONDS = 300.0
#: … plus these for each page of a PDF or an image (a scanned page is OCRed in 25–60 s) …
PAGE_SECONDS = 60.0
#: … counting at most these pages (a hostile file's page count buys no more than about 3.5 hours).
BUDGETED_PAGES = 200
#: The parser child's address space (``RLIMIT_AS``) unless ``NIANBAO_PARSE_MEMORY`` says otherwise (bytes, or
#: with K, M, G: ``2G``; 0 for none): a file that would take more fails with MemoryError, recorded against it,
#: instead of the kernel's OOM killer choosing a process to end.
MEMORY = 3 << 30
#: Seconds between renewals of a claim while its document is parsed: a long document keeps its lease.
RENEW_SECONDS = PARSE_LEASE.total_seconds() / 4
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


def memory_limit(environ: dict[str, str] | os._Environ = os.environ) -> int:
    """``NIANBAO_PARSE_MEMORY`` in bytes (default MEMORY; 0: unbounded)."""
    text = environ.get("NIANBAO_PARSE_MEMORY", "").strip().upper().removesuffix("IB").removesuffix("B")
    if not text:
        return MEMORY
    scale = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1], 1)
    try:
        return int(float(text.rstrip("KMG")) * scale)
    except ValueError:
        raise ValueError(f"NIANBAO_PARSE_MEMORY={environ['NIANBAO_PARSE_MEMORY']!r}: give bytes, or e.g. 3G") from None


def pages_of(body: bytes, content_type: str | None, name: str | None) -> int:
    """A PDF's or an image's page count (PyMuPDF reads only the page tree), 0 for other formats or a file it
    cannot open: what the per-page time budget counts."""
    from parsing.formats.kinds import kind_of

    kind = kind_of(body, content_type, name)
    if kind not in ("pdf", "image"):
        return 0
    try:
        import pymupdf

        with pymupdf.open(stream=body, filetype="pdf" if kind == "pdf" else None) as document:
            return document.page_count
    except Exception:  # noqa: BLE001 - an unopenable file is the parser's to report; it has the base time
        return 0


def _serve(conn: Connection, memory: int) -> None:
    """The parser child: one body at a time from the pipe; for each, its page count, then its Outcome. Its
    worker stops it. Its address space is bounded first, so whatever a file makes a reader allocate fails here."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C reaches the worker, which ends this child
    if memory:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    while True:
        try:
            body, content_type, name = conn.recv()
        except EOFError:
            return
        except MemoryError:  # the body itself did not fit: read in full from the pipe, so the next one can follow
            conn.send(("pages", 0))
            conn.send(Outcome(None, "MemoryError: the file does not fit in the parser's memory (NIANBAO_PARSE_MEMORY)",
                              0.0))
            continue
        conn.send(("pages", pages_of(body, content_type, name)))
        conn.send(parse_bytes(body, content_type, name))


class ParserProcess:
    """``parse_bytes`` in a child process, within a time limit of ``seconds`` plus ``page_seconds`` a page."""

    def __init__(self, seconds: float = DOCUMENT_SECONDS, page_seconds: float = PAGE_SECONDS,
                 memory: int = MEMORY) -> None:
        self.seconds, self.page_seconds, self.memory = seconds, page_seconds, memory
        self.renew_every = RENEW_SECONDS
        self._process: Any = None
        self._conn: Connection | None = None

    def limit(self, pages: int) -> float:
        return self.seconds + self.page_seconds * min(pages, BUDGETED_PAGES)

    def parse(self, body: bytes, content_type: str | None, name: str | None,
              stopping: Callable[[], bool] = lambda: False, renew: Callable[[], None] = lambda: None) -> Outcome:
        """The child's Outcome for one body; ``renew`` is called every ``renew_every`` seconds meanwhile."""
        if self._process is None:
            self._start()
        assert self._conn is not None
        started = renewed = time.monotonic()
        self._conn.send((body, content_type, name))
        limit, pages = self.seconds, 0
        while True:
            message = self._receive()
            if isinstance(message, Outcome):
                break
            if message is not None:
                pages = message[1]
                limit = self.limit(pages)
                continue
            now = time.monotonic()
            elapsed = now - started
            if stopping():
                self.close()
                raise Stopped
            if not self._process.is_alive():
                code = self._process.exitcode
                self.close()
                why = f"killed by signal {-code}" if code and code < 0 else f"exit status {code}"
                return Outcome(None, f"the parser process died while reading it ({why})", elapsed)
            if elapsed > limit:
                self.close()
                budget = f": {self.seconds:g} s and {self.page_seconds:g} s a page, {pages} page(s)" if pages else ""
                return Outcome(None, f"parsing took longer than {limit:g} s (the limit{budget}): stopped", elapsed)
            if now - renewed >= self.renew_every:
                renew()
                renewed = now
        if _resident(self._process.pid) > MAX_RESIDENT:
            self.close()  # what a huge document left behind goes with its process
        return message

    def _receive(self) -> Any:
        """The child's next message, or None after a short wait without one (or when it died mid-way)."""
        assert self._conn is not None
        try:
            return self._conn.recv() if self._conn.poll(0.2) else None
        except (EOFError, OSError):
            time.sleep(0.2)  # its exit status is read next
            return None

    def _start(self) -> None:
        self._conn, child = _SPAWN.Pipe()
        self._process = _SPAWN.Process(target=_serve, args=(child, self.memory), daemon=True, name="nianbao-parser")
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
                 report: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
                 page_seconds: float = PAGE_SECONDS, memory: int = MEMORY) -> None:
        self.catalog, self.store, self.stop, self.report = catalog, store, stop, report
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self.parser = ParserProcess(seconds, page_seconds, memory)
        self.counts = Counts()

    def run(self, once: bool, poll: float = POLL_SECONDS) -> Counts:
        """Until the queue is empty (``once``) or until stopped. A body storage would not give back puts its
        request back (that attempt counted) and ends the worker: storage is away for every body."""
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
                    except BaseException as exc:
                        self.catalog.release_parses([r.id for r in claimed], self.worker,
                                                    counted=isinstance(exc, StorageError))
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
        if self.catalog.finish_parses(request.sha256, PARSER_VERSION) is not None:
            return  # read already (the same body under another URL): its result, parsed or failed, stands
        url = request.capture.url
        try:
            body = self.store.get(request.sha256)
        except IntegrityError as exc:  # missing or corrupt: never parse bytes that are not the archived ones
            self._failed(request, f"the archived body failed its checksum: {exc}", 0.0)
            return
        except StorageError as exc:
            if request.attempts < PARSE_ATTEMPTS:
                raise
            self._failed(request, f"the archived body could not be read from storage ({request.attempts} "
                                  f"attempts): {exc}", 0.0)
            return
        outcome = self.parser.parse(body, request.capture.content_type, filename(request), self.stop.is_set,
                                    lambda: self.catalog.renew_parse(request.id, self.worker))
        if outcome.error is not None:
            self._failed(request, outcome.error, outcome.seconds)
            return
        reading = outcome.reading or {}
        passed, failed, skipped = check_summary(reading.get("checks") or [])
        self.catalog.record_parse(request.sha256, PARSER_VERSION, state="parsed", error=None,
                                  format=reading.get("format"), template=reading.get("template"),
                                  year=reading.get("year"), agency=reading.get("agency"), passed=reading.get("passed"),
                                  checks_passed=passed, checks_failed=failed, checks_skipped=skipped,
                                  cells_printed=sum(v is not None for v in (reading.get("cells") or {}).values()),
                                  reading=reading, seconds=outcome.seconds)
        self.counts.parsed += 1
        self.report(f"parsed {reading.get('format')} template {reading.get('template') or '-'} "
                    f"checks {passed}/{passed + len(failed)} ({skipped} skipped) {outcome.seconds:.2f}s "
                    f"{request.sha256[:12]} {url}")

    def _failed(self, request: ParseRequest, error: str, seconds: float) -> None:
        stands = self.catalog.record_parse(request.sha256, PARSER_VERSION, state="failed", error=error, format=None,
                                           template=None, year=None, agency=None, passed=None, checks_passed=None,
                                           checks_failed=None, checks_skipped=None, cells_printed=None,
                                           reading=None, seconds=seconds)
        self.counts.failed += 1
        kept = " (another worker's parsed result stands)" if stands == "parsed" else ""
        self.report(f"failed {request.sha256[:12]} {request.capture.url}: {error}{kept}")


def _worker(config: Config, once: bool, seconds: float, page_seconds: float, memory: int, poll: float, stop: Event,
            results: Any) -> None:
    """A worker process: its own catalog connection and store; its counts put on ``results``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent hears Ctrl-C and sets ``stop``
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        catalog = Catalog(config.catalog, timeout=config.timeout)
        counts = Consumer(catalog, open_store(config), stop, seconds, page_seconds=page_seconds,
                          memory=memory).run(once, poll)
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


def run(config: Config, catalog: Catalog, store: ObjectStore, stop: Event, workers: int = 1, once: bool = False,
        reparse: bool = False, seconds: float = DOCUMENT_SECONDS, poll: float = POLL_SECONDS,
        page_seconds: float = PAGE_SECONDS, memory: int | None = None) -> Counts:
    """Consume the queue with ``workers`` processes (one: in this process) until it is empty (``once``) or
    ``stop`` is set. ``reparse`` first puts back every body this parser version has not read. ``memory``: the
    parser child's bound in bytes (None: NIANBAO_PARSE_MEMORY's)."""
    memory = memory_limit() if memory is None else memory
    started = time.monotonic()
    if reparse:
        catalog.requeue_parses(PARSER_VERSION)
    if workers <= 1:
        counts = Consumer(catalog, store, stop, seconds, page_seconds=page_seconds, memory=memory).run(once, poll)
    else:
        results = _SPAWN.Queue()
        processes = [_SPAWN.Process(target=_worker,
                                    args=(config, once, seconds, page_seconds, memory, poll, stop, results),
                                    name=f"nianbao-parse-{n}") for n in range(workers)]
        for process in processes:
            process.start()
        counts = _gather(results, processes)
    counts.seconds = time.monotonic() - started
    return counts
