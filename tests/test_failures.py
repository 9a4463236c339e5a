"""Bad input gets a clear error and loses nothing: bad config, storage dying, a crawl killed."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from archive.storage import object_key
from tests.conftest import FAST, ROOT, run_nianbao
from tests.simulator.server import SimulatorServer
from tests.simulator.world import build_world
from tests.support import seaweed
from tests.test_safety import serving


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
                             "--log-level", "DEBUG", *FAST, env=home_env)
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
    """Storage gone for longer than NIANBAO_OUTAGE_MAX: the crawl ends failed, what it fetched since waits in the
    spool (tests/test_outage.py drains it), and no capture names an object the store does not hold."""
    server_s3 = seaweed.start(tmp_path / "weed")
    bucket = "nianbao-dies"
    env = {**home_env, **server_s3.env(bucket)}
    home = Path(env["NIANBAO_HOME"])
    try:
        with SimulatorServer(world) as server:
            env["NIANBAO_PROXY"] = server.proxy_url
            crawl = subprocess.Popen([sys.executable, "-m", "nianbao", "crawl", "--sites", str(registry), *FAST,
                                      "-s", "NIANBAO_OUTAGE_MAX=3"],
                                     env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            deadline = time.monotonic() + 120
            while len(catalog_rows(home, "SELECT id FROM captures")) < 40 and time.monotonic() < deadline:
                time.sleep(0.05)
            server_s3.stop()  # storage goes away in the middle of the crawl, for good
            out, _err = crawl.communicate(timeout=600)
        assert crawl.returncode == 1  # past the bound: the run failed, saying why
        assert b"storage unavailable" in out and b"NIANBAO_OUTAGE_MAX" in out
        spooled = [f for f in (home / "spool").rglob("*") if f.is_file() and len(f.name) == 64]
        assert spooled, "the storage outage did not land mid-crawl (nothing spooled)"
        server_s3 = seaweed.start(tmp_path / "weed")  # back up, same data directory
        client = server_s3.client()
        captures = catalog_rows(home, "SELECT sha256, size FROM captures")
        assert captures
        for sha256, size in captures:
            assert client.stat_object(bucket, object_key(sha256)).size == size
        orphans = catalog_rows(home, "SELECT q.id FROM parse_queue q LEFT JOIN captures c ON c.id = q.capture_id "
                                     "WHERE c.id IS NULL")
        assert orphans == []
        assert catalog_rows(home, "SELECT status, log_sha256 FROM runs") == [("failed", None)]
        assert '"event": "ended"' in (home / "logs" / "run-1.jsonl").read_text("utf-8")  # kept on disk
    finally:
        server_s3.stop()


def test_killed_crawl_leaves_no_capture_without_its_object(world, registry, home_env):
    home = Path(home_env["NIANBAO_HOME"])
    with SimulatorServer(world) as server:
        crawl = subprocess.Popen(
            [sys.executable, "-m", "nianbao", "crawl", "--sites", str(registry), "--proxy", server.proxy_url, *FAST],
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


class Unreadable(BaseHTTPRequestHandler):
    """A stub portal (reached as the crawl's proxy): lists that cannot be read, each in its own way."""

    DEEP = ("<html><body>" + "<div>" * 10_000 + '<a href="/nb/2023.html">2023年存根县政府信息公开工作年度报告</a>'
            + "</div>" * 10_000 + "</body></html>")
    HANWEB = ('<html><body><script type="text/xml"><datastore><recordset>'
              '<record><![CDATA[<li><a href="/nb/2023.html">2023年存根县政府信息公开工作年度报告</a></li>]]></record>'
              '<record><![CDATA[<li><a href="/nb/2022.html">2022年存根县政府信息公开工作年度报告</a></li></record>'
              "</recordset></datastore></script></body></html>")

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        path = urlsplit(self.path).path
        if path.startswith("/loop/"):  # a → b → a …
            self._answer(302, b"", {"Location": "/loop/b.html" if path.endswith("a.html") else "/loop/a.html"})
        elif path.startswith("/chain/"):  # 1 → 2 → 3 … never the same URL twice
            self._answer(302, b"", {"Location": f"/chain/{int(path.rsplit('/', 1)[1]) + 1}"})
        elif path == "/deep/index.html":
            self._answer(200, self.DEEP.encode())
        elif path == "/hanweb/col/col1/index.html":
            self._answer(200, self.HANWEB.encode())
        elif path == "/empty/index.html":
            self._answer(200, "<html><body><p>暂无信息</p></body></html>".encode())
        elif path.startswith("/nb/"):
            self._answer(200, "<html><head><title>年度报告</title></head><body><p>报告</p></body></html>".encode())
        else:
            self._answer(404, b"not here")

    def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in {"Content-Type": "text/html; charset=utf-8", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_every_list_that_cannot_be_read_leaves_a_failure_saying_why(home_env, tmp_path):
    stub = "http://www.stub.gov.cn"
    lists = {"loop": f"{stub}/loop/a.html", "chain": f"{stub}/chain/1", "deep": f"{stub}/deep/index.html",
             "hanweb": f"{stub}/hanweb/col/col1/index.html", "empty": f"{stub}/empty/index.html"}
    registry = tmp_path / "sites.yaml"
    registry.write_text(f"sites:\n  - id: stub\n    name: 存根县\n    home: {stub}/\n"
                        f"    report_lists: [{', '.join(lists.values())}]\n", "utf-8")
    with serving(Unreadable) as proxy:
        result = run_nianbao("crawl", "--sites", str(registry), "--proxy", proxy, "-s", "REDIRECT_MAX_TIMES=5", *FAST,
                             env=home_env, timeout=120)
    reasons = dict(catalog_rows(Path(home_env["NIANBAO_HOME"]), "SELECT url, reason FROM failures"))
    assert reasons.pop(lists["loop"]) == f"redirect loop: {stub}/loop/a.html → {stub}/loop/b.html → {stub}/loop/a.html"
    assert reasons.pop(lists["chain"]) == f"more than 5 redirects (REDIRECT_MAX_TIMES) from {stub}/chain/1"
    assert re.fullmatch(r"list page not parsed: \d+ of about 100\d\d elements read \(nested too deep or malformed "
                        r"HTML\)", reasons.pop(lists["deep"]))
    assert reasons.pop(lists["hanweb"]) == "malformed Hanweb XML: 1 of 2 <record> elements unreadable (broken CDATA)"
    assert reasons.pop(lists["empty"]) == "list page has no links to reports (nor to further pages)"
    assert reasons == {}  # and nothing else failed: the readable Hanweb record was archived
    assert catalog_rows(Path(home_env["NIANBAO_HOME"]), "SELECT url FROM captures WHERE kind = 'report'") == [
        (f"{stub}/nb/2023.html",)]
    assert "Traceback" not in result.stderr.decode()


def test_a_site_that_cannot_be_reached_gets_one_line_saying_so_and_what_to_do(home_env, tmp_path):
    registry = tmp_path / "sites.yaml"
    registry.write_text("sites:\n  - id: nowhere\n    name: 无处县\n    home: http://www.nowhere.invalid/\n"
                        "    report_lists: [http://www.nowhere.invalid/nb/index.html, "
                        "http://www.nowhere.invalid/nb/2023/index.html]\n", "utf-8")
    result = run_nianbao("crawl", "--sites", str(registry), "-s", "RETRY_TIMES=1", *FAST, env=home_env, timeout=300)
    err = result.stderr.decode()
    assert "Traceback" not in err and "Logging error" not in err
    said = [line for line in err.splitlines() if "nowhere" in line]
    assert len(said) == 1, err
    assert said[0].endswith("nowhere: www.nowhere.invalid cannot be reached (DNS lookup failed) from here; many "
                            "portals answer only from mainland Chinese networks: crawl through a proxy there (--proxy)")
    home = Path(home_env["NIANBAO_HOME"])
    assert catalog_rows(home, "SELECT url, reason FROM failures ORDER BY url") == [
        ("http://www.nowhere.invalid/nb/2023/index.html", "DNS lookup failed"),
        ("http://www.nowhere.invalid/nb/index.html", "DNS lookup failed")]
    log = [json.loads(line) for line in (home / "logs" / "run-1.jsonl").read_text("utf-8").splitlines()]
    assert sum(line["event"] == "failed" for line in log) == 2  # every failure is in the run log, all the same
    assert [line["event"] for line in log if line["level"] == "WARNING"].count("unreachable") == 1


@pytest.mark.parametrize(("variables", "said"), [
    ({"NIANBAO_STORAGE": "file:objects"},
     "NIANBAO_STORAGE='file:objects': expected file:///ABSOLUTE/PATH or s3://BUCKET[/PREFIX]"),
    ({"NIANBAO_STORAGE": "file://objects"}, "NIANBAO_STORAGE='file://objects': expected file:///ABSOLUTE/PATH"),
    ({"NIANBAO_STORAGE": "s3://nianbao", "NIANBAO_S3_ENDPOINT": "127.0.0.1:9", "NIANBAO_S3_SECURE": "maybe"},
     "NIANBAO_S3_SECURE='maybe': expected true or false (also 1/0, yes/no)"),
    ({"NIANBAO_STORAGE": "s3://nianbao", "NIANBAO_S3_ENDPOINT": "127.0.0.1:9", "NIANBAO_S3_VERSIONING": "ture"},
     "NIANBAO_S3_VERSIONING='ture': expected true or false"),
    ({"NIANBAO_STORAGE": "s3://nianbao", "NIANBAO_S3_ENDPOINT": "http://127.0.0.1:9", "NIANBAO_S3_SECURE": "true"},
     "NIANBAO_S3_ENDPOINT='http://127.0.0.1:9' says http, NIANBAO_S3_SECURE 'true' says otherwise"),
    ({"NIANBAO_CATALOG": "sqlite:////nonexistent/dir/catalog.sqlite3"},
     "NIANBAO_CATALOG='sqlite:////nonexistent/dir/catalog.sqlite3': directory /nonexistent/dir does not exist"),
    ({"NIANBAO_ARCHIVE_TIMEOUT": "soon"}, "NIANBAO_ARCHIVE_TIMEOUT='soon': expected a number of seconds above 0"),
    ({"NIANBAO_ARCHIVE_TIMEOUT": "0"}, "NIANBAO_ARCHIVE_TIMEOUT='0': expected a number of seconds above 0"),
])
def test_configuration_that_is_not_clearly_meant_is_refused(home_env, registry, variables, said):
    result = run_nianbao("crawl", "--sites", str(registry), env={**home_env, **variables}, check=False)
    err = result.stderr.decode()
    assert result.returncode == 2 and said in err and "Traceback" not in err, err
    assert not Path(home_env["NIANBAO_HOME"]).exists() and not Path("/nonexistent").exists()  # nothing made
