"""One scheduler per catalog: the others wait as standbys and the first to get the lock takes over.

On PostgreSQL (a catalog shared by machines) a session advisory lock, held on a connection of its
own for as long as the service lives: when the service dies its connection ends and PostgreSQL lets
the lock go, so a standby trying every second takes over within about a second. A killed process's
socket is closed by its kernel at once; a machine that vanishes is noticed by the server's keepalive
on that one session (set to give up after about 25 s of silence, not the system's two hours). Its
application_name says who holds it. On SQLite (one machine) a lock file beside the database (flock).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from archive.catalog import Catalog

#: The advisory lock's key ("nianbao" + 1: the schema upgrade and the parse claims use "nianbao" itself).
SCHEDULER_LOCK = 0x6E69616E62616F + 1
#: TCP keepalive of the lock's session on the server: 10 s idle, then 3 probes 5 s apart; unacknowledged sends 25 s.
KEEPALIVE = {"tcp_keepalives_idle": "10", "tcp_keepalives_interval": "5", "tcp_keepalives_count": "3",
             "tcp_user_timeout": "25000"}


class Leadership:
    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.me = f"nianbao scheduler {socket.gethostname()} pid {os.getpid()}"
        self.connection: Connection | None = None
        self.fd: int | None = None

    @property
    def shared(self) -> bool:
        return self.catalog.engine.dialect.name == "postgresql"

    def acquire(self) -> bool:
        """Take the lock if it is free (never waits)."""
        if not self.shared:
            return self._flock()
        connection = self.catalog.engine.connect()
        try:
            connection.execute(text("SELECT set_config('application_name', :me, false)"), {"me": self.me[:63]})
            for name, value in KEEPALIVE.items():  # the server's side of this session: a dead peer found soon
                connection.execute(text("SELECT set_config(:name, :value, false)"), {"name": name, "value": value})
            got = connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": SCHEDULER_LOCK})
            connection.commit()
        except SQLAlchemyError:
            connection.close()
            raise
        if got:
            self.connection = connection
        else:
            connection.close()
        return bool(got)

    def holder(self) -> str:
        """Who holds the lock, as far as the database tells."""
        if not self.shared:
            return f"the scheduler of {self.catalog.engine.url.database}"
        query = text("SELECT a.application_name, a.client_addr FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
                     " WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :high AND l.objid = :low")
        with self.catalog.engine.connect() as connection:
            row = connection.execute(query, {"high": SCHEDULER_LOCK >> 32, "low": SCHEDULER_LOCK & 0xFFFFFFFF}).first()
        return f"{row[0] or 'unnamed'} from {row[1] or 'local socket'}" if row else "nobody now"

    def held(self) -> bool:
        """Still ours: the lock's connection answers (a PostgreSQL restart ends the session and the lock)."""
        if not self.shared:
            return self.fd is not None
        if self.connection is None:
            return False
        try:
            self.connection.execute(text("SELECT 1"))
            self.connection.commit()
            return True
        except SQLAlchemyError:
            return False

    def release(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(SQLAlchemyError):
                self.connection.invalidate()  # closed, not returned to the pool: the session ends, the lock with it
            self.connection = None
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def _flock(self) -> bool:
        path = Path(f"{self.catalog.engine.url.database}.scheduler.lock")
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self.fd = fd
        return True
