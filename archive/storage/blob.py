"""Bytes to store, held in memory or in a file, and read in chunks.

A 200 MB attachment is spooled to a temporary file by the crawler and never becomes one bytes
object; the stores read it here chunk by chunk, for its digest, its upload and its check.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from typing import BinaryIO

CHUNK = 1024 * 1024


class Blob:
    """``data`` (bytes) or a readable, seekable binary file, with its size and SHA-256."""

    def __init__(self, data: bytes | BinaryIO) -> None:
        self._data = data if isinstance(data, bytes | bytearray | memoryview) else None
        self._file = None if self._data is not None else data
        digest, size = hashlib.sha256(), 0
        for chunk in self.chunks():
            digest.update(chunk)
            size += len(chunk)
        self.sha256, self.size = digest.hexdigest(), size
        self._part_md5s: dict[int, tuple[bytes, ...]] = {}

    def chunks(self, size: int = CHUNK) -> Iterator[bytes]:
        if self._data is not None:
            view = memoryview(self._data)
            for start in range(0, len(view), size):
                yield bytes(view[start:start + size])
            return
        self._file.seek(0)
        while chunk := self._file.read(size):
            yield chunk

    def reader(self) -> BinaryIO:
        """The bytes from their start, as a file (what upload APIs take)."""
        if self._data is not None:
            return io.BytesIO(self._data)
        self._file.seek(0)
        return self._file

    def part_md5s(self, part_size: int) -> tuple[bytes, ...]:
        """The MD5 of each ``part_size`` part (S3's ETag is made of them), read once per part size:
        a put checks the ETag up to three times, and a 200 MB body is not read three more times for it."""
        if part_size not in self._part_md5s:
            self._part_md5s[part_size] = tuple(hashlib.md5(chunk).digest() for chunk in self.chunks(part_size))
        return self._part_md5s[part_size]

    def matches(self, stored: BinaryIO) -> bool:
        """Whether ``stored`` holds exactly these bytes, compared chunk by chunk."""
        for chunk in self.chunks():
            if stored.read(len(chunk)) != chunk:
                return False
        return stored.read(1) == b""
