"""Objects as files under a directory: the embedded default, needing no server."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .base import IntegrityError, MissingObject, ObjectStore, StorageError, object_key
from .blob import Blob

#: Directories fsynced at once by flush(). One at a time, each fsync waits for its own journal commit
#: while the store threads keep writing (8 ms each on the benchmark's ext4, ~2 per new object); fsyncs
#: waiting together share one commit. They wait on the disk, not on the GIL.
SYNC_THREADS = 16
_sync_pool: ThreadPoolExecutor | None = None
_sync_pool_lock = threading.Lock()


def fsync_directory(directory: Path) -> None:
    """Make a directory's new entries durable (a renamed file survives power loss only then)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_directories(directories: list[Path]) -> None:
    """fsync each of ``directories``, together; the first error is raised once all have been tried."""
    global _sync_pool
    if len(directories) == 1:
        fsync_directory(directories[0])
        return
    with _sync_pool_lock:  # one pool per process, however many stores: idle threads are not multiplied
        if _sync_pool is None:
            _sync_pool = ThreadPoolExecutor(SYNC_THREADS, "nianbao-fsync")
    futures = [_sync_pool.submit(fsync_directory, directory) for directory in directories]
    errors = [exc for future in futures if (exc := future.exception()) is not None]
    if errors:
        raise errors[0]


class LocalStore(ObjectStore):
    def __init__(self, root: Path, create: bool = True) -> None:
        self.root = root
        self.location = root.as_uri()
        self._dirs: set[Path] = set()  # fan-out directories known to exist: one mkdir each, not one per object
        self._unsynced: set[Path] = set()  # directories whose new entries flush() must make durable
        self._lock = threading.Lock()
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

    def _intact(self, key: str, blob: Blob) -> bool:
        try:
            with (self.root / key).open("rb") as stored:
                return os.fstat(stored.fileno()).st_size == blob.size and blob.matches(stored)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise StorageError(f"cannot read {key} from {self.location}: {exc.strerror or exc}") from exc

    def _write(self, key: str, blob: Blob) -> None:
        """Write beside the target, read it back, then rename: no half object is ever visible.

        Few system calls on purpose: each one hands the GIL back and forth with the crawl's
        reactor thread, which costs more than the call itself.
        """
        sha256 = blob.sha256
        path = self.root / key
        tmp = path.parent / f".incoming-{sha256[:16]}-{os.getpid()}-{threading.get_ident()}"
        try:
            if path.parent not in self._dirs:
                path.parent.mkdir(parents=True, exist_ok=True)
                with self._lock:
                    self._dirs.add(path.parent)
                    # mkdir may have made sha256/ab/cd, sha256/ab, sha256: their parents hold new entries
                    self._unsynced.update({path.parent.parent, path.parent.parent.parent, self.root})
            # 0o644 less the umask: a parser running as another user can read the archive.
            fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
            with os.fdopen(fd, "w+b") as file:
                for chunk in blob.chunks():
                    file.write(chunk)
                file.flush()
                os.fsync(fd)
                file.seek(0)
                if not blob.matches(file):
                    raise IntegrityError(f"object {sha256} read back from {self.location} differs from its bytes")
            os.replace(tmp, path)
            with self._lock:
                self._unsynced.add(path.parent)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StorageError(f"cannot store object {sha256} in {self.location}: {exc.strerror or exc}") from exc
        except IntegrityError:
            tmp.unlink(missing_ok=True)
            raise

    def flush(self) -> None:
        """fsync the directories that got new entries: a renamed file survives power loss only then."""
        with self._lock:
            directories, self._unsynced = self._unsynced, set()
        if not directories:
            return
        try:
            _fsync_directories(sorted(directories))
        except OSError as exc:
            with self._lock:  # not known durable: the next flush tries them again
                self._unsynced |= directories
            raise StorageError(f"cannot make {self.location} durable: {exc.strerror or exc}") from exc

    def _verify(self, key: str, blob: Blob) -> None:
        # The bytes were compared before the rename; what is left to prove is that they are in place.
        if not self.has(blob.sha256, blob.size):
            raise IntegrityError(f"object {blob.sha256} is not in {self.location} after it was stored")

    def _read(self, key: str) -> bytes:
        try:
            return (self.root / key).read_bytes()
        except FileNotFoundError:
            raise MissingObject(f"object {key} is missing from {self.location}") from None
        except OSError as exc:
            raise StorageError(f"cannot read {key} from {self.location}: {exc.strerror}") from exc
