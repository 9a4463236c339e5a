"""Objects as files under a directory: the embedded default, needing no server."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .base import IntegrityError, ObjectStore, StorageError, object_key, sha256_hex


def _file_mode() -> int:
    """Objects are readable by whoever the umask allows (a parser may run as another user)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o644 & ~umask


class LocalStore(ObjectStore):
    def __init__(self, root: Path, create: bool = True) -> None:
        self.root = root
        self.location = root.as_uri()
        self.mode = _file_mode()
        if not create:
            if not root.is_dir():
                raise StorageError(f"no archive storage at {root}")
            return
        try:
            root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create storage directory {root}: {exc.strerror}") from exc

    @classmethod
    def from_url(cls, url: str, create: bool = True) -> LocalStore:
        parts = urlsplit(url)
        if parts.scheme != "file" or parts.netloc not in {"", "localhost"}:
            raise StorageError(f"local storage needs a file:///ABSOLUTE/PATH URL, not {url!r}")
        return cls(Path(unquote(parts.path)), create)

    def has(self, sha256: str, size: int | None = None) -> bool:
        try:
            stat = (self.root / object_key(sha256)).stat()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise StorageError(f"cannot look up object {sha256} in {self.location}: {exc.strerror or exc}") from exc
        return size is None or stat.st_size == size

    def _write(self, key: str, data: bytes, sha256: str) -> None:
        path = self.root / key
        tmp = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Write beside the target and rename: a crash or a full disk leaves no half object.
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, self.mode)
            os.replace(tmp, path)
            tmp = None
        except OSError as exc:
            raise StorageError(f"cannot store object {sha256} in {self.location}: {exc.strerror or exc}") from exc
        finally:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)

    def _verify(self, key: str, data: bytes, sha256: str) -> None:
        stored = self._read(key)
        if len(stored) != len(data) or sha256_hex(stored) != sha256:
            raise IntegrityError(f"object {sha256} read back from {self.location} does not match what was written")

    def _read(self, key: str) -> bytes:
        try:
            return (self.root / key).read_bytes()
        except FileNotFoundError:
            raise IntegrityError(f"object {key} is missing from {self.location}") from None
        except OSError as exc:
            raise StorageError(f"cannot read {key} from {self.location}: {exc.strerror}") from exc
