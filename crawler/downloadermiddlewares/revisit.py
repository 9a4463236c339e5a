"""Recrawls ask "changed since?" and answer a 304 from the archive.

A report or attachment archived before is requested with the validators its server gave
(If-None-Match, If-Modified-Since), so an unchanged one is not downloaded again. List pages are
always fetched whole: they are where new reports appear, and a list filled in by a script (or
by a CMS whose validators describe only its template) can change while its server says 304. A 304 is turned into a
response carrying the archived body (read back and verified), flagged as a revisit: the spider
reads it as if fetched — an unchanged list page still leads to its reports — and the pipeline
records a revisit capture without storing anything.

The rebuilt response carries the archived headers as the bytes first received (Scrapy would
encode text as UTF-8, and a raw-GBK Content-Disposition would gain a layer of mojibake on every
revisit), freshened only by what the 304 itself sent: a revisit's headers and file name are the
first capture's.
"""

from __future__ import annotations

import asyncio
import logging

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Headers, Response
from scrapy.responsetypes import responsetypes

from archive import headers
from archive.catalog import PARSED_KINDS, Capture
from archive.storage import StorageError
from crawler.extensions.archive import Archive
from crawler.items import text_headers

logger = logging.getLogger(__name__)

#: Headers of a 304 that describe its own (empty) transfer, not the archived body (whose own,
#: as first received, stay).
_TRANSFER = {"content-length", "content-encoding", "transfer-encoding", "content-range"}


def unconditional(request: Request, **meta: object) -> Request:
    """The request without what made it conditional: for a browser pass, which must fetch afresh."""
    kept = {k: v for k, v in request.meta.items() if k not in ("nianbao_prior", "nianbao_revisit", "download_latency")}
    fresh = request.replace(meta={**kept, "refetch": True, **meta})
    for name in ("If-None-Match", "If-Modified-Since"):
        fresh.headers.pop(name, None)
    return fresh


class RevisitMiddleware:
    def __init__(self, crawler: Crawler, archive: Archive) -> None:
        self.crawler, self.archive = crawler, archive
        self.in_memory = crawler.settings.getint("NIANBAO_MAX_BODY_IN_MEMORY")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RevisitMiddleware:
        archive = crawler.get_extension(Archive)
        if archive is None or not crawler.settings.getbool("NIANBAO_CONDITIONAL_REQUESTS"):
            raise NotConfigured
        return cls(crawler, archive)

    def process_request(self, request: Request) -> None:
        prior = self.archive.known.get(request.url)
        if (prior is None or request.method != "GET" or request.meta.get("kind") not in PARSED_KINDS
                or request.meta.get("playwright") or request.meta.get("refetch")):
            return
        request.meta["nianbao_prior"] = prior
        for validator, condition in (("ETag", "If-None-Match"), ("Last-Modified", "If-Modified-Since")):
            value = headers.get(prior.headers, validator)
            if value:
                request.headers.setdefault(condition, headers.raw(value))

    async def process_response(self, request: Request, response: Response) -> Request | Response:
        prior: Capture | None = request.meta.get("nianbao_prior")
        if response.status != 304 or prior is None:
            return response
        try:  # a body too large to hold is not read back: nothing reads it, and it is not stored again
            body = b"" if prior.size > self.in_memory else await asyncio.to_thread(self.archive.store.get, prior.sha256)
        except StorageError as exc:  # unchanged, but our copy is unreadable: fetch it whole (and so repair it)
            logger.warning("%s: archived copy unreadable (%s); fetching it again", request.url, exc)
            return unconditional(request).replace(dont_filter=True)
        fresh = [(name, value) for name, value in headers.pairs(text_headers(response.headers))
                 if name.lower() not in _TRANSFER]
        request.meta["nianbao_revisit"] = prior.sha256
        self.crawler.stats.inc_value("nianbao/not_modified")
        return archived_response(request, 200, headers.freshen(prior.headers, fresh), body, "revisit",
                                 response.protocol)


def archived_response(request: Request, status: int, stored_headers: object, body: bytes, flag: str,
                      protocol: str | None, url: str | None = None) -> Response:
    """A response made of an archived body and its headers as the bytes first received (archive.headers)."""
    received = Headers(headers.as_bytes(stored_headers))
    url = url or request.url
    cls = responsetypes.from_args(headers=received, url=url, body=body)
    return cls(url=url, status=status, headers=received, body=body, request=request, flags=[flag],
               protocol=protocol)
