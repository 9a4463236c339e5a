"""Memento (RFC 7089) and a CDX query over the archive, for the web-archiving field's tools.

- ``/timemap/link/{URL}``: every capture of URL, in link format;
- ``/timegate/{URL}``: redirects to the capture nearest ``Accept-Datetime`` (the latest without it);
- ``/memento/{YYYYMMDDhhmmss}/{URL}``: the archived body as it was served, with its original
  content type and ``Memento-Datetime`` (verified against its SHA-256 first, like every read);
- ``/cdx?url=…&from=…&to=…&matchType=exact|prefix&output=json|cdxj``: the capture index.

The original URL is everything after the route's prefix, its query string included, as
Wayback-style servers take it. Like the API, these need the token.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Annotated, Literal

import surt
from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from w3lib.url import safe_url_string

from archive import versions
from archive.catalog import Capture
from archive.storage import IntegrityError, StorageError
from archive.warc import payload_digest

from .auth import require_token
from .state import State

router = APIRouter(tags=["memento"], dependencies=[Depends(require_token)],
                   responses={401: {"description": "no valid token"}})
LINK_FORMAT = "application/link-format"


def _original(request: Request, url: str) -> str:
    """The archived URL as the client wrote it, taken from the raw path: ``%E5%B9%B4`` stays as crawled."""
    raw = request.scope.get("raw_path", b"").decode("latin-1")
    found = re.search(r"https?:/", raw)
    url = re.sub(r"^(https?):/+", r"\1://", raw[found.start():]) if found else url
    return safe_url_string(url + (f"?{request.url.query}" if request.url.query else ""))


def _stamp(moment: datetime) -> str:
    return f"{moment:%Y%m%d%H%M%S}"


def _http_date(moment: datetime) -> str:
    return format_datetime(moment.replace(tzinfo=UTC), usegmt=True)


def wayback_time(text: str, end: bool = False) -> datetime:
    """``2024``, ``202403``, … ``20240301083000`` (14 digits): the start of that span, or its end."""
    if not text.isdigit() or not 4 <= len(text) <= 14 or len(text) % 2:
        raise HTTPException(400, f"{text!r} is not a timestamp: 4 to 14 digits, YYYY[MM[DD[hh[mm[ss]]]]]")
    padded = text + "0101000000"[len(text) - 4:] if len(text) < 14 else text
    try:
        start = datetime.strptime(padded, "%Y%m%d%H%M%S")
    except ValueError:
        raise HTTPException(400, f"{text!r} is not a time") from None
    if not end:
        return start
    if len(text) == 4:
        return start.replace(year=start.year + 1) - timedelta(microseconds=1)
    if len(text) == 6:
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(microseconds=1)
    span = {8: timedelta(days=1), 10: timedelta(hours=1), 12: timedelta(minutes=1), 14: timedelta(seconds=1)}
    return start + span[len(text)] - timedelta(microseconds=1)


def _held(state: State, url: str) -> list[Capture]:
    held = state.catalog.held_captures(url)
    if not held:
        raise HTTPException(404, f"{url} is not in the archive")
    return held


def _links(url: str, held: list[Capture], *, mementos: bool) -> str:
    """Link header (or, with the mementos, the TimeMap itself: then the TimeMap's own entry is ``self``).

    Our own links are relative (``/memento/…``, resolved against the request's URL, RFC 8288 §3.2): built
    from the request's Host header they would send clients wherever a forged Host said."""
    links = [f'<{url}>; rel="original"',
             f'</timegate/{url}>; rel="timegate"',
             f'</timemap/link/{url}>; rel="{"self" if mementos else "timemap"}"; type="{LINK_FORMAT}"'
             f'; from="{_http_date(held[0].fetched_at)}"; until="{_http_date(held[-1].fetched_at)}"']
    if mementos:
        for i, capture in enumerate(held):
            rel = "memento" + (" first" if i == 0 else "") + (" last" if i == len(held) - 1 else "")
            links.append(f'</memento/{_stamp(capture.fetched_at)}/{url}>; rel="{rel.strip()}"'
                         f'; datetime="{_http_date(capture.fetched_at)}"')
    return ",\n".join(links)


@router.api_route("/timemap/link/{url:path}", methods=["GET", "HEAD"], summary="TimeMap of URL (RFC 7089, link format)",
            response_class=PlainTextResponse, responses={200: {"content": {LINK_FORMAT: {}}}})
def timemap(request: Request, url: str, state: State) -> Response:
    url = _original(request, url)
    held = _held(state, url)
    return Response(_links(url, held, mementos=True) + "\n", media_type=LINK_FORMAT)


@router.api_route("/timegate/{url:path}", methods=["GET", "HEAD"],
                  summary="TimeGate: redirect to the capture nearest Accept-Datetime",
            status_code=302, response_class=RedirectResponse)
def timegate(request: Request, url: str, state: State,
             accept_datetime: Annotated[str | None, Header(description="RFC 1123 date")] = None) -> Response:
    url = _original(request, url)
    held = _held(state, url)
    if accept_datetime:
        try:
            wanted = parsedate_to_datetime(accept_datetime)
        except (TypeError, ValueError):
            raise HTTPException(400, f"Accept-Datetime {accept_datetime!r} is not an RFC 1123 date") from None
        wanted = wanted.replace(tzinfo=None) - (wanted.utcoffset() or timedelta())
        chosen = versions.closest(held, wanted)
    else:
        chosen = held[-1]
    return Response(status_code=302, headers={
        "Location": f"/memento/{_stamp(chosen.fetched_at)}/{url}", "Vary": "accept-datetime",
        "Link": _links(url, held, mementos=False).replace("\n", " ")})


@router.api_route("/memento/{stamp}/{url:path}", methods=["GET", "HEAD"],
                  summary="The archived body of URL captured at (or nearest) a time",
            responses={200: {"description": "the body as archived, with its original Content-Type"}})
def memento(request: Request, stamp: str, url: str, state: State) -> Response:
    url = _original(request, url)
    held = _held(state, url)
    start, end = wayback_time(stamp), wayback_time(stamp, end=True)
    within = [c for c in held if start <= c.fetched_at <= end]
    capture = within[0] if within else versions.closest(held, start)
    if not within:  # not captured then: send the client to the memento there is, as Wayback does
        return RedirectResponse(f"/memento/{_stamp(capture.fetched_at)}/{url}", 302)
    if capture.final_url != capture.url and safe_url_string(capture.final_url) != url:
        # URL redirected when captured: the body is the target's, served as the target's memento
        return RedirectResponse(f"/memento/{_stamp(capture.fetched_at)}/{capture.final_url}", 302)
    try:
        body = state.store.get(capture.sha256)
    except IntegrityError as exc:
        raise HTTPException(500, f"refusing to return {url}: {exc}") from None
    except StorageError as exc:
        raise HTTPException(503, str(exc)) from None
    return Response(body, media_type=None, headers={
        "Content-Type": capture.content_type or "application/octet-stream",
        "Memento-Datetime": _http_date(capture.fetched_at),
        "Link": _links(url, held, mementos=False).replace("\n", " "),
        "X-Archive-SHA256": capture.sha256,
        # An archived page is the county's, not ours: no script of it runs with this server's session.
        "Content-Security-Policy": "sandbox; default-src 'none'; frame-ancestors 'self'"})


@router.get("/cdx", summary="The capture index (CDX): one line per capture",
            response_class=PlainTextResponse)
def cdx(state: State, url: Annotated[str, Query(description="the URL, or its start with matchType=prefix")],
        since: Annotated[str | None, Query(alias="from", description="YYYY[MM[DD[hh[mm[ss]]]]]")] = None,
        until: Annotated[str | None, Query(alias="to", description="YYYY[MM[DD[hh[mm[ss]]]]]")] = None,
        match: Annotated[Literal["exact", "prefix"], Query(alias="matchType")] = "exact",
        output: Literal["json", "cdxj"] = "json",
        limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000) -> Response:
    found = versions.index(state.catalog, url, match, wayback_time(since) if since else None,
                           wayback_time(until, end=True) if until else None, limit)
    lines = []
    for c in found:
        entry = {"url": c.url, "timestamp": _stamp(c.fetched_at), "fetched_at": c.fetched_at.isoformat() + "Z",
                 "mime": c.content_type, "status": c.status, "digest": payload_digest(c.sha256), "sha256": c.sha256,
                 "length": c.size, "kind": c.kind, "site": c.site, "novelty": c.novelty}
        lines.append(json.dumps(entry, ensure_ascii=False) if output == "json"
                     else f"{surt.surt(c.url)} {entry['timestamp']} {json.dumps(entry, ensure_ascii=False)}")
    return PlainTextResponse("".join(line + "\n" for line in lines),
                             media_type="application/x-ndjson" if output == "json" else "text/plain")
