"""Run logs lose nothing: records with an exception, runs stopped by a signal, crawls killed outright."""

from __future__ import annotations

import json
import logging
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from archive.runlogs import JsonLinesHandler, log_path
from tests.conftest import ROOT, run_nianbao
from tests.simulator.server import SimulatorServer
from tests.simulator.world import build_world


@pytest.fixture(scope="module")
def world():
    return build_world(counties=1)


def test_a_record_with_an_exception_is_a_line_with_its_traceback(tmp_path, capfd):
    handler = JsonLinesHandler(tmp_path / "run-1.jsonl", lambda url: "wanzai")
    logger = logging.getLogger("tests.runlogs")
    logger.addHandler(handler)
    try:
        try:
            {}["missing"]
        except KeyError:
            logger.exception("cannot read list page <GET http://www.wanzai.gov.cn/nb/index.html>")
        logger.warning("after it")
    finally:
        logger.removeHandler(handler)
        handler.close()
    first, second = (json.loads(line) for line in (tmp_path / "run-1.jsonl").read_text("utf-8").splitlines())
    assert first["level"] == "ERROR" and first["site"] == "wanzai"
    assert first["url"] == "http://www.wanzai.gov.cn/nb/index.html"
    assert "Traceback (most recent call last)" in first["exception"] and "KeyError: 'missing'" in first["exception"]
    assert second["message"] == "after it" and "exception" not in second
    assert "Logging error" not in capfd.readouterr().err


@contextmanager
def crawling(world, home_env: dict[str, str], tmp_path: Path, captures: int) -> Iterator[subprocess.Popen]:
    """A crawl of the simulated world, slowed down, handed over once it has archived ``captures`` bodies."""
    registry = tmp_path / "sites.yaml"
    registry.write_text(world.registry_yaml(), "utf-8")
    db = Path(home_env["NIANBAO_HOME"], "catalog.sqlite3")
    with SimulatorServer(world) as server:
        crawl = subprocess.Popen(
            [sys.executable, "-m", "nianbao", "crawl", "--sites", str(registry), "--proxy", server.proxy_url,
             "-s", "DOWNLOAD_DELAY=0.1", "-s", "AUTOTHROTTLE_ENABLED=false", "-s", "NIANBAO_CATALOG_GROUP_SIZE=1"],
            env=home_env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline, archived = time.monotonic() + 120, 0
            while archived < captures:
                assert time.monotonic() < deadline and crawl.poll() is None, \
                    f"the crawl did not reach {captures} captures while running"
                time.sleep(0.1)
                try:
                    with sqlite3.connect(db, timeout=30) as conn:
                        archived = conn.execute("SELECT count(*) FROM captures").fetchone()[0]
                except sqlite3.OperationalError:  # not created yet
                    continue
            yield crawl
        finally:
            crawl.kill()
            crawl.wait(30)


def _log_after_the_file_is_gone(home_env: dict[str, str]) -> tuple[dict, list[dict]]:
    [run] = [json.loads(line) for line in run_nianbao("runs", "list", "--json", env=home_env).stdout.splitlines()]
    local = log_path(Path(home_env["NIANBAO_HOME"]), run["id"])
    written = local.read_bytes()
    assert run["log_sha256"], f"run {run['id']} ({run['status']}): its log was not stored"
    local.unlink()  # the machine is gone: only object storage has it
    shown = run_nianbao("runs", "log", str(run["id"]), "--json", env=home_env).stdout
    lines = [json.loads(line) for line in shown.splitlines()]
    assert [line["message"] for line in lines] == [json.loads(line)["message"] for line in written.splitlines()]
    return run, lines


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_the_log_of_a_stopped_crawl_is_stored(world, home_env, tmp_path, stop):
    with crawling(world, home_env, tmp_path, 5) as crawl:
        crawl.send_signal(stop)
        assert crawl.wait(60) == 1  # stopped: the run is cancelled
    run, lines = _log_after_the_file_is_gone(home_env)
    assert run["status"] == "cancelled"
    assert lines[0]["event"] == "started" and (lines[-1]["event"], lines[-1]["reason"]) == ("ended", "shutdown")
    assert any(line["event"] == "archived" for line in lines)


def test_the_log_of_a_killed_crawl_is_stored_when_its_run_is_found_dead(world, home_env, tmp_path):
    with crawling(world, home_env, tmp_path, 5) as crawl:
        crawl.send_signal(signal.SIGKILL)
        crawl.wait(30)
    run, lines = _log_after_the_file_is_gone(home_env)
    assert run["status"] == "failed" and "ended without closing the run" in run["stats"]["stopped"]
    assert lines[0]["event"] == "started" and all(line["event"] != "ended" for line in lines)
    assert any(line["event"] == "archived" for line in lines)
