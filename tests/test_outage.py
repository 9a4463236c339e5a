"""S3 away for a while: the crawl spools what it fetches, waits and goes on (issue 11, section 4).

Real SeaweedFS (its own server, stopped and started again on the same port and data), real crawls of
a simulated world through the proxy, a real SQLite catalog.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archive.catalog import Catalog, utcnow
from archive.spool import Spool, record_once
from archive.storage import object_key
from archive.storage.local import LocalStore
from tests.conftest import ROOT, run_nianbao
from tests.simulator.server import SimulatorServer
from tests.simulator.world import build_world
from tests.support import nianbao_env, seaweed

#: Slow enough that a crawl lasts a few seconds (the outage must fall in its middle), fast enough for the suite.
PACE = ("-s", "DOWNLOAD_DELAY=0.05", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1", "-s", "NIANBAO_OUTAGE_RETRY=0.5",
        "-s", "NIANBAO_OUTAGE_RETRY_MAX=2", "-s", "NIANBAO_RUN_UPDATE_INTERVAL=0")


@pytest.fixture(scope="module")
def world():
    return build_world(counties=2)


@pytest.fixture(scope="module")
def registry(world, tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("outage") / "sites.yaml"
    path.write_text(world.registry_yaml(), "utf-8")
    return path


@pytest.fixture
def weed(tmp_path):
    server = seaweed.start(tmp_path / "weed")
    yield server
    server.stop()


def rows(home: Path, sql: str) -> list[tuple]:
    if not (home / "catalog.sqlite3").exists():
        return []
    with sqlite3.connect(home / "catalog.sqlite3") as conn:
        try:
            return conn.execute(sql).fetchall()
        except sqlite3.OperationalError:  # not created yet
            return []


def archive_of(home: Path, server: seaweed.S3Server, bucket: str) -> tuple[set, set]:
    """(url, sha256) of every capture, and the objects in the bucket (each read back and verified) but run logs."""
    captures = set(rows(home, "SELECT url, sha256 FROM captures"))
    logs = {digest for (digest,) in rows(home, "SELECT log_sha256 FROM runs")}
    client, objects = server.client(), set()
    for obj in client.list_objects(bucket, prefix="sha256/", recursive=True):
        response = client.get_object(bucket, obj.object_name)
        try:
            data = response.read()
        finally:
            response.close()
            response.release_conn()
        digest = obj.object_name.rsplit("/", 1)[1]
        assert hashlib.sha256(data).hexdigest() == digest, f"{obj.object_name} does not verify"
        objects.add(digest)
    assert logs <= objects | {None}
    return captures, objects - logs


def crawl(registry: Path, env: dict[str, str], *extra: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "nianbao", "crawl", "--sites", str(registry), *PACE, *extra],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for_captures(home: Path, count: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while len(rows(home, "SELECT id FROM captures")) < count:
        assert process.poll() is None and time.monotonic() < deadline, "the crawl ended before the outage"
        time.sleep(0.05)


def run_stats(home: Path) -> list[dict]:
    return [json.loads(stats) for (stats,) in rows(home, "SELECT stats FROM runs ORDER BY id")]


def peak_rss_kib(process: subprocess.Popen) -> int:
    status = Path(f"/proc/{process.pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:")))


def test_s3_stopped_30_s_mid_crawl_the_crawl_waits_and_its_archive_is_whole(world, registry, weed, s3_server,
                                                                            tmp_path):
    with SimulatorServer(world) as server:
        clean_env = {**nianbao_env(tmp_path / "clean"), **s3_server.env("nianbao-clean"),
                     "NIANBAO_PROXY": server.proxy_url}
        clean = crawl(registry, clean_env)  # the uninterrupted crawl, side by side, on the suite's own S3
        env = {**nianbao_env(tmp_path / "home"), **weed.env("nianbao-outage"), "NIANBAO_PROXY": server.proxy_url}
        home = Path(env["NIANBAO_HOME"])
        interrupted = crawl(registry, env)
        wait_for_captures(home, 15, interrupted)
        stopped = time.monotonic()
        weed.kill()  # S3 goes away in the middle of the crawl …
        peak = 0
        while time.monotonic() - stopped < 30:
            if interrupted.poll() is None:
                peak = max(peak, peak_rss_kib(interrupted))
            time.sleep(0.5)
        weed.start_again()  # … and comes back 30 s later, same port, same data
        out, err = interrupted.communicate(timeout=120)
        clean.communicate(timeout=120)
    assert interrupted.returncode == 0, err.decode()[-3000:]
    assert clean.returncode == 0
    (stats,) = run_stats(home)
    (outage,) = stats["outages"]
    assert outage["what"] == "storage" and outage["drained"] and outage["seconds"] >= 25
    assert outage["bodies"] > 0 and outage["bytes"] > 0, "nothing was spooled: the outage did not fall mid-crawl"
    assert b"storage unavailable since" in err and b"available again after" in err
    assert archive_of(home, weed, "nianbao-outage") == archive_of(tmp_path / "clean", s3_server, "nianbao-clean")
    assert not any((home / "spool").iterdir())  # drained and removed
    print(f"\nspooled {outage['bodies']} bodies, {outage['bytes']} bytes in {outage['seconds']} s; "
          f"peak RSS {peak / 1024:.0f} MiB")


def test_past_the_bound_the_crawl_fails_and_the_next_one_drains_the_spool(world, registry, weed, tmp_path):
    with SimulatorServer(world) as server:
        env = {**nianbao_env(tmp_path / "home"), **weed.env("nianbao-bound"), "NIANBAO_PROXY": server.proxy_url}
        home = Path(env["NIANBAO_HOME"])
        first = crawl(registry, env, "-s", "NIANBAO_OUTAGE_MAX=5")
        wait_for_captures(home, 10, first)
        weed.kill()  # and not back within 5 s
        out, err = first.communicate(timeout=120)
        assert first.returncode == 1, err.decode()[-3000:]
        assert b"NIANBAO_OUTAGE_MAX" in out
        spooled = [p for p in (home / "spool").glob("*/bodies/*") if not p.name.startswith(".")]
        assert spooled, "the spool should hold the bodies fetched while S3 was away"
        (stats,) = run_stats(home)
        assert stats["outages"][0]["drained"] is False and stats["outages"][0]["bodies"] > 0
        recorded = len(rows(home, "SELECT id FROM captures"))

        weed.start_again()
        # The next crawl (of one site: the spool is drained whatever it crawls) archives what the first spooled.
        smallest = min(world.sites, key=lambda site: sum(r.site == site.id for r in world.reports))
        second = run_nianbao("crawl", "--sites", str(registry), "--site", smallest.id, *PACE, env=env)
    assert b"left by earlier crawls" in second.stderr
    first_run = rows(home, "SELECT url, fetched_at, sha256 FROM captures WHERE run_id = 1")
    assert len(first_run) > recorded  # the spooled captures are in the catalog now …
    assert len(first_run) == len(set(first_run))  # … once each
    captures, objects = archive_of(home, weed, "nianbao-bound")
    assert {sha for _, sha in captures} <= objects
    assert set(Path(p).name for p in spooled) <= objects
    assert not any((home / "spool").iterdir())


def _row(url: str, sha256: str, size: int, run_id: int) -> dict:
    return {"run_id": run_id, "site": "wanzai", "kind": "report", "url": url, "final_url": url, "method": "GET",
            "status": 200, "protocol": "HTTP/1.1", "headers": [["Content-Type", "text/html"]],
            "fetched_at": utcnow(), "content_type": "text/html", "referrer": None, "year": 2023, "agency": None,
            "agency_kind": None, "title": "2023年政府信息公开工作年度报告", "filename": None, "year_source": "title",
            "judgement": "title", "sha256": sha256, "size": size}


class Crash(Exception):
    """The process dying at a chosen point of the drain."""


def test_a_drain_interrupted_anywhere_records_each_capture_once(tmp_path):
    store = LocalStore(tmp_path / "objects")
    catalog = Catalog(f"sqlite:///{tmp_path / 'catalog.sqlite3'}")
    run_id = catalog.start_run(["wanzai"])
    root = tmp_path / "spool"
    spool = Spool.new(root, 1 << 30, 0)
    bodies = [f"report {n}".encode() * 100 for n in range(3)]
    for n, body in enumerate(bodies):
        digest, size = spool.add_body(body)
        spool.append(captures=[_row(f"http://www.wanzai.gov.cn/nb/{n}.html", digest, size, run_id)], bodies=[digest])
    spool.append(failures=[{"run_id": run_id, "site": "wanzai", "url": "http://www.wanzai.gov.cn/x", "kind": "report",
                            "reason": "HTTP 404"}])
    spool.close()

    def committed_then_crash(captures, failures, lists):  # the commit went through; the crash came before "done"
        record_once(catalog)(captures, failures, lists)
        raise Crash

    def crash_before_commit(captures, failures, lists):  # the bodies are stored; the crash came before the commit
        raise Crash

    for commit in (crash_before_commit, committed_then_crash):
        (left,) = Spool.leftovers(root, 1 << 30, 0)  # a later crawl finds the spool
        assert len(left.pending) == 4 and left.bytes == sum(map(len, bodies))
        with pytest.raises(Crash):
            left.drain(store, commit)
        left.close()
    (left,) = Spool.leftovers(root, 1 << 30, 0)
    drained = left.drain(store, record_once(catalog))
    left.close(remove=True)
    assert drained.entries == 4 and drained.damaged == 0
    captures = list(catalog.captures())
    assert sorted(c.url for c in captures) == [f"http://www.wanzai.gov.cn/nb/{n}.html" for n in range(3)]
    for capture, body in zip(sorted(captures, key=lambda c: c.url), bodies, strict=True):
        assert store.get(capture.sha256) == body and (store.root / object_key(capture.sha256)).exists()
    assert [f.url for f in catalog.failures()] == ["http://www.wanzai.gov.cn/x"]
    assert Spool.leftovers(root, 1 << 30, 0) == [] and not root.joinpath(left.directory.name).exists()


def test_a_spooled_body_damaged_on_disk_is_never_archived_under_its_name(tmp_path):
    store = LocalStore(tmp_path / "objects")
    catalog = Catalog(f"sqlite:///{tmp_path / 'catalog.sqlite3'}")
    run_id = catalog.start_run(["wanzai"])
    spool = Spool.new(tmp_path / "spool", 1 << 30, 0)
    digest, size = spool.add_body(b"the report as fetched")
    spool.append(captures=[_row("http://www.wanzai.gov.cn/nb/1.html", digest, size, run_id)], bodies=[digest])
    (spool.directory / "bodies" / digest).write_bytes(b"the report, bit-rotted")
    assert spool.drain(store, record_once(catalog)).damaged == 1
    assert list(catalog.captures()) == [] and not store.has(digest)
    assert [f.reason for f in catalog.failures()] == ["not archived: the spooled copy was damaged"]


def test_a_full_disk_is_an_error_naming_the_spool(tmp_path):
    from archive.spool import SpoolError

    spool = Spool.new(tmp_path / "spool", 1 << 30, margin=1 << 62)  # no disk has that much to spare
    with pytest.raises(SpoolError, match=str(spool.directory)):
        spool.add_body(b"a body")
