"""The whole pipeline on the simulated county world: crawl through the proxy into real S3.

One crawl per module; every test checks a different promise against its outcome.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from archive.storage import object_key
from tests.conftest import FAST, run_nianbao
from tests.simulator.server import SimulatorServer
from tests.simulator.world import build_world


@pytest.fixture(scope="module")
def world():
    return build_world(counties=6)


@pytest.fixture(scope="module")
def crawled(world, s3_server, tmp_path_factory):
    """Crawl every simulated county into a fresh S3 bucket; returns what a user can see of it."""
    tmp = tmp_path_factory.mktemp("e2e")
    registry = tmp / "sites.yaml"
    registry.write_text(world.registry_yaml(), "utf-8")
    bucket = "nianbao-e2e"
    with SimulatorServer(world) as server:
        env = {
            "PATH": "/usr/bin:/bin",
            "NIANBAO_HOME": str(tmp / "home"),
            "NIANBAO_PROXY": server.proxy_url,
            **s3_server.env(bucket),
        }
        result = run_nianbao("crawl", "--sites", str(registry), "--log-level", "DEBUG", *FAST, env=env)
        requests = list(server.requests)
    listing = run_nianbao("archive", "list", "--json", env=env).stdout.decode()
    queue = run_nianbao("parse", "queue", "--json", env=env).stdout.decode()
    return {
        "env": env,
        "bucket": bucket,
        "stdout": result.stdout.decode(),
        "stderr": result.stderr.decode(),
        "captures": [json.loads(line) for line in listing.splitlines()],
        "queue": [json.loads(line) for line in queue.splitlines()],
        "requests": requests,
    }


def by_url(captures, kind):
    return {c["url"]: c for c in captures if c["kind"] == kind}


def test_every_planted_report_is_archived_with_year_and_agency(world, crawled):
    reports = by_url(crawled["captures"], "report")
    missing = [r.url for r in world.reports if r.url not in reports]
    assert missing == []
    for planted in world.reports:
        got = reports[planted.url]
        assert got["sha256"] == planted.sha256, planted.url
        assert (got["site"], got["year"], got["agency"], got["agency_kind"]) == (
            planted.site, planted.year, planted.agency, planted.agency_kind), planted.title
        assert got["title"] == planted.title


def test_every_planted_attachment_is_archived(world, crawled):
    attachments = by_url(crawled["captures"], "attachment")
    missing = [a.url for a in world.attachments if a.url not in attachments]
    assert missing == []
    for planted in world.attachments:
        got = attachments[planted.url]
        assert got["sha256"] == planted.sha256
        assert got["referrer"] == planted.report_url
        assert got["filename"] == planted.filename


def test_no_distractor_is_taken_for_a_report(world, crawled):
    reports = by_url(crawled["captures"], "report")
    wrong = [d.title for d in world.distractors if d.url in reports]
    assert wrong == []
    assert len(reports) == len(world.reports)


def test_every_catalog_row_has_its_object_in_s3(crawled, s3_server):
    client = s3_server.client()
    assert crawled["captures"], "nothing was archived"
    for capture in crawled["captures"]:
        stat = client.stat_object(crawled["bucket"], object_key(capture["sha256"]))
        assert stat.size == capture["size"]
    kinds = {c["kind"] for c in crawled["captures"]}
    assert {"list", "report", "attachment"} <= kinds


def test_archive_get_returns_verified_bytes(world, crawled, tmp_path):
    planted = next(r for r in world.reports if r.url.endswith(".pdf")) if any(
        r.url.endswith(".pdf") for r in world.reports) else world.reports[0]
    out = tmp_path / "report.bin"
    run_nianbao("archive", "get", planted.url, "-o", str(out), env=crawled["env"])
    assert hashlib.sha256(out.read_bytes()).hexdigest() == planted.sha256
    piped = run_nianbao("archive", "get", world.attachments[0].url, env=crawled["env"]).stdout
    assert hashlib.sha256(piped).hexdigest() == world.attachments[0].sha256
    absent = run_nianbao("archive", "get", "http://www.nowhere.gov.cn/x.html", env=crawled["env"], check=False)
    assert absent.returncode == 1 and b"not in the archive" in absent.stderr


def test_parse_queue_holds_exactly_the_reports_and_attachments(crawled):
    parsed = {c["id"] for c in crawled["captures"] if c["kind"] in {"report", "attachment"}}
    assert {q["capture"] for q in crawled["queue"]} == parsed
    assert all(q["state"] == "pending" for q in crawled["queue"])


def test_list_pagination_is_followed_to_the_end(world, crawled):
    lists = by_url(crawled["captures"], "list")
    posts = [u for u in lists if "dataproxy.jsp" in u]
    assert posts, "Hanweb records beyond the first 45 come only through dataproxy POSTs"
    assert any("index_1" in u or "index_2" in u for u in lists)


def test_summary_and_scope(world, crawled):
    out = crawled["stdout"]
    for site in world.sites:
        planted = sum(1 for r in world.reports if r.site == site.id)
        line = next(line for line in out.splitlines() if line.startswith(site.id + " "))
        assert int(line.split()[1]) == planted
    hosts = {urlsplit(url).hostname for _method, url in crawled["requests"]}
    assert hosts <= world.hosts
    assert "http://127.0.0.1" not in " ".join(u for _m, u in crawled["requests"])


def test_no_secret_in_logs(crawled):
    secret = crawled["env"]["NIANBAO_S3_SECRET_KEY"]
    assert secret not in crawled["stderr"] and secret not in crawled["stdout"]
    assert "DEBUG" in crawled["stderr"]  # the crawl did log verbosely


def test_scrapy_commands_work_from_the_repo_root(world, tmp_path):
    import subprocess
    import sys

    root = Path(__file__).resolve().parent.parent
    listed = subprocess.run([sys.executable, "-m", "scrapy", "list"], cwd=root, capture_output=True, text=True)
    assert listed.stdout.split() == ["annual_reports"], listed.stderr
    registry = tmp_path / "sites.yaml"
    registry.write_text(world.registry_yaml(), "utf-8")
    site = world.sites[1]
    with SimulatorServer(world) as server:
        done = subprocess.run(
            [sys.executable, "-m", "scrapy", "crawl", "annual_reports", "-a", f"site={site.id}",
             "-s", f"NIANBAO_SITES={registry}", "-s", f"NIANBAO_PROXY={server.proxy_url}",
             "-s", f"NIANBAO_HOME={tmp_path / 'home'}", *FAST],
            cwd=root, capture_output=True, text=True, timeout=300,
        )
    assert done.returncode == 0, done.stderr[-3000:]
    env = {"PATH": "/usr/bin:/bin", "NIANBAO_HOME": str(tmp_path / "home")}
    listing = run_nianbao("archive", "list", "--json", "--kind", "report", env=env).stdout.decode()
    assert {json.loads(line)["url"] for line in listing.splitlines()} == {
        r.url for r in world.reports if r.site == site.id}
