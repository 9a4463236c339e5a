"""Servers that accept a connection and never answer: the command stops, naming them, instead of hanging."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import run_nianbao


@pytest.fixture
def blackhole() -> Iterator[int]:
    """A loopback port whose connections are accepted (the kernel completes the handshake) and never answered."""
    server = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])  # kept open, never read from or written to
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    server.close()
    assert held, "nothing ever connected to the blackhole: the test proved nothing"


@pytest.fixture
def registry(tmp_path: Path) -> Path:
    path = tmp_path / "sites.yaml"
    path.write_text("sites:\n  - {id: wanzai, name: 万载县, home: 'http://www.wanzai.gov.cn/'}\n", "utf-8")
    return path


def _crawl(registry: Path, env: dict[str, str]) -> tuple[int, str, float]:
    started = time.monotonic()
    result = run_nianbao("crawl", "--sites", str(registry), env=env, check=False, timeout=60)
    return result.returncode, result.stderr.decode(), time.monotonic() - started


def test_an_s3_endpoint_that_never_answers_stops_the_crawl_naming_it(blackhole, registry, home_env):
    env = {**home_env, "NIANBAO_STORAGE": "s3://nianbao-blackhole", "NIANBAO_S3_ENDPOINT": f"127.0.0.1:{blackhole}",
           "NIANBAO_S3_SECURE": "false", "NIANBAO_ARCHIVE_TIMEOUT": "1"}
    code, err, took = _crawl(registry, env)
    assert code == 2, err
    assert f"S3 endpoint 127.0.0.1:{blackhole} did not answer within 1 s" in err
    assert err.count("\n") == 1 and "Traceback" not in err  # one line, nothing else
    assert took < 20  # one wait of NIANBAO_ARCHIVE_TIMEOUT (and Python's start-up), not a retry per attempt
    assert not Path(home_env["NIANBAO_HOME"], "catalog.sqlite3").exists()


def test_a_database_port_that_never_answers_stops_the_crawl_naming_it(blackhole, registry, home_env):
    env = {**home_env, "NIANBAO_CATALOG": f"postgresql+psycopg2://nianbao@127.0.0.1:{blackhole}/nianbao",
           "NIANBAO_ARCHIVE_TIMEOUT": "2"}
    code, err, took = _crawl(registry, env)
    assert code == 2, err
    assert f"catalog database 127.0.0.1:{blackhole} did not answer within 2 s" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert took < 20
