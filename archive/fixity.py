"""Fixity audits: re-read stored objects, recompute their SHA-256, and say what is wrong and who it hurts.

Every object the catalog refers to (or a random sample, for archives too big to read whole
each time) is fetched and re-hashed; a missing or corrupt object is reported with the captures
and runs that refer to it, and the audit is recorded in the catalog with its time, so an
archivist can show when the archive was last proven intact.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from archive.catalog import Catalog, utcnow
from archive.storage import IntegrityError, MissingObject, ObjectStore, StorageError


@dataclass
class Audit:
    id: int | None = None
    checked: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)

    def count(self, problem: str) -> int:
        return sum(p["problem"] == problem for p in self.problems)

    @property
    def ok(self) -> bool:
        return not self.problems


def audit(catalog: Catalog, store: ObjectStore, sample: int | None = None, threads: int = 4,
          progress: Callable[[int, int], None] | None = None) -> Audit:
    started = utcnow()
    objects = catalog.objects()
    chosen = sorted(objects) if sample is None or sample >= len(objects) else random.sample(sorted(objects), sample)
    result = Audit()
    with ThreadPoolExecutor(threads, "nianbao-verify") as pool:
        for done, (digest, problem) in enumerate(pool.map(lambda d: (d, _check(store, d, objects[d])), chosen), 1):
            result.checked = done
            if problem:
                result.problems.append({"sha256": digest, **problem, "referrers": catalog.referrers(digest)})
            if progress:
                progress(done, len(chosen))
    result.id = catalog.record_audit(
        started_at=started, finished_at=utcnow(), storage=store.location, sample=sample, checked=result.checked,
        missing=result.count("missing"), corrupt=result.count("corrupt"), unreadable=result.count("unreadable"),
        problems=result.problems)
    return result


def _check(store: ObjectStore, digest: str, size: int | None) -> dict[str, str] | None:
    try:
        data = store.get(digest)  # re-hashes on the way out
    except MissingObject as exc:
        return {"problem": "missing", "detail": str(exc)}
    except IntegrityError as exc:
        return {"problem": "corrupt", "detail": str(exc)}
    except StorageError as exc:
        return {"problem": "unreadable", "detail": str(exc)}
    if size is not None and len(data) != size:  # cannot happen with a matching digest; said if it does
        return {"problem": "corrupt", "detail": f"{len(data)} bytes where the catalog says {size}"}
    return None
