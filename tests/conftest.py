"""Shared fixtures: real servers started once per test session."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

from tests.support import nianbao_env, seaweed

ROOT = Path(__file__).resolve().parent.parent

# No per-example deadline: the suite runs on several workers at once (pyproject.toml), and an example that takes
# 200 ms alone can take 600 ms beside a crawl, which says nothing about the property. On CI the examples are the same
# every run (derandomize) and no example database carries over: a red run there is reproducible.
settings.register_profile("nianbao", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, database=None)
settings.load_profile("ci" if os.environ.get("CI") else "nianbao")

#: Modules by the time they take (most first; measured with --durations): the suite runs them in parallel, a module
#: to a worker (xdist's --dist loadfile, so a module's crawl is made once), and a long module handed out last would
#: keep one worker busy after the others are done. Modules not named here (new ones, most of which crawl) come next;
#: the quick ones, below, last.
SLOWEST_FIRST = ("test_end_to_end.py", "test_fleet.py", "test_parse_office_ocr.py", "test_hostile.py",
                 "test_web_reports.py", "test_scheduler.py", "test_web.py", "test_parse_world.py", "test_hard_world.py",
                 "test_versions.py", "test_warc.py", "test_failures.py", "test_recrawl_identity.py",
                 "test_script_pagers.py", "test_runs.py", "test_politeness.py", "test_safety.py", "test_judge.py",
                 "test_columns.py", "test_cli.py", "test_catalog.py", "test_runlogs.py",
                 "test_parse_queue.py")
QUICKEST_LAST = ("test_simulator.py", "test_blackholes.py", "test_web_auth.py", "test_storage.py",
                 "test_listings.py", "test_spidermiddlewares.py", "test_decoding.py", "test_registry.py",
                 "test_titles.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Slowest modules first (each module's own order kept): see SLOWEST_FIRST."""

    def rank(item: pytest.Item) -> int:
        name = item.path.name
        if name in SLOWEST_FIRST:
            return SLOWEST_FIRST.index(name)
        return len(SLOWEST_FIRST) + 1 + QUICKEST_LAST.index(name) if name in QUICKEST_LAST else len(SLOWEST_FIRST)

    items.sort(key=rank)  # stable: a module's tests stay in their order


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
