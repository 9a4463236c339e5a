"""The archive as WARC 1.1 files and a CDXJ index, for the web-archiving tools (pywb, warcio …).

Captures are written oldest first, streaming: one body in memory at a time, each read back
through ``store.get`` so a corrupt object stops the export instead of entering a WARC. The
first capture of a body in an export becomes a ``response`` record; every later capture of
the same body (an unchanged recrawl, or the same file at another URL) an identical-payload
``revisit`` pointing at it, so no body is written twice. A body first captured before the
exported selection is written in full: the export stands on its own.

Layout (see README, "WARC export"): ``response``/``revisit`` records carry the stored status
line and headers (bytes as received, repeats apart) as an HTTP/1.x message describing the
stored body (``Content-Length`` its length; codings Scrapy already undid moved to
``X-Archive-Orig-*``); each is followed by a ``metadata``
record with what the catalog knows (site, kind, year, agency, title, the URL requested before
redirects); digests are ``sha256:`` in base32, as warcio writes and checks them.
"""

from __future__ import annotations

import base64
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from importlib import metadata
from pathlib import Path

import surt
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParser

from archive import headers as http_headers
from archive.catalog import Capture, Catalog, isoformat, utcnow
from archive.storage import ObjectStore, StorageError

from .warcfiles import INDEX_NAME, ExportError, WarcFiles

__all__ = ["DEFAULT_MAX_SIZE", "INDEX_NAME", "ExportError", "ExportSummary", "export_warc", "payload_digest"]

DEFAULT_MAX_SIZE = 1_000_000_000
REVISIT_PROFILE = "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
#: A capture recorded from a 304 answer to a conditional request: the stored body, revalidated.
NOT_MODIFIED = 304
#: Codings whose signature shows the stored body still carries them (Scrapy left them undone).
_SIGNATURES = {"gzip": b"\x1f\x8b", "x-gzip": b"\x1f\x8b", "zstd": b"\x28\xb5\x2f\xfd"}


@dataclass
class ExportSummary:
    files: list[Path] = field(default_factory=list)
    records: int = 0
    responses: int = 0
    revisits: int = 0
    bytes: int = 0


@dataclass(frozen=True)
class _Original:
    """Where a body was first written in this export: what its revisits refer to."""

    uri: str
    date: str
    record_id: str
    #: The body's first bytes: whether its Content-Encoding still applies, for the revisits too.
    start: bytes


def export_warc(catalog: Catalog, store: ObjectStore, out: Path, *, site: str | None = None,
                since: datetime | None = None, max_size: int = DEFAULT_MAX_SIZE) -> ExportSummary:
    """Write the captures of ``site`` (all sites by default) fetched at or after ``since`` into ``out``."""
    prefix = f"nianbao-{utcnow():%Y%m%d%H%M%S}"
    files = WarcFiles(out, prefix, max_size, _warcinfo(prefix, site, since))
    summary, originals, index = ExportSummary(), dict[str, _Original](), list[str]()
    try:
        for capture, status in _selected(catalog, site, since):
            original = originals.get(capture.sha256)
            if original is None:
                body = _body(store, capture)
                record = _response(capture, status, body)
                originals[capture.sha256] = _Original(_target(capture), isoformat(capture.fetched_at),
                                                      record.rec_headers.get_header("WARC-Record-ID"), body[:4])
                summary.responses += 1
            else:
                record = _revisit(capture, status, original)
                summary.revisits += 1
            placed = files.write([record, _metadata(capture, record)])
            index.append(_cdxj(capture, status, record, placed[0]))
        summary.files = files.finish(index)
    except BaseException:
        files.abort()
        raise
    summary.records = files.records
    summary.bytes = sum(path.stat().st_size for path in summary.files)
    return summary


def payload_digest(sha256_hex: str) -> str:
    """``sha256:`` + base32, the form warcio writes and verifies (and pywb indexes)."""
    return "sha256:" + base64.b32encode(bytes.fromhex(sha256_hex)).decode("ascii")


def _selected(catalog: Catalog, site: str | None, since: datetime | None) -> Iterator[tuple[Capture, int]]:
    """The captures to export, each with the HTTP status to write for it.

    A 304 revalidated the response the archive holds for that URL: it is written as that
    response freshened by the 304's headers (as an HTTP cache does, RFC 9111 §4.3.4), with
    that response's status, so replay shows the page rather than an empty 304. Captures
    before ``since`` are read for those statuses only.
    """
    served: dict[tuple[str, str], int] = {}
    for capture in catalog.captures(site=site):
        key = (capture.url, capture.sha256)
        if capture.status != NOT_MODIFIED:
            served[key] = capture.status
        if since is None or capture.fetched_at >= since:
            yield capture, served.get(key, 200)


def _body(store: ObjectStore, capture: Capture) -> bytes:
    try:
        return store.get(capture.sha256)
    except StorageError as exc:
        raise ExportError(f"capture {capture.id} ({capture.url} at {isoformat(capture.fetched_at)}): {exc}; "
                          "export abandoned, nothing written") from exc


def _target(capture: Capture) -> str:
    """The URI the stored status, headers and body came from: the last of any redirects."""
    return capture.final_url or capture.url


def _response(capture: Capture, status: int, body: bytes) -> ArcWarcRecord:
    head = _http_head(capture, status, len(body), body[:4])
    return _record("response", capture, body, {"WARC-Payload-Digest": payload_digest(capture.sha256)}, head)


