"""Bad input gets a clear error and loses nothing: bad config, storage dying, a crawl killed."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archive.storage import object_key
from tests.conftest import ROOT, run_nianbao
from tests.simulator.server import SimulatorServer
from tests.simulator.world import build_world
from tests.support import seaweed


@pytest.fixture(scope="module")
def world():
    return build_world(counties=6)


@pytest.fixture
def registry(world, tmp_path) -> Path:
    path = tmp_path / "sites.yaml"
    path.write_text(world.registry_yaml(), "utf-8")
    return path


def catalog_rows(home: Path, sql: str) -> list[tuple]:
    db = home / "catalog.sqlite3"
    if not db.exists():
        return []
    with sqlite3.connect(db, timeout=30) as conn:
        try:
            return conn.execute(sql).fetchall()
        except sqlite3.OperationalError:  # tables not created yet
            return []


def test_bad_registry_stops_before_anything_runs(home_env, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("sites:\n  - {id: ok, name: 甲县, home: 'http://www.jia.gov.cn/'}\n"
                   "  - {id: ok, name: 乙县, home: 'not-a-url'}\n", "utf-8")
    result = run_nianbao("crawl", "--sites", str(bad), env=home_env, check=False)
    assert result.returncode == 2
    err = result.stderr.decode()
    assert "entry 2 (id 'ok')" in err and "not-a-url" in err and "duplicate id" in err
    assert not Path(home_env["NIANBAO_HOME"]).exists()  # nothing ran, nothing was created


def test_unknown_site_and_bad_proxy_are_configuration_errors(home_env, registry):
    unknown = run_nianbao("crawl", "--sites", str(registry), "--site", "atlantis", env=home_env, check=False)
    assert unknown.returncode == 2 and b"no site 'atlantis'" in unknown.stderr
    proxy = run_nianbao("crawl", "--sites", str(registry), "--proxy", "socks5://u:pw@h:1", env=home_env, check=False)
    assert proxy.returncode == 2 and b"proxy" in proxy.stderr and b"pw" not in proxy.stderr


def test_unreachable_storage_is_reported_before_crawling(home_env, registry, s3_env):
    env = {**home_env, **s3_env, "NIANBAO_S3_ENDPOINT": "http://127.0.0.1:9"}
    result = run_nianbao("crawl", "--sites", str(registry), env=env, check=False)
    assert result.returncode == 2
    assert b"127.0.0.1:9" in result.stderr and s3_env["NIANBAO_S3_SECRET_KEY"].encode() not in result.stderr
    assert not Path(home_env["NIANBAO_HOME"], "catalog.sqlite3").exists()  # no empty archive left to mislead


def test_failing_site_is_reported_not_fatal(world, home_env, tmp_path):
    text = world.registry_yaml() + (
        "  - id: gone\n    name: 不存在县\n    home: http://www.gone.gov.cn/\n"
        "    report_lists: [http://www.gone.gov.cn/xxgk/nb/index.html]\n")
    path = tmp_path / "sites.yaml"
    path.write_text(text, "utf-8")
    site = world.sites[0]
    with SimulatorServer(world) as server:
        result = run_nianbao("crawl", "--sites", str(path), "--site", site.id, "--site", "gone",
                             "--proxy", f"http://crawler:hunter2@127.0.0.1:{server.proxy_url.rsplit(':', 1)[1]}",
                             "--log-level", "DEBUG", env=home_env)
    out, err = result.stdout.decode(), result.stderr.decode()
    gone = next(line for line in out.splitlines() if line.startswith("gone "))
    assert gone.split()[1:] == ["0", "0", "0", "1"]
    assert "gone: HTTP 404: http://www.gone.gov.cn/xxgk/nb/index.html" in out
    reports = next(line for line in out.splitlines() if line.startswith(site.id + " "))
    assert int(reports.split()[1]) == sum(1 for r in world.reports if r.site == site.id)
    assert "hunter2" not in out + err and "crawler:***@127.0.0.1" in err
    [(stats,)] = catalog_rows(Path(home_env["NIANBAO_HOME"]), "SELECT stats FROM runs")
    stats = json.loads(stats)
    assert stats["errors_by_reason"] == {"HTTP 404": 1} and stats["sites"]["gone"]["errors"] == 1
    log = Path(home_env["NIANBAO_HOME"], "logs", "run-1.jsonl").read_text("utf-8")
    failed = [json.loads(line) for line in log.splitlines() if '"failed"' in line]
    assert [(f["site"], f["url"], f["reason"]) for f in failed] == [
        ("gone", "http://www.gone.gov.cn/xxgk/nb/index.html", "HTTP 404")]
    assert "hunter2" not in log  # the run log is DEBUG-free, but proxies must not leak into it either


def test_storage_dying_mid_crawl_leaves_no_capture_without_its_object(world, registry, home_env, tmp_path):
    server_s3 = seaweed.start(tmp_path / "weed")
    bucket = "nianbao-dies"
    env = {**home_env, **server_s3.env(bucket)}
    home = Path(env["NIANBAO_HOME"])
    try:
        with SimulatorServer(world) as server:
            env["NIANBAO_PROXY"] = server.proxy_url
            crawl = subprocess.Popen([sys.executable, "-m", "nianbao", "crawl", "--sites", str(registry)],
                                     env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            deadline = time.monotonic() + 120
            while len(catalog_rows(home, "SELECT id FROM captures")) < 40 and time.monotonic() < deadline:
                time.sleep(0.05)
            server_s3.stop()  # storage goes away in the middle of the crawl
            out, _err = crawl.communicate(timeout=600)
        assert crawl.returncode == 1  # the crawl stopped: nothing more could be kept
        assert b"storage unavailable" in out and b"not archived" in out
        server_s3 = seaweed.start(tmp_path / "weed")  # back up, same data directory
        client = server_s3.client()
        captures = catalog_rows(home, "SELECT sha256, size FROM captures")
        failures = catalog_rows(home, "SELECT url FROM failures WHERE reason LIKE 'not archived:%'")
        assert captures and failures, "the storage outage did not land mid-crawl"
        for sha256, size in captures:
            assert client.stat_object(bucket, object_key(sha256)).size == size
        orphans = catalog_rows(home, "SELECT q.id FROM parse_queue q LEFT JOIN captures c ON c.id = q.capture_id "
                                     "WHERE c.id IS NULL")
        assert orphans == []
        failed_urls = {u for (u,) in failures}
        archived = {u for (u,) in catalog_rows(home, "SELECT url FROM captures")}
        assert failed_urls.isdisjoint(archived)
        assert catalog_rows(home, "SELECT status, log_sha256 FROM runs") == [("failed", None)]
        assert '"event": "ended"' in (home / "logs" / "run-1.jsonl").read_text("utf-8")  # kept on disk
    finally:
        server_s3.stop()


def test_killed_crawl_leaves_no_capture_without_its_object(world, registry, home_env):
    home = Path(home_env["NIANBAO_HOME"])
    with SimulatorServer(world) as server:
        crawl = subprocess.Popen(
            [sys.executable, "-m", "nianbao", "crawl", "--sites", str(registry), "--proxy", server.proxy_url],
            env=home_env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while len(catalog_rows(home, "SELECT id FROM captures")) < 30 and time.monotonic() < deadline:
            time.sleep(0.05)
        crawl.send_signal(signal.SIGKILL)
        crawl.wait(30)
    captures = catalog_rows(home, "SELECT sha256, size FROM captures")
    assert 30 <= len(captures) < len(world.reports)
    for sha256, size in captures:
        assert (home / "objects" / object_key(sha256)).stat().st_size == size
    assert catalog_rows(home, "SELECT status FROM runs") == [("running",)]  # the run shows it never ended


@pytest.mark.parametrize("delay", [0.6, 1.2, 1.8])
def test_a_crawl_stopped_while_starting_leaves_no_run_open(world, registry, home_env, delay):
    """SIGTERM (the scheduler stopping) at any moment of start-up: the run, if there is one, is closed."""
    home = Path(home_env["NIANBAO_HOME"])
    with SimulatorServer(world) as server:
        crawl = subprocess.Popen(
            [sys.executable, "-m", "nianbao", "crawl", "--sites", str(registry), "--proxy", server.proxy_url],
            env=home_env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        crawl.send_signal(signal.SIGTERM)
        crawl.wait(60)
    statuses = {status for (status,) in catalog_rows(home, "SELECT status FROM runs")}
    assert statuses <= {"cancelled", "finished"}


def test_a_setting_of_the_wrong_kind_is_a_configuration_error(home_env, registry):
    bad = run_nianbao("crawl", "--sites", str(registry), "-s", "NIANBAO_RECHECK_AFTER=soon", env=home_env, check=False)
    assert bad.returncode == 2 and b"-s NIANBAO_RECHECK_AFTER='soon': expected a number" in bad.stderr
    flag = run_nianbao("crawl", "--sites", str(registry), "-s", "ROBOTSTXT_OBEY=maybe", env=home_env, check=False)
    assert flag.returncode == 2 and b"expected true or false" in flag.stderr
    assert not Path(home_env["NIANBAO_HOME"]).exists()
