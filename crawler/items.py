"""What the spider hands to the archive pipeline."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import BinaryIO

from archive.headers import stored_form


def text_headers(headers: Mapping[bytes, list[bytes]]) -> list[list[str]]:
    """Scrapy's headers as the catalog keeps them (archive.headers): the bytes received, repeats apart."""
    return stored_form(headers.items())


@dataclass
class Capture:
    """One fetched body with everything the catalog records about it."""

    site: str
    kind: str  # list / report / attachment / page (fetched to read a title, not a report)
    url: str
    final_url: str
    status: int
    headers: list[list[str]]
    body: bytes = field(repr=False)
    fetched_at: datetime
    method: str = "GET"
    content_type: str | None = None
    referrer: str | None = None
    year: int | None = None
    agency: str | None = None
    agency_kind: str | None = None
    title: str | None = None
    filename: str | None = None
    #: Where ``year`` came from: title, document (heading, 统计期限) or published (the date, less a year).
    year_source: str | None = None
    #: Why the capture is (or is not) a report, in crawler.judge's words.
    judgement: str | None = None
    #: What the status line said of the protocol (``HTTP/1.1``), as Scrapy's download handler gives it.
    protocol: str | None = None
    #: The digest of the archived body this capture repeats (answered 304): nothing to store.
    stored: str | None = None
    #: A body too large to hold in memory, spooled to a temporary file by the download handler
    #: (``body`` is then empty); the archive stores it from there and closes it.
    body_file: BinaryIO | None = field(default=None, repr=False)
    #: The body's size, where it is not ``len(body)`` (a spooled body, or a revisit not read back).
    size: int | None = None
    #: Read back from the archive to go on from an interrupted run (crawler.downloadermiddlewares.replay):
    #: recorded by that run, not again.
    replayed: bool = False


@dataclass
class FoundList:
    """A report list found by discovery, to be remembered for the site's next crawl."""

    site: str
    url: str


@dataclass
class FetchFailure:
    """A URL that could not be archived, and why, in words an operator can act on."""

    site: str
    url: str
    reason: str
    kind: str | None = None
