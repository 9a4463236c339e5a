"""What every object store promises.

Objects are addressed by the SHA-256 of their bytes, so identical bodies are stored once
and a key can never point at other bytes than the ones it names. ``put`` returns only after
the stored object was checked; ``get`` never returns bytes whose digest does not match.
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from typing import BinaryIO

from .blob import Blob

_HEX64 = re.compile(r"[0-9a-f]{64}")


class StorageError(RuntimeError):
    """The store could not be reached or refused an operation; nothing was recorded."""


class IntegrityError(StorageError):
    """Stored bytes are missing or do not match their digest."""


class MissingObject(IntegrityError):
    """An object the catalog refers to is not in the store at all."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def object_key(sha256: str) -> str:
    """``sha256/ab/cd/abcd…``: fanned out so no directory or listing grows huge."""
    if not _HEX64.fullmatch(sha256):
        raise ValueError(f"not a SHA-256 hex digest: {sha256!r}")
    return f"sha256/{sha256[:2]}/{sha256[2:4]}/{sha256}"


class ObjectStore(ABC):
    """A content-addressed store of immutable objects."""

    #: A description safe to print: never includes credentials.
    location: str

    def put(self, data: bytes | BinaryIO) -> str:
        """Store ``data`` (bytes, or a seekable file such as a spooled download) once and verify it;
        returns its SHA-256.

        An object already stored is trusted only once checked against ``data``; a damaged copy
        is written again (same key, same bytes: a repair, never a change).
        """
        blob = Blob(data)
        key = object_key(blob.sha256)
        if not self._intact(key, blob):  # missing, another size or other bytes: (re)write
            self._write(key, blob)
            self._verify(key, blob)
        return blob.sha256

    def flush(self) -> None:  # noqa: B027 - a no-op by default, on purpose
        """Make what was stored so far durable (before the catalog refers to it); a no-op where puts are."""

    @abstractmethod
    def _intact(self, key: str, blob: Blob) -> bool:
        """Whether the object at ``key`` holds exactly the blob's bytes (False when missing)."""

    def get(self, sha256: str) -> bytes:
        """The object's bytes, checked against ``sha256`` on the way out."""
        data = self._read(object_key(sha256))
        if sha256_hex(data) != sha256:
            raise IntegrityError(f"object {sha256} in {self.location} is corrupt: its bytes hash differently")
        return data

    @abstractmethod
    def has(self, sha256: str, size: int | None = None) -> bool:
        """Whether the object is stored (with that size, when given)."""

    @abstractmethod
    def _write(self, key: str, blob: Blob) -> None: ...

    @abstractmethod
    def _verify(self, key: str, blob: Blob) -> None:
        """Raise IntegrityError unless the store now holds exactly the blob's bytes at ``key``."""

    @abstractmethod
    def _read(self, key: str) -> bytes:
        """The bytes at key; IntegrityError when missing."""
