"""Real servers for the tests (SeaweedFS for S3, PostgreSQL) and what starting them shares."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path


def nianbao_env(home: Path | str) -> dict[str, str]:
    """This process's environment as a user's shell would have it for nianbao: no stray NIANBAO_* of ours, and
    NIANBAO_HOME at ``home``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NIANBAO_")}
    env["NIANBAO_HOME"] = str(home)
    return env


def free_ports(count: int) -> list[int]:
    """Ports free on loopback right now; servers get every port explicitly, so none collide."""
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def stop_process(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
