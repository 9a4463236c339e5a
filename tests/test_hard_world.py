"""The harder kinds of portal: gkmlpt's API, script-rendered lists, JS anti-bot challenges, a
charset the header gets wrong, download endpoints and file hosts, discovery from the home page,
traps and mirrors, robots.txt, oversize files."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from crawler.registry import parse_registry
from crawler.scope import Scope
from tests.conftest import FAST, run_nianbao
from tests.simulator import build_hard_world
from tests.simulator.server import SimulatorServer

PLATFORMS = ("gkmlpt", "spa", "antibot_jsl", "antibot_ruishu", "antibot_blocked", "html_encoding", "html_downloads",
             "html_discovery", "html_traps", "html_robots")


@pytest.fixture(scope="module")
def hard():
    return build_hard_world()


@pytest.fixture(scope="module")
def crawled(hard, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hard")
    registry = tmp / "sites.yaml"
    registry.write_text(hard.registry_yaml(), "utf-8")
    sites = [s.id for s in hard.sites if s.platform in PLATFORMS]
    env = {"PATH": "/usr/bin:/bin", "NIANBAO_HOME": str(tmp / "home")}
    with SimulatorServer(hard) as server:
        result = run_nianbao("crawl", "--sites", str(registry), "--proxy", server.proxy_url, *FAST,
                             "-s", "NIANBAO_CHALLENGE_TIMEOUT=8",  # the endless challenge is given up on sooner
                             *[arg for site in sites for arg in ("--site", site)], env=env)
        requests = [url for _method, url in server.requests]
    listing = run_nianbao("archive", "list", "--json", env=env).stdout.decode()
    return {"sites": sites, "out": result.stdout.decode(), "requests": requests, "registry": registry,
            "captures": [json.loads(line) for line in listing.splitlines()], "env": env}


def test_reports_and_attachments_are_all_found_with_their_names(hard, crawled):
    reports = {c["url"]: c for c in crawled["captures"] if c["kind"] == "report"}
    attachments = {c["url"]: c for c in crawled["captures"] if c["kind"] == "attachment"}
    planted = [r for r in hard.reports if r.site in crawled["sites"]]
    assert planted and {r.url: r.sha256 for r in planted} == {u: c["sha256"] for u, c in reports.items()}
    for report in planted:  # titles decoded right although the header said iso-8859-1
        assert (reports[report.url]["title"], reports[report.url]["agency"]) == (report.title, report.agency)
    files = [a for a in hard.attachments if a.report_url in {r.url for r in planted}]
    assert {a.url: (a.sha256, a.filename) for a in files} == {
        u: (c["sha256"], c["filename"]) for u, c in attachments.items()}
    assert {urlsplit(a.url).hostname for a in files} >= {"files.jiangxi.gov.cn", "oss.ay.gov.cn"}


def test_traps_mirrors_and_internal_links_are_not_followed(hard, crawled):
    registry = parse_registry(crawled["registry"].read_text("utf-8"), "hard")
    scopes = [Scope(site) for site in registry.select(crawled["sites"])]
    # Chromium included: its calls home (updates, sign-in) must not leave either.
    assert [url for url in crawled["requests"] if not any(scope.allows(url) for scope in scopes)] == []
    assert not [u for u in crawled["requests"] if "/news/list.html" in u]  # the endless pager
    assert not [d.url for d in hard.distractors if d.kind == "mirror" and d.url in crawled["requests"]]
    assert not [u for u in crawled["requests"] if "/private/" in u]
    assert crawled["out"].count("mirror-example.com") == 1  # reported once, not once per page


def test_failures_carry_plain_reasons(hard, crawled):
    (oversize,) = hard.oversize
    out = crawled["out"]
    assert f"too large: 314572800 bytes, more than DOWNLOAD_MAXSIZE (209715200): {oversize}" in out
    assert "Forbidden by robots.txt" in out
    assert "out of scope: not a host of this site: http://www.mirror-example.com/" in out
    blocked = next(s for s in hard.sites if s.platform == "antibot_blocked")
    assert (f"{blocked.id}: blocked by a JS challenge (no content after 8 s in the browser) after 2 browser pass(es): "
            f"{blocked.report_lists[0]}") in out


def test_discovered_lists_are_where_the_next_crawl_starts(hard, crawled):
    site = next(s for s in hard.sites if s.platform == "html_discovery")
    assert site.report_lists == [] and site.home in crawled["requests"]  # found from the home page
    assert not [u for u in crawled["requests"] if "/zfgzbg/" in u]  # 政府工作报告 is not the annual report
    with SimulatorServer(hard) as server:
        run_nianbao("crawl", "--sites", str(crawled["registry"]), "--proxy", server.proxy_url, *FAST, "--site", site.id,
                    "-s", "NIANBAO_RECHECK_AFTER=0", env=crawled["env"])  # as a later crawl: reports asked again
        again = [url for _method, url in server.requests]
    assert site.home not in again and "http://www.huoshan.gov.cn/zwgk/index.html" not in again
    assert {r.url for r in hard.reports if r.site == site.id} <= set(again)


def test_only_pages_that_need_a_script_are_rendered(hard, crawled):
    import sqlite3

    spa = next(s for s in hard.sites if s.platform == "spa")
    with sqlite3.connect(f"{crawled['env']['NIANBAO_HOME']}/catalog.sqlite3") as db:
        (stats,) = db.execute("SELECT stats FROM runs ORDER BY id LIMIT 1").fetchone()
    rendered = {site: f["rendered"] for site, f in json.loads(stats)["sites"].items() if f.get("rendered")}
    assert rendered == {spa.id: 1}  # the script-rendered list once, nothing else: the rest is its API's pages
    api = [u for u in hard.urls if "/api/list.json?page=" in u]
    assert len(api) > 1 and set(api) <= set(crawled["requests"])  # asked for plainly (crawler.listings.api)


def test_a_later_recrawl_renders_again_and_stores_what_it_rendered(hard, crawled):
    """The archived list is the empty shell a script fills: a 304 for it must not stand in for the rendered page."""
    import sqlite3

    from archive.storage import object_key

    spa = next(s for s in hard.sites if s.platform == "spa")
    home = crawled["env"]["NIANBAO_HOME"]
    with SimulatorServer(hard) as server:
        run_nianbao("crawl", "--sites", str(crawled["registry"]), "--proxy", server.proxy_url, *FAST, "--site", spa.id,
                    "-s", "NIANBAO_RECHECK_AFTER=0", env=crawled["env"])
    with sqlite3.connect(f"{home}/catalog.sqlite3") as db:
        (run,) = db.execute("SELECT max(id) FROM runs").fetchone()
        rows = db.execute("SELECT url, kind, status, sha256, size FROM captures WHERE run_id = ?", (run,)).fetchall()
    assert {url for url, kind, *_ in rows if kind == "report"} == {r.url for r in hard.reports if r.site == spa.id}
    for _url, _kind, _status, sha256, size in rows:  # every row's body is the one stored, whatever was rendered
        assert (Path(home) / "objects" / object_key(sha256)).stat().st_size == size
