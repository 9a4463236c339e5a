"""Downloads whose memory stays bounded whatever a server sends.

Scrapy's HTTP/1.1 handler gathers a body in memory and HttpCompressionMiddleware then decodes a
second copy: a 200 MB download or a gzip bomb costs several times its size, for each response in
flight. Here a body is decoded as it arrives (decoding.py), its decoded size held to
DOWNLOAD_MAXSIZE as it grows, and written to a spool that moves to an anonymous temporary file past
NIANBAO_SPOOL_MEMORY. A body larger than NIANBAO_MAX_BODY_IN_MEMORY never becomes bytes: the
response comes with an empty body and the file in ``meta["nianbao_body_file"]``, and the archive
stores it from there (as warcprox and Heritrix do). Content-Encoding stays in the headers as
received; the response is flagged ``decoded``. Pages for the browser (``meta["playwright"]``) go to
scrapy-playwright, whose handler this extends.
"""

from __future__ import annotations

import tempfile
from typing import Any

from scrapy import Request
from scrapy.core.downloader.handlers.http11 import _ResponseReader, _ScrapyAgent
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response
from scrapy.utils._download_handlers import wrap_twisted_exceptions
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler
from twisted.web.client import Response as TxResponse

from crawler.extensions.hostrate import sent

from .decoding import ACCEPTED, Decoder, DecodingError, codings

BODY_FILE = "nianbao_body_file"
BODY_SIZE = "nianbao_body_size"
_CANCELLED = "nianbao_cancelled"
_SPOOL = "nianbao_spool"


class BodyTooLarge(IgnoreRequest):
    """More than DOWNLOAD_MAXSIZE arrived, or would after decoding: cancelled, nothing kept."""


class Spool:
    """Where a body goes as it arrives: decoded, counted, in memory at first and then on disk."""

    def __init__(self, request: Request, content_encoding: list[bytes], maxsize: int, memory: int) -> None:
        self.request, self.maxsize = request, maxsize
        self.decoder = Decoder(codings(content_encoding) if request.method != "HEAD" else [])
        # Closed when the body is dropped, or by whoever takes it from the response (the archive).
        self.file = tempfile.SpooledTemporaryFile(max_size=memory)  # noqa: SIM115
        self.size = 0
        self.error: IgnoreRequest | None = None

    def write(self, data: bytes) -> bool:
        """False once the body is over the limit or broken (``error`` says which): cancel the download."""
        try:
            for piece in self.decoder.feed(data):
                self.size += len(piece)
                if self.maxsize and self.size > self.maxsize:
                    self.file.close()
                    decoded = self.decoder.undo and not self.decoder.not_encoded
                    what = f"{b', '.join(self.decoder.undo).decode()} body decodes to" if decoded else "body of"
                    self.error = BodyTooLarge(f"too large: {what} more than DOWNLOAD_MAXSIZE ({self.maxsize}) bytes")
                    return False
                self.file.write(piece)
        except DecodingError as exc:
            self.file.close()
            self.error = IgnoreRequest(f"not readable: {exc}")
            return False
        return True


class _SpoolingReader(_ResponseReader):
    """Scrapy's body reader writing to a Spool instead of a BytesIO."""

    spool: Spool
    in_memory: int

    def dataReceived(self, data: bytes) -> None:  # noqa: N802 - Twisted's naming
        if self._finished.called:
            return
        self._bytes_received += len(data)
        if self._maxsize and self._bytes_received > self._maxsize:  # a stream that decodes to nothing, forever
            self.spool.file.close()
            self.spool.error = BodyTooLarge(f"too large: more than DOWNLOAD_MAXSIZE ({self._maxsize}) bytes received")
        if self.spool.error or not self.spool.write(data):
            self._request.meta[_CANCELLED] = self.spool.error
            self._finished.cancel()

    def _finish_response(self, flags: list[str] | None = None, stop_download: Any = None) -> None:
        spool = self.spool
        flags = [*(flags or []), *(["decoded"] if spool.decoder.undo and not spool.decoder.not_encoded else [])]
        if spool.size > self.in_memory:
            spool.file.seek(0)
            self._request.meta[BODY_FILE] = spool.file  # closed (and gone from disk) once stored or dropped
            self._request.meta[BODY_SIZE] = spool.size  # for the spider: only the archive touches the file
            body = b""
        else:
            spool.file.seek(0)
            body = spool.file.read()
            spool.file.close()
        self._finished.callback({"txresponse": self._txresponse, "body": body, "flags": flags,
                                 "certificate": self._certificate, "ip_address": self._ip_address,
                                 "stop_download": stop_download})


class _SpoolingAgent(_ScrapyAgent):
    def __init__(self, *, memory: int, in_memory: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.memory, self.in_memory = memory, in_memory

    def _cb_bodyready(self, txresponse: TxResponse, request: Request) -> Any:
        deliver = txresponse.deliverBody

        def deliver_to_spool(reader: _ResponseReader) -> None:  # Scrapy's reader, made to write to a spool
            reader.__class__ = _SpoolingReader
            reader.spool = Spool(request, txresponse.headers.getRawHeaders(b"content-encoding", []),
                                 reader._maxsize, self.memory)
            reader.in_memory = self.in_memory
            request.meta[_SPOOL] = reader.spool  # closed by the handler if the download fails midway
            deliver(reader)

        txresponse.deliverBody = deliver_to_spool
        return super()._cb_bodyready(txresponse, request)


class HTTPDownloadHandler(ScrapyPlaywrightDownloadHandler):
    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        self.memory = crawler.settings.getint("NIANBAO_SPOOL_MEMORY")
        self.in_memory = crawler.settings.getint("NIANBAO_MAX_BODY_IN_MEMORY")

    async def download_request(self, request: Request) -> Response:
        sent(self._crawler, request)  # for the busiest second per host
        if request.meta.get("playwright"):
            return await super().download_request(request)
        request.headers.setdefault("Accept-Encoding", b", ".join(ACCEPTED))
        request.meta.pop(BODY_SIZE, None)
        stale = request.meta.pop(BODY_FILE, None)  # a retry or redirect copies the meta of the answer before
        if stale is not None:
            stale.close()
        agent = _SpoolingAgent(
            memory=self.memory, in_memory=self.in_memory, contextFactory=self._contextFactory,
            bindAddress=self._bind_address, pool=self._pool, maxsize=self._default_maxsize,
            warnsize=self._default_warnsize, fail_on_dataloss=self._fail_on_dataloss, crawler=self._crawler,
            tls_verbose_logging=self._tls_verbose_logging,
        )
        try:
            with wrap_twisted_exceptions():  # as Scrapy's own handler does
                return await maybe_deferred_to_future(agent.download_request(request))
        except Exception as exc:
            spool = request.meta.get(_SPOOL)
            if spool is not None:  # timed out, connection lost: its temporary file goes now, not at garbage collection
                spool.file.close()
            cancelled = request.meta.pop(_CANCELLED, None)
            if cancelled is not None:  # the reason, instead of a bare DownloadCancelledError
                raise cancelled from exc
            raise
        finally:
            request.meta.pop(_SPOOL, None)
