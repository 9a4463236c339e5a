"""A real Redis server (Debian's redis-server) for the many-machine tests: the Celery broker.

No persistence, on purpose: a restart forgets every queued task, the worst case the catalog must cover.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support import free_ports, stop_process

BINARY = "/usr/bin/redis-server"


@dataclass
class RedisServer:
    port: int
    workdir: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 20) -> RedisServer:
        log = (self.workdir / "redis.log").open("ab")
        self.process = subprocess.Popen([BINARY, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                         "--appendonly", "no", "--dir", str(self.workdir)],
                                        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"Redis did not start; see {self.workdir / 'redis.log'}")
            time.sleep(0.1)

    def restart(self) -> None:
        """Killed (what it held is gone) and started again on the same port."""
        self.process.kill()
        self.process.wait(10)
        self.start()

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)


def available() -> bool:
    return shutil.which(BINARY) is not None


def start(workdir: Path) -> RedisServer:
    (port,) = free_ports(1)
    return RedisServer(port, workdir).start()
