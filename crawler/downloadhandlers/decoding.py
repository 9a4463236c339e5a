"""Content-Encoding decoded as the body arrives, in bounded steps.

Scrapy decodes a whole body at once after it has arrived; here every step turns at most
``CHUNK`` bytes of input into at most ``CHUNK`` bytes of output, so a gzip bomb is seen growing
and stopped at DOWNLOAD_MAXSIZE without ever being in memory. A server that says ``gzip`` but
sends plain bytes (a common misconfiguration) gets its bytes kept as sent.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator

import brotli

try:
    from compression import zstd  # Python 3.14
except ImportError:  # pragma: no cover - depends on the Python
    from backports import zstd

CHUNK = 64 * 1024
#: What the crawler asks for (Accept-Encoding), and so what it must decode.
ACCEPTED = (b"gzip", b"deflate", b"br", b"zstd")
_ALIASES = {b"x-gzip": b"gzip"}

Step = Callable[[bytes], Iterator[bytes]]


class DecodingError(ValueError):
    """A body that is not what its Content-Encoding says, past its first bytes."""


def _zlib(wbits: int, fallback: int | None = None) -> Step:
    state = {"d": zlib.decompressobj(wbits), "fallback": fallback, "out": False}

    def step(data: bytes) -> Iterator[bytes]:
        while data:
            d = state["d"]
            try:
                out = d.decompress(data, CHUNK)
            except zlib.error:
                if state["fallback"] is not None and not state["out"]:  # deflate may be raw (no zlib header)
                    state["d"], state["fallback"] = zlib.decompressobj(state["fallback"]), None
                    continue
                raise
            state["out"] = state["out"] or bool(out)
            yield out
            data = d.unconsumed_tail
            if d.eof:  # another gzip member may follow; anything else after the end is not the body
                rest = d.unused_data
                if not (rest and rest[:2] == b"\x1f\x8b"):
                    return
                state["d"], data = zlib.decompressobj(wbits), rest

    return step


def _brotli() -> Step:
    d = brotli.Decompressor()

    def step(data: bytes) -> Iterator[bytes]:
        yield d.process(data, output_buffer_limit=CHUNK)
        while not d.is_finished() and not d.can_accept_more_data():
            yield d.process(b"", output_buffer_limit=CHUNK)

    return step


def _zstd() -> Step:
    state = {"d": zstd.ZstdDecompressor()}

    def step(data: bytes) -> Iterator[bytes]:
        while data:
            if state["d"].eof:  # a body may hold several frames (RFC 8878)
                state["d"] = zstd.ZstdDecompressor()
            d = state["d"]
            yield d.decompress(data, CHUNK)
            while not d.eof and not d.needs_input:
                yield d.decompress(b"", CHUNK)
            data = d.unused_data if d.eof else b""

    return step


_STEPS: dict[bytes, Callable[[], Step]] = {
    b"gzip": lambda: _zlib(16 + zlib.MAX_WBITS),
    b"deflate": lambda: _zlib(zlib.MAX_WBITS, fallback=-zlib.MAX_WBITS),
    b"br": _brotli,
    b"zstd": _zstd,
}


def codings(content_encoding: list[bytes]) -> list[bytes]:
    """The codings to undo, last applied first; stops at one it cannot undo (kept, as Scrapy does)."""
    applied = [_ALIASES.get(c.strip().lower(), c.strip().lower())
               for value in content_encoding for c in value.split(b",") if c.strip()]
    undo = []
    for coding in reversed(applied):
        if coding == b"identity":
            continue
        if coding not in _STEPS:
            break
        undo.append(coding)
    return undo


def _through(step: Step, pieces: Iterator[bytes]) -> Iterator[bytes]:
    for piece in pieces:
        if piece:
            yield from step(piece)


class Decoder:
    """Feeds a body through its codings; each ``feed`` yields decoded pieces of at most CHUNK bytes."""

    def __init__(self, undo: list[bytes]) -> None:
        self.undo = undo
        self._steps = [_STEPS[c]() for c in undo]
        self._started = False
        #: Set when the first bytes were not what the header said: the body is kept as sent.
        self.not_encoded = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self.not_encoded or not self._steps:
            yield data
            return
        pieces: Iterator[bytes] = iter((data,))
        for step in self._steps:
            pieces = _through(step, pieces)
        try:
            first = next(pieces, b"")
        except (zlib.error, brotli.error, zstd.ZstdError) as exc:
            if self._started:
                raise DecodingError(f"{b', '.join(self.undo).decode()} body broken: {exc}") from exc
            self.not_encoded = True  # says gzip, sends plain: keep the bytes as they came
            yield data
            return
        self._started = True
        yield first
        try:
            yield from pieces
        except (zlib.error, brotli.error, zstd.ZstdError) as exc:
            raise DecodingError(f"{b', '.join(self.undo).decode()} body broken: {exc}") from exc
