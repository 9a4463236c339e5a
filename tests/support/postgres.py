"""A real PostgreSQL server for the catalog tests: Debian's binaries, a throw-away cluster.

PostgreSQL refuses to run as root, so as root (CI) the cluster is owned by the ``postgres``
system user that Debian's package creates.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support import free_ports, stop_process


@dataclass
class PostgresServer:
    url: str
    process: subprocess.Popen
    workdir: Path

    def stop(self) -> None:
        stop_process(self.process)
        shutil.rmtree(self.workdir, ignore_errors=True)


def binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    return Path(found[-1]).parent if found else None


def start(timeout: float = 30) -> PostgresServer:
    bindir = binaries()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed: apt-get install postgresql (.ci/run does)")
    # Its own directory right under /tmp: pytest's are private to root, out of the postgres user's reach.
    workdir = Path(tempfile.mkdtemp(prefix="nianbao-postgres-"))
    data = workdir / "data"
    prefix: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(workdir, "postgres")
        prefix = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "nianbao", "--auth=trust",
                    "-E", "UTF8", "--locale=C"], check=True, capture_output=True)
    (port,) = free_ports(1)
    log = (workdir / "postgres.log").open("wb")
    process = subprocess.Popen([*prefix, str(bindir / "postgres"), "-D", str(data), "-p", str(port),
                                "-c", "listen_addresses=127.0.0.1", "-k", str(workdir), "-c", "fsync=off"],
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout
    while subprocess.run([str(bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                         capture_output=True).returncode != 0:
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"PostgreSQL did not start; see {workdir / 'postgres.log'}")
        time.sleep(0.2)
    return PostgresServer(f"postgresql+psycopg2://nianbao@127.0.0.1:{port}/postgres", process, workdir)
