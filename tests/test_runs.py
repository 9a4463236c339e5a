"""Runs as operators meet them: figures that match the archive, logs that outlive the machine."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from archive.catalog import Catalog, CatalogError
from archive.runlogs import log_path
from archive.storage.local import LocalStore
from scheduler.locks import SiteLocks
from tests.conftest import FAST, ROOT, run_nianbao
from tests.simulator.server import SimulatorServer
from tests.simulator.world import build_world
from tests.support import nianbao_env


@pytest.fixture(scope="module")
def world():
    return build_world(counties=1)


@pytest.fixture
def setup(world, home_env, tmp_path):
    registry = tmp_path / "sites.yaml"
    registry.write_text(world.registry_yaml(), "utf-8")
    with SimulatorServer(world) as server:
        yield home_env, ["--sites", str(registry), "--proxy", server.proxy_url, *FAST]


@pytest.fixture(scope="module")
def first_crawl(world, tmp_path_factory) -> Path:
    """One crawl of the world into a fresh home, made once: the tests that start from a first crawl copy it."""
    tmp = tmp_path_factory.mktemp("first-crawl")
    registry = tmp / "sites.yaml"
    registry.write_text(world.registry_yaml(), "utf-8")
    with SimulatorServer(world) as server:
        run_nianbao("crawl", "--sites", str(registry), "--proxy", server.proxy_url, *FAST,
                    env=nianbao_env(tmp / "home"))
    return tmp / "home"


@pytest.fixture
def crawled(first_crawl, setup):
    """``setup`` whose home already holds the first crawl (a copy of it: each test may change its own)."""
    env, crawl_args = setup
    shutil.copytree(first_crawl, env["NIANBAO_HOME"])
    return env, crawl_args


def _json_lines(result: subprocess.CompletedProcess[bytes]) -> list[dict]:
    return [json.loads(line) for line in result.stdout.decode().splitlines()]


def _catalog(env: dict[str, str]) -> Catalog:
    return Catalog(f"sqlite:///{env['NIANBAO_HOME']}/catalog.sqlite3", create=False)


def test_a_run_has_figures_that_match_the_archive(world, crawled):
    env, _crawl_args = crawled
    [run] = _json_lines(run_nianbao("runs", "list", "--json", env=env))
    assert (run["status"], run["trigger"], run["sites"]) == ("finished", "manual", [world.sites[0].id])
    assert run["pid"] and run["host"] and run["finished_at"] >= run["started_at"]
    captures = list(_catalog(env).captures(run=run["id"]))
    stats = run["stats"]
    assert stats["reports"] == stats["new_reports"] == len(world.reports)
    assert stats["attachments"] == len(world.attachments) and stats["new_versions"] == 0
    assert stats["list_pages"] == sum(c.kind == "list" for c in captures)
    distinct = {c.sha256: c.size for c in captures}
    assert (stats["objects_stored"], stats["bytes_stored"]) == (len(distinct), sum(distinct.values()))
    assert sum(stats["responses"].values()) <= stats["requests"] and stats["responses"]["200"] >= len(captures)
    assert stats["sites"][world.sites[0].id]["reports"] == len(world.reports)
    assert {c.novelty for c in captures} == {"new"}
    shown = run_nianbao("runs", "show", str(run["id"]), env=env).stdout.decode()
    assert f"reports          {len(world.reports)}" in shown and "finished" in shown


def test_the_run_log_names_every_archived_body_and_outlives_the_machine(world, crawled):
    env, _crawl_args = crawled
    [run] = _catalog(env).runs()
    lines = _json_lines(run_nianbao("runs", "log", str(run.id), "--json", env=env))
    assert lines[0]["event"] == "started" and lines[-1]["event"] == "ended"
    archived = [line for line in lines if line["event"] == "archived"]
    assert {line["url"] for line in archived} == {r.url for r in world.reports} | {a.url for a in world.attachments}
    assert {line["site"] for line in archived} == {world.sites[0].id}
    assert all(set(line) >= {"time", "level", "site", "url", "event", "reason"} for line in lines)
    warnings = _json_lines(run_nianbao("runs", "log", str(run.id), "--json", "--level", "warning", env=env))
    assert all(line["level"] in {"WARNING", "ERROR", "CRITICAL"} for line in warnings)

    local = log_path(Path(env["NIANBAO_HOME"]), run.id)
    stored = LocalStore(Path(env["NIANBAO_HOME"]) / "objects").get(run.log_sha256)
    assert stored == local.read_bytes()
    local.unlink()  # the machine is gone; the copy in object storage is what is left
    assert _json_lines(run_nianbao("runs", "log", str(run.id), "--json", env=env)) == lines
    text = run_nianbao("runs", "log", str(run.id), "--site", world.sites[0].id, env=env).stdout.decode()
    assert world.reports[0].url in text and "started" not in text


def test_a_recrawl_counts_only_what_changed(world, crawled):
    env, crawl_args = crawled
    later = ["-s", "NIANBAO_RECHECK_AFTER=0"]  # as the next scheduled crawl, days later, would: ask after everything
    run_nianbao("crawl", *crawl_args, *later, env=env)
    revised = [world.reports[0], world.reports[-1]]
    originals = {r.url: world.revise(r.url) for r in revised}
    try:
        run_nianbao("crawl", *crawl_args, *later, env=env)
    finally:
        for restore in originals.values():
            restore()
    third, second, _first = _catalog(env).runs()
    assert (second.stats["new_reports"], second.stats["new_versions"], second.stats["objects_stored"]) == (0, 0, 0)
    assert {c.novelty for c in _catalog(env).captures(run=second.id)} == {"same"}
    assert (third.stats["new_reports"], third.stats["new_versions"], third.stats["objects_stored"]) == (0, 2, 2)
    changed = {c.url for c in _catalog(env).captures(run=third.id) if c.novelty == "changed"}
    assert changed == set(originals)


def test_a_site_being_crawled_is_left_to_that_crawl(world, crawled):
    env, crawl_args = crawled
    locks = SiteLocks(_catalog(env))
    assert locks.acquire([world.sites[0].id]) == {}
    try:
        busy = run_nianbao("crawl", *crawl_args, env=env, check=False)
    finally:
        locks.release()
    assert busy.returncode == 3
    assert f"{world.sites[0].id} is being crawled by pid {os.getpid()}".encode() in busy.stderr
    assert run_nianbao("crawl", *crawl_args, env=env).returncode == 0  # released: crawls again


def test_following_a_live_run_shows_progress_and_ends_with_it(world, setup):
    env, crawl_args = setup
    slow = ["-s", "DOWNLOAD_DELAY=0.05", "-s", "AUTOTHROTTLE_ENABLED=false", "-s", "NIANBAO_RUN_UPDATE_INTERVAL=0.3"]
    crawl = subprocess.Popen([sys.executable, "-m", "nianbao", "crawl", *crawl_args, *slow], env=env, cwd=ROOT,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline, run, live = time.monotonic() + 60, None, None
        while time.monotonic() < deadline and live is None:
            time.sleep(0.2)
            try:
                runs = _catalog(env).runs()
            except (CatalogError, OperationalError):  # not there yet, or not all its tables: the crawl is starting
                continue
            if runs and runs[0].status == "running" and runs[0].stats.get("reports"):
                run, live = runs[0], runs[0].stats["reports"]
        assert live and live < len(world.reports), "figures of the running run were not updated as it went"
        followed = _json_lines(run_nianbao("runs", "log", str(run.id), "--follow", "--json", env=env, timeout=120))
        assert crawl.wait(60) == 0
    finally:
        crawl.kill()
    assert followed[-1]["event"] == "ended"
    assert sum(line["event"] == "archived" for line in followed) == len(world.reports) + len(world.attachments)


def test_a_run_whose_process_died_is_marked_failed(home_env):
    catalog_url = f"sqlite:///{home_env['NIANBAO_HOME']}/catalog.sqlite3"
    code = f"from archive.catalog import Catalog; Catalog({catalog_url!r}).start_run(['wanzai'])"
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)  # exits, never finishing
    [run] = _json_lines(run_nianbao("runs", "list", "--json", env=home_env))
    assert run["status"] == "failed" and "ended without closing the run" in run["stats"]["stopped"]
    missing = run_nianbao("runs", "show", "99", env=home_env, check=False)
    assert missing.returncode == 1 and b"no run 99" in missing.stderr
