"""One crawl of a site at a time, whoever starts it (the scheduler or a person).

A lock file per site under ``NIANBAO_HOME/locks``, held with ``flock`` for as long as the
crawl process lives: the kernel lets it go when the process ends, however it ends, so a
crashed crawl never leaves a site locked. (One machine: crawls of a shared catalog from
several machines need the same NIANBAO_HOME on shared storage that supports flock.)
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class SiteLocks:
    def __init__(self, home: Path) -> None:
        self.directory = home / "locks"
        self.held: dict[str, int] = {}

    def acquire(self, site_ids: list[str]) -> dict[str, str]:
        """Lock every site that is free; returns the busy ones, each with who holds it."""
        self.directory.mkdir(parents=True, exist_ok=True)
        busy = {}
        for site_id in site_ids:
            fd = os.open(self.directory / f"{site_id}.lock", os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip()
                os.close(fd)
                busy[site_id] = f"pid {holder}" if holder else "another process"
                continue
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            self.held[site_id] = fd
        return busy

    def holders(self, site_ids: list[str]) -> dict[str, str]:
        """The sites another process is crawling, with who: each lock tried and let go at once, nothing written.

        For the scheduler, which starts no crawl for a site that is busy anyway; the crawl's own
        acquire() stays what decides (a crawl trying in the same microsecond leaves the site, as if busy).
        """
        if not self.directory.is_dir():
            return {}
        busy = {}
        for site_id in site_ids:
            try:
                fd = os.open(self.directory / f"{site_id}.lock", os.O_RDONLY)
            except FileNotFoundError:
                continue  # never crawled here: nobody holds it
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                fcntl.flock(fd, fcntl.LOCK_UN)
            except BlockingIOError:
                holder = os.pread(fd, 64, 0).decode(errors="replace").strip()
                busy[site_id] = f"pid {holder}" if holder else "another process"
            finally:
                os.close(fd)
        return busy

    def release(self) -> None:
        for fd in self.held.values():
            os.close(fd)
        self.held.clear()
