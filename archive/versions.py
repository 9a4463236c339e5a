"""Versions: every distinct body captured for a document over time, and which one held when.

A document is a URL, or, for a report, its (site, agency, year): a report republished at a
new URL is the same document. Its versions are its distinct bodies in the order they were
first captured; a capture of a body seen before is a revisit, a 404/410 after a version says
the document is gone (its versions stay retrievable).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from archive.catalog import Capture, Catalog, isoformat


class NoVersion(LookupError):
    """Nothing in the archive answers for that URL at that moment; the message says what there is."""


def history(catalog: Catalog, url: str) -> list[dict[str, Any]]:
    """Every capture of ``url``, oldest first, with its version number and whether it was a revisit."""
    versions: dict[str, int] = {}
    rows = []
    for capture in catalog.captures_of(url):
        row = capture.as_dict()
        if capture.novelty == "gone":
            row.update(version=None, revisit=False, gone=True)
        else:
            revisit = capture.sha256 in versions
            version = versions.setdefault(capture.sha256, len(versions) + 1)
            row.update(version=version, revisit=revisit, gone=False)
        rows.append(row)
    return rows


def capture_at(catalog: Catalog, url: str, moment: datetime) -> Capture:
    """The version current at ``moment``: the last capture at or before it (a Memento TimeGate's choice)."""
    captures = catalog.captures_of(url)
    if not captures:
        raise NoVersion(f"{url} is not in the archive")
    before = [c for c in captures if c.fetched_at <= moment]
    if not before:
        raise NoVersion(f"{url} was first captured at {isoformat(captures[0].fetched_at)}, after {isoformat(moment)}")
    if before[-1].novelty == "gone":
        held = [c for c in before if c.novelty != "gone"]
        last = f"; its last version was captured at {isoformat(held[-1].fetched_at)}" if held else ""
        raise NoVersion(f"{url} was gone (HTTP {before[-1].status}) at {isoformat(before[-1].fetched_at)}{last}")
    return before[-1]


def closest(held: list[Capture], moment: datetime) -> Capture:
    """Of a URL's held captures (``Catalog.held_captures``), the one nearest to ``moment`` either side: what a
    Memento TimeGate redirects to."""
    return min(held, key=lambda c: abs((c.fetched_at - moment).total_seconds()))


def index(catalog: Catalog, url: str, match: str = "exact", since: datetime | None = None,
          until: datetime | None = None, limit: int = 10_000) -> list[Capture]:
    """Captures of ``url`` (``exact``), or of every URL starting with it (``prefix``), oldest first: a CDX query."""
    if match == "exact":
        found = [c for c in catalog.captures_of(url)
                 if (since is None or c.fetched_at >= since) and (until is None or c.fetched_at <= until)]
        return found[:limit]
    escaped = url.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    query = select(Capture).where(Capture.url.like(escaped + "%", escape="\\"))
    if since is not None:
        query = query.where(Capture.fetched_at >= since)
    if until is not None:
        query = query.where(Capture.fetched_at <= until)
    with catalog.sessions() as session:
        return list(session.scalars(query.order_by(Capture.url, Capture.fetched_at, Capture.id).limit(limit)))


@dataclass
class Document:
    site: str
    kind: str
    year: int | None
    agency: str | None
    agency_kind: str | None
    title: str | None
    urls: list[str]
    versions: list[str]  # distinct bodies, oldest first
    first_seen: datetime
    last_seen: datetime
    gone: bool
    year_source: str | None = None  # title / document / published (crawler.judge)

    def as_dict(self) -> dict[str, Any]:
        return {"site": self.site, "kind": self.kind, "year": self.year, "agency": self.agency,
                "agency_kind": self.agency_kind, "title": self.title, "urls": self.urls,
                "year_source": self.year_source,
                "versions": len(self.versions), "latest_sha256": self.versions[-1] if self.versions else None,
                "first_seen": isoformat(self.first_seen), "last_seen": isoformat(self.last_seen), "gone": self.gone}


def documents(catalog: Catalog, site: str, year: int | None = None) -> list[Document]:
    """The site's reports as documents (one per agency and year, whatever URLs they were published at)."""
    query = select(Capture).where(Capture.site == site, Capture.kind == "report").order_by(Capture.fetched_at,
                                                                                           Capture.id)
    if year:
        query = query.where(Capture.year == year)
    found: dict[tuple[Any, ...], Document] = {}
    latest_at: dict[str, Capture] = {}  # each URL's newest capture: a document is gone when all its URLs are
    with catalog.sessions() as session:
        for c in session.scalars(query):
            key = (c.agency, c.year) if c.agency and c.year else (c.url,)
            doc = found.get(key)
            if doc is None:
                doc = found[key] = Document(c.site, c.kind, c.year, c.agency, c.agency_kind, c.title, [], [],
                                            c.fetched_at, c.fetched_at, False, c.year_source)
            if c.url not in doc.urls:
                doc.urls.append(c.url)
            if c.novelty != "gone":
                doc.title = c.title or doc.title
                if c.sha256 not in doc.versions:
                    doc.versions.append(c.sha256)
            doc.last_seen = c.fetched_at
            latest_at[c.url] = c
    for doc in found.values():
        doc.gone = all(latest_at[url].novelty == "gone" for url in doc.urls)
    return sorted(found.values(), key=lambda d: (-(d.year or 0), d.agency_kind or "", d.agency or "", d.urls[0]))
