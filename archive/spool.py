"""What the archive cannot take right now, kept on local disk until it can: bodies and the rows waiting for them.

When S3 or the catalog is away, a crawl goes on fetching; what it fetches must survive a crash
as surely as what is archived, so each body is written to a temporary file, fsynced, read back
(its SHA-256 must match), renamed to its digest and its directory fsynced, and the rows waiting
for it are appended to a journal (JSON lines) that is fsynced before the crawl counts them as kept.

Each crawl spools into its own directory (``NIANBAO_HOME/spool/<started>-<pid>/``), locked while
the crawl lives, so crawls side by side never drain each other's work; a later crawl finds the
directories nobody holds and drains them first.

Draining is in the order that keeps the archive's promise: each body is stored (the store
verifies it), then its rows are committed, then the entry is marked done; a crash anywhere in
between is harmless because committing skips the rows the catalog already holds (a capture is
known by its URL, fetch time and digest, a failure by its run, URL and reason).
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select

from archive.catalog import Capture, Catalog, Failure, RecheckPolicy
from archive.storage import ObjectStore
from archive.storage.blob import Blob
from archive.storage.local import fsync_directory

logger = logging.getLogger(__name__)

JOURNAL = "journal.jsonl"
LOCK = "lock"
BODIES = "bodies"
#: Journal entries a drain stores and commits together (one flush, one transaction).
DRAIN_GROUP = 64


class SpoolError(RuntimeError):
    """The spool cannot keep something (disk full, unwritable, a damaged journal); the message names where."""


@dataclass
class Entry:
    """Rows waiting together for the archive, and the spooled bodies they name."""

    key: str
    captures: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    #: Report lists found by discovery: (site, url, run_id).
    lists: list[list[Any]] = field(default_factory=list)
    #: Digests of the bodies in this spool its captures need stored first.
    bodies: list[str] = field(default_factory=list)


@dataclass
class Drained:
    entries: int = 0
    bodies: int = 0
    bytes: int = 0
    damaged: int = 0


class Spool:
    """One directory of spooled bodies and journal entries, held (flock) by one process at a time."""

    def __init__(self, directory: Path, max_bytes: int, margin: int) -> None:
        self.directory, self.margin = directory, margin
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._journal: BinaryIO | None = None
        self._held: int | None = None  # the lock file's descriptor, while this process holds the directory
        self.pending: dict[str, Entry] = {}
        #: Spooled bodies on disk: digest → size.
        self.bodies: dict[str, int] = {}
        self.bytes = 0
        #: Bodies spooled whose entry is not journaled yet.
        self._reserved: Counter[str] = Counter()

    # -- opening -----------------------------------------------------------------------------
    @classmethod
    def new(cls, root: Path, max_bytes: int, margin: int) -> Spool:
        """This crawl's spool (created only when something is first spooled)."""
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        return cls(root / f"{stamp}-{os.getpid()}-{uuid.uuid4().hex[:6]}", max_bytes, margin)

    @classmethod
    def leftovers(cls, root: Path, max_bytes: int, margin: int) -> list[Spool]:
        """The spools earlier crawls left (crashed, or stopped past the outage bound) that no live crawl holds."""
        found = []
        for directory in sorted(root.iterdir()) if root.is_dir() else []:
            if not (directory / JOURNAL).exists():
                continue
            spool = cls(directory, max_bytes, margin)
            if spool._hold(wait=False):
                spool._load()
                if spool.pending or spool.bodies:
                    found.append(spool)
                    continue
                spool.close(remove=True)
        return found

    @property
    def opened(self) -> bool:
        return self._journal is not None

    def _open(self) -> None:
        """Create the directory on first use and take its lock; called with ``_lock`` held."""
        if self._journal is not None:
            return
        try:
            (self.directory / BODIES).mkdir(parents=True, exist_ok=True)
            fsync_directory(self.directory.parent)
            if self._held is None:
                self._hold(wait=True)
            self._journal = (self.directory / JOURNAL).open("ab")
            fsync_directory(self.directory)
        except OSError as exc:
            raise SpoolError(f"cannot open the spool {self.directory}: {exc.strerror or exc}") from exc
        self.max_bytes = min(self.max_bytes, max(0, shutil.disk_usage(self.directory).free - self.margin))

    def _hold(self, wait: bool) -> bool:
        fd = os.open(self.directory / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            os.close(fd)
            return False
        self._held = fd
        return True

    def _load(self) -> None:
        """Read the journal back: entries not marked done are pending; a torn last line was never acknowledged."""
        path = self.directory / JOURNAL
        lines = path.read_bytes().split(b"\n")
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line, object_hook=_decode)
            except ValueError:
                if number == len(lines):  # no newline yet: cut short by a crash before its fsync returned
                    logger.warning("%s: ignoring a torn last line (written when the crawl died)", path)
                    continue
                raise SpoolError(f"{path}, line {number}: not a journal entry (the spool is damaged)") from None
            if "done" in record:
                self.pending.pop(record["done"], None)
            else:
                self.pending[record["key"]] = Entry(**record)
        for body in (self.directory / BODIES).iterdir():
            if body.name.startswith("."):  # a temporary file a crash left half written
                body.unlink()
            else:
                self.bodies[body.name] = body.stat().st_size
        self.bytes = sum(self.bodies.values())
        self._journal = path.open("ab")

    # -- spooling ----------------------------------------------------------------------------
    def add_body(self, data: bytes | BinaryIO) -> tuple[str, int]:
        """Keep a body on disk, durably and checked; returns its SHA-256 and size."""
        with self._lock:
            self._open()
        temporary = self.directory / BODIES / f".{uuid.uuid4().hex}"
        try:
            blob = Blob(data)  # its digest and size, read once
            digest, size = blob.sha256, blob.size
            if shutil.disk_usage(self.directory).free - size < self.margin:
                raise SpoolError(f"the spool {self.directory} is full: the disk keeps less than "
                                 f"{self.margin} bytes free (NIANBAO_SPOOL_DISK_MARGIN)")
            with temporary.open("w+b") as out:
                for chunk in blob.chunks():
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
                out.seek(0)
                intact = blob.matches(out)
            if not intact:
                temporary.unlink()
                raise SpoolError(f"the spool {self.directory}: a body read back differs from what was written")
            with self._lock:  # held for the entry that will name it: a drain must not delete it meanwhile
                self._reserved[digest] += 1
                if digest not in self.bodies:
                    self.bodies[digest] = size
                    self.bytes += size
            os.replace(temporary, self.directory / BODIES / digest)
            fsync_directory(self.directory / BODIES)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            raise SpoolError(f"cannot write to the spool {self.directory}: {exc.strerror or exc}") from exc
        return digest, size

    def append(self, captures: list[dict[str, Any]] = (), failures: list[dict[str, Any]] = (),
               lists: list[list[Any]] = (), bodies: list[str] = ()) -> Entry:
        """Journal rows (and the spooled bodies they need), fsynced before this returns."""
        entry = Entry(uuid.uuid4().hex, list(captures), list(failures), [list(x) for x in lists], list(bodies))
        line = json.dumps(entry.__dict__, default=_encode, ensure_ascii=False).encode() + b"\n"
        with self._lock:
            self._open()
            self._write(line)
            self.pending[entry.key] = entry
            self._reserved.subtract(entry.bodies)
        return entry

    def _write(self, line: bytes) -> None:
        try:
            self._journal.write(line)
            self._journal.flush()
            os.fsync(self._journal.fileno())
        except OSError as exc:
            raise SpoolError(f"cannot write the journal {self.directory / JOURNAL}: {exc.strerror or exc}") from exc

    @property
    def empty(self) -> bool:
        return not self.pending

    @property
    def full(self) -> bool:
        return self.bytes > self.max_bytes

    # -- draining ----------------------------------------------------------------------------
    def drain(self, store: ObjectStore,
              commit: Callable[[list[dict[str, Any]], list[dict[str, Any]], list[list[Any]]], Any]) -> Drained:
        """Store, commit, mark done — group by group until nothing is pending (new entries included).

        Raises what the store or the catalog raise (StorageError, SQLAlchemyError): what is not done
        stays pending for the next try.
        """
        drained = Drained()
        while True:
            with self._lock:
                group = list(self.pending.values())[:DRAIN_GROUP]
            if not group:
                return drained
            for entry in group:
                self._store_bodies(entry, store, drained)
            store.flush()  # the objects durable first, then the rows that refer to them
            for entry in group:
                commit(entry.captures, entry.failures, entry.lists)
            with self._lock:
                for entry in group:
                    self._write(json.dumps({"done": entry.key}).encode() + b"\n")
                    del self.pending[entry.key]
                drained.entries += len(group)
                self._forget_bodies()

    def _store_bodies(self, entry: Entry, store: ObjectStore, drained: Drained) -> None:
        for digest in list(entry.bodies):
            path = self.directory / BODIES / digest
            try:
                with path.open("rb") as body:
                    actual = Blob(body).sha256
            except FileNotFoundError:
                actual = None
            if actual != digest:  # damaged on disk since it was checked: never archived under its name
                logger.error("spooled body %s is %s: its captures are recorded as failures", path,
                             "missing" if actual is None else "damaged")
                self._not_archived(entry, digest, "missing" if actual is None else "damaged")
                drained.damaged += 1
                continue
            with path.open("rb") as body:
                stored = store.put(body)
            if stored != digest:
                raise SpoolError(f"{path} changed while it was stored ({stored})")
            drained.bodies += 1
            drained.bytes += self.bodies.get(digest, 0)

    @staticmethod
    def _not_archived(entry: Entry, digest: str, how: str) -> None:
        for row in [c for c in entry.captures if c["sha256"] == digest]:
            entry.captures.remove(row)
            entry.failures.append({"run_id": row.get("run_id"), "site": row["site"], "url": row["url"],
                                   "kind": row["kind"], "reason": f"not archived: the spooled copy was {how}"})
        entry.bodies.remove(digest)

    def _forget_bodies(self) -> None:
        """Delete the spooled bodies no pending entry needs any more; called with ``_lock`` held."""
        needed = {digest for entry in self.pending.values() for digest in entry.bodies}
        needed.update(digest for digest, count in self._reserved.items() if count > 0)
        for digest in [d for d in self.bodies if d not in needed]:
            (self.directory / BODIES / digest).unlink(missing_ok=True)
            self.bytes -= self.bodies.pop(digest)
        if not self.pending and self._journal is not None:  # start the journal afresh: nothing in it is pending
            self._journal.truncate(0)

    def close(self, remove: bool = False) -> None:
        """Let the directory go (removed when drained and asked to); another crawl may then drain it."""
        with self._lock:
            if self._journal is not None:
                self._journal.close()
                self._journal = None
            if remove and not self.pending and self.directory.exists():
                shutil.rmtree(self.directory)
            if self._held is not None:
                os.close(self._held)
                self._held = None


