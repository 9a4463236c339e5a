"""Many machines: rounds handed to three `nianbao worker` processes through real Redis (Celery), reporting into a
real PostgreSQL catalog and real S3; a worker SIGKILLed mid-round; Redis restarted; a worker without its proxy;
two schedulers on one catalog.

Each worker has its own NIANBAO_HOME, as it would on its own machine. The world's counties answer at the default
polite pace (one request a second per host); two of them share a file host, which must be paced as one host.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import create_engine, text

from archive.catalog import Catalog, parse_moment
from tests.conftest import ROOT
from tests.simulator.server import SimulatorServer
from tests.simulator.world import SimSite, World
from tests.support import nianbao_env, redis, stop_process

pytestmark = pytest.mark.s3
_HTML = "text/html; charset=utf-8"
COUNTIES = 12
REPORTS = 5  # a site: robots.txt, its list, 5 reports (two sites: a PDF each on the shared host) ≈ 8 s at 1/s
SHARED = "files.shared.gov.cn"
FAST_FLEET = {"NIANBAO_WORKER_HEARTBEAT": "1", "NIANBAO_WORKER_TIMEOUT": "4", "NIANBAO_FLEET_CHECK": "1",
              "NIANBAO_DISPATCH_SITES": "2", "NIANBAO_SITE_LEASE": "20"}


def fleet_world() -> World:
    world = World()
    for number in range(1, COUNTIES + 1):
        site_id, host, name = f"f{number:02d}", f"www.f{number:02d}.gov.cn", f"测试{number}县"
        base, items = f"http://{host}/xxgk/nb/", []
        for year in range(2024 - REPORTS + 1, 2025):
            url, title = f"{base}{year}.html", f"{name}人民政府{year}年政府信息公开工作年度报告"
            attachment = ""
            if number <= 2 and year == 2024:  # two counties' files on one shared host
                pdf = f"http://{SHARED}/{site_id}/{year}.pdf"
                world.add(pdf, b"%PDF-1.4\n% " + title.encode() + b"\n%%EOF\n", "application/pdf")
                attachment = f'<p><a href="{pdf}">{title}.pdf</a></p>'
            page = (f"<html><head><meta charset='utf-8'><title>{title}</title></head><body><h1>{title}</h1>"
                    f"{attachment}</body></html>")
            world.add(url, page.encode(), _HTML)
            items.append(f'<li><a href="{url}">{title}</a><span>{year + 1}-01-20</span></li>')
        page = f"<html><head><meta charset='utf-8'><title>年报</title></head><body><ul>{''.join(items)}</ul></body>"
        world.add(f"{base}index.html", page.encode(), _HTML)
        world.sites.append(SimSite(site_id, name, "江西省", "宜春市", f"http://{host}/", "html", [f"{base}index.html"],
                                   [SHARED] if number <= 2 else []))
    return world


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[redis.RedisServer]:
    if not redis.available():
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed (make test installs it as root)")
        pytest.skip("redis-server is not installed: apt-get install redis-server")
    server = redis.start(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def simulator() -> Iterator[SimulatorServer]:
    with SimulatorServer(fleet_world(), latency=0.05) as server:
        yield server


class Fleet:
    """One fleet's catalog (a fresh PostgreSQL database), bucket, queue and machines."""

    def __init__(self, tmp: Path, postgres_url: str, s3_env: dict[str, str], broker: redis.RedisServer,
                 simulator: SimulatorServer) -> None:
        name = f"nianbao_{uuid.uuid4().hex[:12]}"
        engine = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        engine.dispose()
        self.catalog_url = f"{postgres_url.rsplit('/', 1)[0]}/{name}"
        self.tmp, self.s3_env, self.broker, self.simulator = tmp, s3_env, broker, simulator
        self.registry = tmp / "sites.yaml"
        self.registry.write_text(simulator.world.registry_yaml(), "utf-8")
        self.workers: dict[str, subprocess.Popen] = {}
        self.processes: list[subprocess.Popen] = []
        with broker_client(broker) as client:
            client.flushall()

    def env(self, machine: str, **extra: str) -> dict[str, str]:
        return {**nianbao_env(self.tmp / machine), **self.s3_env, "NIANBAO_CATALOG": self.catalog_url,
                "NIANBAO_BROKER": self.broker.url, "NIANBAO_PROXY": self.simulator.proxy_url, **FAST_FLEET, **extra}

    def start(self, machine: str, *args: str, **extra: str) -> subprocess.Popen:
        (self.tmp / machine).mkdir(exist_ok=True)
        log = (self.tmp / f"{machine}.log").open("ab")
        process = subprocess.Popen([sys.executable, "-m", "nianbao", *args], env=self.env(machine, **extra), cwd=ROOT,
                                   stdout=subprocess.PIPE if args[0] == "schedule" and args[1] == "round" else log,
                                   stderr=log, start_new_session=True)
        self.processes.append(process)
        return process

    def worker(self, name: str, parsers: str = "0", **extra: str) -> subprocess.Popen:
        self.workers[name] = self.start(name, "worker", "--sites", str(self.registry), "--name", name, "--crawls",
                                        "1", "--parsers", parsers, **extra)
        return self.workers[name]

    def round(self) -> subprocess.Popen:
        return self.start("scheduler", "schedule", "round", "--sites", str(self.registry), "--json")

    def catalog(self) -> Catalog:
        return Catalog(self.catalog_url)

    def log(self, machine: str) -> str:
        path = self.tmp / f"{machine}.log"
        return path.read_text("utf-8", errors="replace") if path.exists() else ""

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                stop_process(process)


