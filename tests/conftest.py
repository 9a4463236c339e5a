"""Shared fixtures: real servers started once per test session."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import nianbao_env, seaweed

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[seaweed.S3Server]:
    server = seaweed.start(tmp_path_factory.mktemp("seaweedfs"))
    yield server
    server.stop()


@pytest.fixture
def s3_env(s3_server: seaweed.S3Server) -> dict[str, str]:
    """Environment for a fresh bucket on the real S3 server."""
    return s3_server.env(f"nianbao-{uuid.uuid4().hex[:12]}")


@pytest.fixture
def home_env(tmp_path: Path) -> dict[str, str]:
    """A clean NIANBAO_HOME (local storage, SQLite catalog) and nothing inherited."""
    return nianbao_env(tmp_path / "home")


#: ``nianbao crawl`` settings for tests about something other than politeness: a simulated world answers
#: at once, and at the default one request a second per host its crawls would take minutes. Only the pace
#: changes (as before politeness was the default); tests/test_politeness.py crawls at the defaults.
FAST = ("-s", "DOWNLOAD_DELAY=0", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2")


def run_nianbao(*args: str, env: dict[str, str], check: bool = True, cwd: Path = ROOT,
                timeout: float = 600) -> subprocess.CompletedProcess[bytes]:
    """The CLI as a user runs it: a separate process (Scrapy's reactor runs once per process)."""
    result = subprocess.run([sys.executable, "-m", "nianbao", *args], env=env, cwd=cwd, capture_output=True,
                            timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"nianbao {' '.join(args)} exited {result.returncode}:\n"
                             f"{result.stderr.decode(errors='replace')[-4000:]}")
    return result


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    from tests.support import postgres

    if postgres.binaries() is None:
        message = "PostgreSQL is not installed (make test installs it as root: apt-get install postgresql)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    server = postgres.start()
    yield server.url
    server.stop()


@pytest.fixture
def postgres_catalog(postgres_url: str) -> str:
    """The URL of a fresh, empty PostgreSQL database."""
    from sqlalchemy import create_engine, text

    name = f"nianbao_{uuid.uuid4().hex[:12]}"
    engine = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name}"))
    engine.dispose()
    return f"{postgres_url.rsplit('/', 1)[0]}/{name}"
