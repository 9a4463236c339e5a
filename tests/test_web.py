"""``nianbao serve`` as operators meet it: a real server process over real runs, and a real browser.

The archive holds runs made by real crawls of the simulated world: one that failed (its storage
broken), one that finished into the real S3 server (with a site that answers 404), one of the 404
site alone (so its last three runs brought nothing: flagged), and one still running.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from prometheus_client.parser import text_string_to_metric_families

from archive import overview
from archive.catalog import Catalog, utcnow
from archive.reasons import reason_class
from tests.conftest import FAST, ROOT, run_nianbao
from tests.simulator.server import SimulatorServer
from tests.simulator.world import build_world
from tests.support import free_ports, nianbao_env, stop_process
from tests.support.http import call
from web.auth import TokenAuth, safe_next

GONE = ("  - id: gone\n    name: 不存在县\n    province: 广东省\n    home: http://www.gone.gov.cn/\n"
        "    report_lists: [http://www.gone.gov.cn/xxgk/nb/index.html]\n")
GONE_URL = "http://www.gone.gov.cn/xxgk/nb/index.html"
PROXY_SECRET = "proxy-pass-" + secrets.token_hex(8)
FAILED, FINISHED, GONE_ALONE, RUNNING = 1, 2, 3, 4  # the runs, in the order the fixture makes them
AS_OF = "2025-06-01"  # report year 2024 is due: the world has it, so only the failing site is flagged


@pytest.fixture(scope="module")
def archive(s3_server, tmp_path_factory) -> dict[str, Any]:
    """Four runs in a catalog over S3; returns the environment, the registry and the catalog URL."""
    tmp = tmp_path_factory.mktemp("web")
    world = build_world(counties=2)
    registry = tmp / "sites.yaml"
    registry.write_text(world.registry_yaml() + GONE, "utf-8")
    home = tmp / "home"
    env = {**nianbao_env(home), **s3_server.env("nianbao-web")}
    broken = tmp / "broken"  # a store whose sha256/ is a file: every put fails, the crawl stops
    broken.mkdir()
    (broken / "sha256").write_text("not a directory")
    with SimulatorServer(world) as server:
        crawl = ["crawl", "--sites", str(registry), "--proxy", server.proxy_url, *FAST]
        # first, so that nothing is known yet: every body must be stored, and cannot be
        run_nianbao(*crawl, "--site", "xunwu", "--site", "gone", "-s", "NIANBAO_OUTAGE_MAX=3", check=False, timeout=120,
                    env={**env, "NIANBAO_STORAGE": broken.as_uri(), "NIANBAO_CATALOG": f"sqlite:///{home}/catalog.sqlite3"})
        # What it fetched waits in the spool for storage to come back (tests/test_outage.py drains one); here the
        # run is to stay as it failed, so the next crawls must not drain it into their own figures.
        shutil.rmtree(home / "spool")
        run_nianbao(*crawl, env=env, timeout=120)
        run_nianbao(*crawl, "--site", "gone", env=env, timeout=120)
    (home / "logs" / f"run-{FINISHED}.jsonl").unlink()  # that log now lives only in object storage
    catalog = Catalog(f"sqlite:///{home}/catalog.sqlite3", create=False)
    running = catalog.start_run(["wanzai"], trigger="schedule")  # this process is its crawl: alive
    catalog.update_run(running, {"requests": 7, "reports": 2, "sites": {"wanzai": {"reports": 2}}})
    return {"env": env, "registry": registry, "catalog": catalog, "home": home, "world": world, "running": running}


@pytest.fixture(scope="module")
def server(archive, tmp_path_factory) -> dict[str, Any]:
    """``nianbao serve`` on a free port, no token configured (so it makes one); its output kept in files."""
    logs = tmp_path_factory.mktemp("serve")
    (port,) = free_ports(1)
    env = {**archive["env"], "NIANBAO_PROXY": f"http://crawler:{PROXY_SECRET}@127.0.0.1:9"}
    out, err = (logs / "stdout").open("wb"), (logs / "stderr").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "nianbao", "serve", "--sites", str(archive["registry"]),
                                "--port", str(port), "--as-of", AS_OF], env=env, cwd=ROOT, stdout=out, stderr=err)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while call(base + "/healthz")[0] != 200:
        assert process.poll() is None and time.monotonic() < deadline, (logs / "stderr").read_text()
        time.sleep(0.1)
    token_file = archive["home"] / "dashboard-token"
    yield {"base": base, "token": token_file.read_text().strip(), "token_file": token_file, "logs": logs,
           "process": process}
    stop_process(process)


def api(server: dict[str, Any], path: str) -> Any:
    status, _, body = call(server["base"] + quote(path, safe="/?=&"), server["token"])
    assert status == 200, (path, status, body[:300])
    return json.loads(body)


def test_token_is_generated_private_and_never_printed(server):
    assert server["token_file"].stat().st_mode & 0o777 == 0o600
    assert len(server["token"]) >= 32
    err = (server["logs"] / "stderr").read_text()
    assert str(server["token_file"]) in err and server["token"] not in err


def test_api_needs_the_token_and_the_open_endpoints_do_not(server):
    base, token = server["base"], server["token"]
    for path in ("/api/runs", "/api/runs/1", "/api/runs/1/log", "/api/sites", "/api/failures", "/api/coverage",
                 "/api/flags"):
        assert call(base + path)[0] == 401, path
        assert call(base + path, "x" * len(token))[0] == 401, path
        assert call(base + path, token)[0] == 200, path
    assert call(f"{base}/api/runs?token={token}")[0] == 401  # never in a URL: URLs end up in access logs
    status, headers, _ = call(base + "/runs")
    assert status == 303 and headers["location"] == "/login?next=%2Fruns"
    assert call(base + "/healthz")[0] == 200 and call(base + "/metrics")[0] == 200
    assert call(base + "/openapi.json")[0] == 401  # the API's description is behind its token too
    paths = json.loads(call(base + "/openapi.json", token)[2])["paths"]
    assert {"/api/runs", "/api/runs/{run_id}", "/api/runs/{run_id}/log", "/api/sites", "/api/failures",
            "/api/coverage", "/api/flags", "/metrics", "/healthz", "/timemap/link/{url}", "/timegate/{url}",
            "/memento/{stamp}/{url}", "/cdx"} <= set(paths)
    assert paths["/api/runs/{run_id}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]


def test_runs_and_their_figures(server, archive):
    runs = {r["id"]: r for r in api(server, "/api/runs")}
    assert {i: r["status"] for i, r in runs.items()} == {
        FAILED: "failed", FINISHED: "finished", GONE_ALONE: "finished", RUNNING: "running"}
    running = runs[RUNNING]
    assert running["trigger"] == "schedule" and running["stats"]["requests"] == 7 and not running["stalled"]
    finished = api(server, f"/api/runs/{FINISHED}")["stats"]
    assert finished["reports"] == len(archive["world"].reports) and finished["errors_by_reason"] == {"HTTP 404": 1}
    assert finished["sites"]["gone"]["errors"] == 1 and finished["responses"]["200"] > 0
    assert "storage unavailable" in runs[FAILED]["stats"]["stopped"]
    assert [r["id"] for r in api(server, "/api/runs?site=xunwu")] == [FINISHED, FAILED]
    assert [r["id"] for r in api(server, "/api/runs?status=failed")] == [FAILED]
    assert call(server["base"] + "/api/runs/99", server["token"])[0] == 404


def test_run_log_with_filters_including_one_read_back_from_s3(server):
    log = f"/api/runs/{FINISHED}/log"
    whole = api(server, log)["lines"]  # its file was deleted: this came from object storage
    assert whole[0]["event"] == "started" and whole[-1]["event"] == "ended"
    failed = api(server, log + "?event=failed")["lines"]
    assert [(line["site"], line["url"], line["reason"]) for line in failed] == [("gone", GONE_URL, "HTTP 404")]
    assert api(server, log + "?site=gone&text=404")["lines"] == failed
    errors = api(server, f"/api/runs/{FAILED}/log?level=error")["lines"]
    assert errors and {line["level"] for line in errors} <= {"ERROR", "CRITICAL"}
    assert any("stopping the crawl" in line["message"] for line in errors)
    page = api(server, log + "?limit=5")
    rest = api(server, f"{log}?offset={page['next_offset']}")
    assert page["more"] and page["lines"] + rest["lines"] == whole and not rest["more"]


def test_sites_failures_coverage_and_flags(server, archive):
    listing = api(server, "/api/sites")
    sites = {s["id"]: s for s in listing["sites"]}
    assert set(sites) == {"xunwu", "wanzai", "gone"}
    assert sites["xunwu"]["last_run"]["id"] == FINISHED and sites["xunwu"]["last_run"]["status"] == "finished"
    assert sites["xunwu"]["last_success_run"] == FINISHED and sites["gone"]["last_success"] is None
    assert sites["wanzai"]["last_run"]["id"] == RUNNING
    planted = sum(1 for r in archive["world"].reports if r.site == "xunwu" and r.year == 2024)
    assert listing["report_year"] == 2024 and sites["xunwu"]["reports"] == planted
    assert [s["id"] for s in api(server, "/api/sites?province=广东省")["sites"]] == ["gone"]
    flags = api(server, "/api/flags")
    assert [(f["site"], f["kind"]) for f in flags] == [("gone", "failing")]
    assert flags[0]["detail"].endswith("(runs 3, 2, 1)")
    (latest,) = api(server, "/api/failures")  # each site's latest run: only the gone site failed in its
    assert (latest["reason"], latest["sites"], latest["failures"][0]["url"]) == ("HTTP 404", ["gone"], GONE_URL)
    assert latest["count"] == 1 and latest["failures"][0]["run"] == GONE_ALONE
    groups = {g["reason"]: g for g in api(server, f"/api/failures?run={FAILED}")}
    # Storage away is the run's failure, not its URLs': what it fetched meanwhile was spooled, not lost.
    assert set(groups) == {"HTTP 404"} and groups["HTTP 404"]["failures"][0]["url"] == GONE_URL
    grid = api(server, "/api/coverage?flagged=true")
    assert grid["due_year"] == 2024 and grid["years"] == list(range(2019, 2025))
    assert [s["id"] for s in grid["sites"]] == ["gone"] and set(grid["sites"][0]["reports"].values()) == {0}
    xunwu = api(server, "/api/coverage?q=寻乌")["sites"][0]["reports"]
    assert xunwu == {str(year): sum(1 for r in archive["world"].reports if r.site == "xunwu" and r.year == year)
                     for year in range(2019, 2025)}


def test_missing_reports_are_flagged_after_the_deadline(archive):
    catalog, sites = archive["catalog"], ["xunwu", "wanzai", "gone"]
    after = {(f.site, f.kind) for f in overview.flags(catalog, sites, date(2026, 6, 1))}  # 2025 due, none archived
    assert after == {("xunwu", "missing"), ("wanzai", "missing"), ("gone", "failing")}
    before = {(f.site, f.kind) for f in overview.flags(catalog, sites, date(2026, 3, 31))}  # not due yet
    assert before == {("gone", "failing")}


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_overview_queries_on_both_databases(database, request, tmp_path):
    url = f"sqlite:///{tmp_path / 'c.sqlite3'}" if database == "sqlite" else request.getfixturevalue("postgres_catalog")
    catalog = Catalog(url)
    report = dict(site="a", kind="report", final_url="u", status=200, headers={}, fetched_at=utcnow(), sha256="a" * 64,
                  size=3, year=2024)
    ok = catalog.start_run(["a", "b"])
    catalog.record([{**report, "run_id": ok, "url": "http://a/1"}, {**report, "run_id": ok, "url": "http://a/1"}])
    catalog.finish_run(ok, "finished", {"requests": 5, "bytes_stored": 3 * 2**30, "objects_stored": 1})
    for _ in range(3):
        bad = catalog.start_run(["b"])
        catalog.record(failures=[{"run_id": bad, "site": "b", "url": "http://b/", "reason": "HTTP 503: busy"}])
        catalog.finish_run(bad, "finished", {"requests": 1})
    status = overview.site_status(catalog, ["a", "b"], date(2025, 6, 1))
    assert status["a"].reports == {2024: 1} and status["a"].last_success_run == ok and not status["a"].flags
    assert status["b"].last_run.id == bad and [f.kind for f in status["b"].flags] == ["failing"]
    assert [f.kind for f in overview.site_status(catalog, ["a"], date(2026, 4, 1))["a"].flags] == ["missing"]
    totals = overview.totals(catalog)
    assert (totals.requests, totals.bytes_stored, totals.runs) == (8, 3 * 2**30, {"finished": 4})
    assert totals.errors_by_reason == {"HTTP 503": 3} and totals.reports_by_year == {2024: 1}
    (group,) = overview.failures_by_reason(catalog)  # each site's latest run: one of the three
    assert (group.reason, group.count, group.failures[0].run_id) == ("HTTP 503", 1, bad)


def test_metrics_are_the_catalogs_figures(server, archive):
    status, headers, body = call(server["base"] + "/metrics")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(body.decode()) for s in family.samples}
    catalog = archive["catalog"]
    runs = catalog.runs()
    assert all(name.startswith("nianbao_") for name, _ in samples)
    for status_name in ("running", "finished", "failed", "cancelled"):
        assert samples["nianbao_runs", (("status", status_name),)] == sum(r.status == status_name for r in runs)
    assert samples["nianbao_requests_total", ()] == sum(r.stats.get("requests", 0) for r in runs)
    assert samples["nianbao_bytes_stored_total", ()] == sum(r.stats.get("bytes_stored", 0) for r in runs) > 0
    errors = {reason: value for (name, labels), value in samples.items() if name == "nianbao_errors_total"
              for _, reason in labels}
    assert errors == dict(Counter(reason for f in catalog.failures() for reason in [reason_class(f.reason)]))
    assert errors["HTTP 404"] == 3  # the gone site, in each of its three ended runs
    assert samples["nianbao_parse_queue_depth", ()] == len(catalog.parse_queue())
    assert samples["nianbao_reports_archived", (("year", "2024"),)] == sum(
        1 for r in archive["world"].reports if r.year == 2024)
    assert samples["nianbao_sites_flagged", (("flag", "failing"),)] == 1


def test_serve_refuses_what_cannot_work(home_env, archive):
    no_archive = run_nianbao("serve", "--port", "1", env=home_env, check=False, timeout=30)
    assert no_archive.returncode == 2 and b"no archive catalog" in no_archive.stderr
    assert not Path(home_env["NIANBAO_HOME"]).exists()
    env = archive["env"]
    exposed = run_nianbao("serve", "--host", "0.0.0.0", "--sites", str(archive["registry"]), env=env, check=False,
                          timeout=30)
    assert exposed.returncode == 2 and b"NIANBAO_TOKEN" in exposed.stderr
    db = run_nianbao("serve", env={**env, "NIANBAO_CATALOG": "postgresql+psycopg2://u:db-pass-1234@127.0.0.1:9/x"},
                     check=False, timeout=30)
    assert db.returncode == 2 and b"db-pass-1234" not in db.stderr + db.stdout


def test_sessions_are_signed_and_expire():
    with pytest.raises(ValueError, match="at least 16"):
        TokenAuth("short")
    auth, other = TokenAuth("t" * 32), TokenAuth("u" * 32)
    value, seconds = auth.session()
    assert auth.valid_session(value) and not other.valid_session(value) and seconds == 12 * 3600
    expires, _, mac = value.partition(".")
    assert not auth.valid_session(f"{int(expires) + 1}.{mac}")  # the expiry cannot be stretched
    assert not auth.valid_session(f"{int(time.time()) - 1}.{auth._mac(int(time.time()) - 1)}")  # expired
    assert not auth.valid_session("") and not auth.valid_session("garbage") and "t" * 32 not in value
    assert [safe_next(p) for p in ("/runs?x=1", "//evil.example/", "https://evil.example/", "/\\evil", None)] == [
        "/runs?x=1", "/", "/", "/", "/"]


def test_dashboard_in_chromium(server, archive):
    from playwright.sync_api import expect, sync_playwright

    base, token, catalog = server["base"], server["token"], archive["catalog"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", timeout=30000, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page()
            page.set_default_timeout(10000)
            problems: list[str] = []
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: problems.append(str(e)))

            page.goto(base + "/")
            expect(page).to_have_url(base + "/login?next=%2F")
            page.fill("input[name=token]", "wrong-" + token)
            page.click("form.login button")
            expect(page.get_by_role("alert")).to_contain_text("not the dashboard token")
            page.fill("input[name=token]", token)
            page.click("form.login button")
            expect(page).to_have_url(base + "/")
            (cookie,) = page.context.cookies()
            assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and token not in cookie["value"]

            # live progress: the running run's figures follow the catalog without a reload
            live = page.locator(f"table.runs[data-live] tr[data-run='{RUNNING}'] td[data-field=requests]")
            expect(live).to_have_text("7")
            catalog.update_run(archive["running"], {"requests": 1234, "reports": 5, "sites": {"wanzai": {}}})
            expect(live).to_have_text("1,234", timeout=15000)

            page.click("nav >> text=Runs")
            rows = page.locator("table.runs tbody tr")
            expect(rows).to_have_count(4)
            for run in catalog.runs():
                row = page.locator(f"table.runs tr[data-run='{run.id}']")
                expect(row.locator(".status")).to_contain_text(run.status)

            page.click(f"table.runs tr[data-run='{FINISHED}'] a >> text='{FINISHED}'")
            expect(page.locator("h1")).to_contain_text(f"Run {FINISHED}")
            reports = catalog.run(FINISHED).stats["reports"]
            expect(page.locator("table.figures td[data-field=reports]")).to_have_text(f"{reports:,}")
            expect(page.locator("table.figures").first).to_contain_text("Requests")

            page.goto(f"{base}/runs/{FAILED}")
            expect(page.locator(".error")).to_contain_text("storage unavailable")
            page.click("text=Log")
            expect(page.locator("table.log tbody tr td:nth-child(2)", has_text="INFO").first).to_be_visible()
            page.select_option("select[name=level]", "ERROR")
            page.click("form.filters button")
            expect(page).to_have_url(f"{base}/runs/{FAILED}/log?level=ERROR&site=&event=&text=")
            levels = page.locator("table.log tbody tr td:nth-child(2)").all_inner_texts()
            assert levels and set(levels) <= {"ERROR", "CRITICAL"}
            expect(page.locator("table.log")).to_contain_text("stopping the crawl")

            page.click("h1 a")  # back to the run, then its failures
            page.click("text=Failures (")
            expect(page.locator("h1")).to_contain_text(f"Failures of run {FAILED}")
            expect(page.locator("section.reason h2", has_text="HTTP 404")).to_contain_text("gone")
            expect(page.locator("section.reason", has_text="HTTP 404")).to_contain_text(GONE_URL)

            page.click("nav >> text=Coverage")
            expect(page.locator("table.coverage tbody tr")).to_have_count(3)
            planted = sum(1 for r in archive["world"].reports if r.site == "xunwu" and r.year == 2024)
            expect(page.locator("tr[data-site=xunwu] td[data-year='2024']")).to_have_text(str(planted))
            page.check("input[name=flagged]")
            page.click("form.filters button")
            expect(page.locator("table.coverage tbody tr")).to_have_count(1)
            expect(page.locator("tr.flagged[data-site=gone] .flag.failing")).to_be_visible()

            page.click("button:has-text('Sign out')")
            expect(page).to_have_url(base + "/login")
            page.goto(base + "/coverage")
            expect(page).to_have_url(base + "/login?next=%2Fcoverage")
            assert [p for p in problems if "status of 401" not in p] == []  # the wrong token's answer aside
        finally:
            browser.close()


def test_no_secret_in_any_page_answer_or_log(server, archive):
    """Runs last: the server's logs then hold every request the other tests made."""
    base, token = server["base"], server["token"]
    cookie = call(base + "/login", data=f"token={token}&next=/".encode())[1]["set-cookie"].split(";")[0]
    env = archive["env"]
    secrets_ = [token, PROXY_SECRET, env["NIANBAO_S3_SECRET_KEY"], env["NIANBAO_S3_ACCESS_KEY"]]
    bodies = [call(base + path, cookie=cookie)[2] for path in (
        "/", "/runs", "/runs/1", "/runs/2", "/runs/2/log", "/runs/1/log?level=ERROR", "/sites", "/failures",
        "/coverage", "/login", "/nonexistent", "/api/runs", "/api/runs/2/log", "/metrics", "/openapi.json")]
    logs = [(server["logs"] / name).read_bytes() for name in ("stdout", "stderr")]
    assert b"GET /api/runs" in b"".join(logs)  # the access log is there, and was read
    for secret in secrets_:
        for text in bodies + logs:
            assert secret.encode() not in text