def broker_client(server: redis.RedisServer):
    import redis as redis_client

    return redis_client.Redis.from_url(server.url)


@pytest.fixture
def fleet(tmp_path, postgres_url, s3_env, broker, simulator) -> Iterator[Fleet]:
    simulator.clear_requests()
    fleet = Fleet(tmp_path, postgres_url, s3_env, broker, simulator)
    yield fleet
    fleet.stop()


def finish(fleet: Fleet, round_process: subprocess.Popen, timeout: float = 240) -> dict:
    try:
        out, _ = round_process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        round_process.kill()
        raise AssertionError("the round did not finish:\n" + fleet.log("scheduler")[-3000:]) from None
    assert round_process.returncode == 0, fleet.log("scheduler")[-3000:]
    return json.loads(out)


def archive_of(catalog: Catalog) -> Counter[tuple[str, str]]:
    with catalog.engine.connect() as conn:
        return Counter(conn.execute(text("SELECT url, sha256 FROM captures")).all())


def wait_until(condition, timeout: float, what: str, step: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := condition():
            return found
        time.sleep(step)
    raise AssertionError(f"not within {timeout} s: {what}")


@dataclass
class Reference:
    archive: Counter[tuple[str, str]]
    figures: dict
    requests: list[tuple[float, str, str]]


@pytest.fixture(scope="module")
def reference(tmp_path_factory, postgres_url, s3_server, broker, simulator) -> Reference:
    """An uninterrupted round by three workers: its archive, what every other round must equal."""
    simulator.clear_requests()
    fleet = Fleet(tmp_path_factory.mktemp("reference"), postgres_url,
                  s3_server.env(f"nianbao-{uuid.uuid4().hex[:12]}"), broker, simulator)
    try:
        fleet.worker("w1", parsers="1")  # and the parse requests, claimed through the catalog
        for name in ("w2", "w3"):
            fleet.worker(name)
        catalog = fleet.catalog()
        wait_until(lambda: len(catalog.fleet()) == 3, 60, "three workers beating")
        figures = finish(fleet, fleet.round())
        wait_until(lambda: catalog.parse_counts() and not catalog.parse_counts().get("pending")
                   and not catalog.parse_counts().get("parsing"), 120, "w1 to parse what the round archived")
        return Reference(archive_of(fleet.catalog()), figures, simulator.timed_requests())
    finally:
        fleet.stop()


def test_three_workers_share_a_round_politely(reference):
    figures, requests = reference.figures, reference.requests
    assert figures["sites"] == COUNTIES and all(row["state"] == "done" for row in figures["dispatches"])
    assert len(figures["workers"]) == 3, figures["workers"]  # every worker took a share
    fetched = Counter((method, url) for _when, method, url in requests)
    assert [key for key, n in fetched.items() if n > 1] == []  # no URL fetched twice
    assert sum(reference.archive.values()) == len(reference.archive)  # each (URL, body) captured once
    reports = {url for url, _sha in reference.archive if url.endswith(".html") and "/nb/20" in url}
    assert len(reports) == COUNTIES * REPORTS
    times = defaultdict(list)
    for when, _method, url in requests:
        times[urlsplit(url).hostname].append(when)
    gaps = [b - a for hits in times.values() for a, b in zip(sorted(hits), sorted(hits)[1:], strict=False)]
    assert min(gaps) >= 0.9, min(gaps)  # one request a second per host, from all workers together
    shared = sorted(url for _when, _method, url in requests if urlsplit(url).hostname == SHARED)
    assert len(shared) == 3 and shared[-1].endswith("/robots.txt")  # its robots.txt once: the two sites in one crawl


def test_worker_killed_mid_round_hands_over(fleet, reference):
    for name in ("w1", "w2", "w3"):
        fleet.worker(name)
    catalog = fleet.catalog()
    wait_until(lambda: len(catalog.fleet()) == 3, 60, "three workers beating")
    round_process = fleet.round()

    def victim():
        for dispatch in catalog.dispatches(("running",)):
            runs = catalog.runs_of(dispatch_host(catalog, dispatch.worker), [dispatch.pid or 0], datetime(2000, 1, 1))
            if runs and int(runs[-1].stats.get("requests", 0)) >= 3:
                return dispatch
        return None

    dispatch = wait_until(victim, 120, "a crawl under way")
    killed_at = time.time()
    os.kill(fleet.workers[dispatch.worker].pid, signal.SIGKILL)
    figures = finish(fleet, round_process)
    moved = catalog.dispatch(dispatch.id)
    assert moved.state == "done" and moved.worker != dispatch.worker and moved.attempt == dispatch.attempt + 1
    assert moved.moves[-1]["from"] == dispatch.worker and "died" in moved.moves[-1]["why"]
    killed = datetime.fromtimestamp(killed_at, UTC).replace(tzinfo=None)
    sent_again = (parse_moment(moved.moves[-1]["at"]) - killed).total_seconds()
    taken_up = (moved.started_at - killed).total_seconds()
    print(f"\nhand-over: dispatch {dispatch.id} sent again {sent_again:.1f} s and taken up {taken_up:.1f} s after its "
          "worker was killed (NIANBAO_WORKER_TIMEOUT 4 s, NIANBAO_FLEET_CHECK 1 s; taken when a slot frees)")
    assert sent_again < 4 + 1 + 3  # dead after 4 s silent, sent again at the next check
    assert archive_of(catalog) == reference.archive  # identical archive: the same (URL, body) pairs, each once
    dead = {w["name"]: w for w in catalog.fleet()}[dispatch.worker]
    assert dead["state"] == "dead" and figures["moved"] >= 1
    out = subprocess.run([sys.executable, "-m", "nianbao", "workers"], env=fleet.env("scheduler"), cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    assert dispatch.worker in out and "dead" in out and f"dispatch {dispatch.id}" in out


def test_redis_restarted_mid_round_and_a_worker_without_its_proxy(fleet, reference):
    """Redis killed and started again while a worker crawls (the queue forgotten): the catalog sends what was queued
    again and the round ends with the archive of an uninterrupted one; the worker whose proxy does not answer
    takes nothing and says why; a worker stopped with SIGTERM ends cleanly."""
    sick = fleet.worker("sick", NIANBAO_PROXY="http://127.0.0.1:9")  # nothing listens on the discard port
    catalog = fleet.catalog()
    wait_until(lambda: any(w["state"] == "unhealthy" for w in catalog.fleet()), 60, "the sick worker says so")
    assert "proxy" in catalog.fleet()[0]["reason"]
    worker = fleet.worker("w1")
    wait_until(lambda: len(catalog.fleet()) == 2, 60, "w1 beating")
    round_process = fleet.round()
    wait_until(lambda: catalog.dispatches(("running",)), 60, "w1 crawling")
    assert len(catalog.dispatches(("queued",))) >= 2  # more waiting in Redis
    fleet.broker.restart()
    figures = finish(fleet, round_process)
    assert figures["workers"] == ["w1"] and all(row["state"] == "done" for row in figures["dispatches"])
    assert "forgot it; sent again" in fleet.log("scheduler")
    assert archive_of(catalog) == reference.archive
    assert sick.poll() is None and {w["name"]: w for w in catalog.fleet()}["sick"]["state"] == "unhealthy"
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(60) == 0
    assert {w["name"]: w for w in catalog.fleet()}["w1"]["state"] == "stopped"


def test_second_scheduler_stands_by_then_takes_over(fleet):
    env = {"NIANBAO_SCHEDULE_HEARTBEAT": "1"}
    first = fleet.start("s1", "schedule", "run", "--sites", str(fleet.registry), **env)
    wait_until(lambda: "site(s) from" in fleet.log("s1"), 60, "the first scheduler running")
    second = fleet.start("s2", "schedule", "run", "--sites", str(fleet.registry), **env)
    wait_until(lambda: "standby" in fleet.log("s2"), 60, "the second scheduler standing by")
    assert "site(s) from" not in fleet.log("s2")
    os.kill(first.pid, signal.SIGKILL)
    killed = time.monotonic()
    wait_until(lambda: "taking over" in fleet.log("s2"), 30, "the standby taking over")
    print(f"\nstandby took over {time.monotonic() - killed:.1f} s after the first scheduler was killed")
    wait_until(lambda: "site(s) from" in fleet.log("s2"), 30, "the second scheduler scheduling")
    second.send_signal(signal.SIGTERM)
    assert second.wait(60) == 0


def dispatch_host(catalog: Catalog, worker: str | None) -> str:
    return next((w.host for w in catalog.workers() if w.name == worker), "")

