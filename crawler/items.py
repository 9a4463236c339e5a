"""What the spider hands to the archive pipeline."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


def text_headers(headers: Mapping[bytes, list[bytes]]) -> dict[str, str]:
    """Scrapy's headers as the catalog keeps them: names and values as received (Latin-1), repeats joined."""
    return {k.decode("latin-1"): b", ".join(v).decode("latin-1") for k, v in headers.items()}


@dataclass
class Capture:
    """One fetched body with everything the catalog records about it."""

    site: str
    kind: str  # list / report / attachment / page (fetched to read a title, not a report)
    url: str
    final_url: str
    status: int
    headers: dict[str, str]
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
    #: The digest of the archived body this capture repeats (answered 304): nothing to store.
    stored: str | None = None


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