def record_once(catalog: Catalog, recheck: RecheckPolicy | None = None
                ) -> Callable[[list[dict[str, Any]], list[dict[str, Any]], list[list[Any]]], Counter[str]]:
    """The drain's commit: the catalog's own ``record``, less the rows it already holds (a drain
    that crashed after committing and before marking its entries done, run again)."""

    def commit(captures: list[dict[str, Any]], failures: list[dict[str, Any]], lists: list[list[Any]]
               ) -> Counter[str]:
        captures, failures = _unrecorded(catalog, captures, failures)
        counts: Counter[str] = Counter()
        if captures or failures:
            policy = {} if recheck is None else {"recheck": recheck}
            counts = catalog.record([dict(c) for c in captures], [dict(f) for f in failures], **policy)
        for site, url, run_id in lists:
            catalog.record_list(site, url, run_id)
        return counts

    return commit


def _unrecorded(catalog: Catalog, captures: list[dict[str, Any]], failures: list[dict[str, Any]]
                ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    with catalog.engine.connect() as conn:
        if captures:
            held = set(conn.execute(select(Capture.url, Capture.fetched_at, Capture.sha256)
                                    .where(Capture.url.in_(sorted({c["url"] for c in captures})))))
            captures = [c for c in captures if (c["url"], c["fetched_at"], c["sha256"]) not in held]
        if failures:
            held = set(conn.execute(select(Failure.run_id, Failure.url, Failure.reason)
                                    .where(Failure.url.in_(sorted({f["url"] for f in failures})))))
            failures = [f for f in failures if (f.get("run_id"), f["url"], f["reason"]) not in held]
    return captures, failures








def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    raise TypeError(f"a spooled row holds a {type(value).__name__}, which the journal cannot keep")


def _decode(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and "$datetime" in obj:
        return datetime.fromisoformat(obj["$datetime"])
    return obj