def _revisit(capture: Capture, status: int, original: _Original) -> ArcWarcRecord:
    head = _http_head(capture, status, capture.size, original.start)
    return _record("revisit", capture, b"", {
        "WARC-Profile": REVISIT_PROFILE,
        "WARC-Refers-To": original.record_id,
        "WARC-Refers-To-Target-URI": original.uri,
        "WARC-Refers-To-Date": original.date,
        "WARC-Payload-Digest": payload_digest(capture.sha256),
    }, head)


def _metadata(capture: Capture, described: ArcWarcRecord) -> ArcWarcRecord:
    facts = {"requested-uri": capture.url, "method": capture.method, "http-status": capture.status,
             "site": capture.site, "kind": capture.kind, "year": capture.year, "agency": capture.agency,
             "agency-kind": capture.agency_kind, "title": capture.title, "filename": capture.filename,
             "via": capture.referrer, "sha256": capture.sha256, "novelty": capture.novelty,
             "run": capture.run_id, "capture": capture.id}
    block = "".join(f"{name}: {' '.join(str(value).split())}\r\n" for name, value in facts.items()
                    if value not in (None, ""))
    return _record("metadata", capture, block.encode("utf-8"),
                   {"WARC-Refers-To": described.rec_headers.get_header("WARC-Record-ID")},
                   content_type="application/warc-fields")


def _record(kind: str, capture: Capture, payload: bytes, headers: dict[str, str], http_head: bytes | None = None,
            content_type: str = "application/http; msgtype=response") -> ArcWarcRecord:
    warc_headers = StatusAndHeaders("", [
        ("WARC-Type", kind), ("WARC-Record-ID", StatusAndHeadersParser.make_warc_id()),
        ("WARC-Date", isoformat(capture.fetched_at)), ("WARC-Target-URI", _target(capture)), *headers.items(),
    ], protocol="WARC/1.1")
    return ArcWarcRecord("warc", kind, warc_headers, io.BytesIO(payload),
                         None if http_head is None else _RawHead(http_head),
                         content_type, len(payload), payload_length=len(payload))


class _RawHead:
    """An HTTP header block that warcio writes (and digests) as given.

    warcio would serialize parsed headers again, percent-encoding any byte over 127 (a GBK
    file name in a Content-Disposition); these are the bytes the server sent.
    """

    def __init__(self, raw: bytes) -> None:
        self.headers_buff = raw

    def compute_headers_buffer(self, header_filter: object = None) -> None:
        """Already computed."""


def _http_head(capture: Capture, status: int, length: int, start: bytes) -> bytes:
    """The stored answer as an HTTP/1.x header block describing the stored (decoded) body.

    Headers are written as the bytes received, in order, a repeated one (Set-Cookie) as often as
    it came. ``start`` (the body's first bytes) tells whether a Content-Encoding still applies:
    Scrapy removes the codings it undid, but one it could not stays on the body. The reason
    phrase is not kept by Scrapy: the standard one is written.
    """
    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    protocol = capture.protocol if re.fullmatch(r"HTTP/1\.[01]", capture.protocol or "") else "HTTP/1.1"
    lines, length_kept = [f"{protocol} {status} {reason}".encode("ascii")], False
    for name, value in http_headers.pairs(capture.headers):
        low, value = name.lower(), " ".join(value.splitlines())
        if low == "content-length" and value.strip() == str(length) and not length_kept:
            length_kept = True
        elif low in ("content-length", "transfer-encoding") or (low == "content-encoding"
                                                               and not _still_encoded(value, start)):
            name = f"X-Archive-Orig-{name}"
        lines.append(http_headers.raw(name) + b": " + http_headers.raw(value))
    if not length_kept:
        lines.append(f"Content-Length: {length}".encode("ascii"))
    return b"".join(line + b"\r\n" for line in lines) + b"\r\n"


def _still_encoded(codings: str, start: bytes) -> bool:
    outer = codings.split(",")[-1].strip().lower()
    if outer == "deflate":
        return len(start) >= 2 and start[0] & 0x0F == 8 and (start[0] << 8 | start[1]) % 31 == 0
    return outer in _SIGNATURES and start.startswith(_SIGNATURES[outer])


def _cdxj(capture: Capture, status: int, record: ArcWarcRecord, placed: tuple[str, int, int]) -> str:
    """The record's line as pywb's ``cdx-indexer --cdxj`` writes it (SURT key, 14-digit timestamp)."""
    filename, offset, length = placed
    entry = {"url": _target(capture)}
    if record.rec_type == "revisit":
        entry["mime"] = "warc/revisit"
    else:
        mime = http_headers.get(capture.headers, "Content-Type") or ""
        entry["mime"] = mime.replace(" ", ";").split(";", 1)[0] or "unk"
        entry["status"] = str(status)
    entry.update(digest=payload_digest(capture.sha256), length=str(length), offset=str(offset), filename=filename)
    return f"{surt.surt(entry['url'])} {capture.fetched_at:%Y%m%d%H%M%S} {json.dumps(entry)}\n"


def _warcinfo(prefix: str, site: str | None, since: datetime | None) -> dict[str, str]:
    selection = ", ".join(f"{k}={v}" for k, v in (("site", site), ("since", isoformat(since))) if v) or "everything"
    return {
        "software": f"nianbao/{_version('nianbao')} warcio/{_version('warcio')}",
        "format": "WARC File Format 1.1",
        "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
        "isPartOf": prefix,
        "description": f"nianbao archive export ({selection}): Chinese government information-disclosure "
                       "annual reports, their attachments and list pages",
    }


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "unknown"
