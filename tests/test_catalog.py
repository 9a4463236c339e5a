"""The catalog on both databases it supports: SQLite (embedded) and a real PostgreSQL."""

from __future__ import annotations

import json

import pytest

from archive.catalog import Catalog, CatalogError, utcnow
from tests.conftest import FAST, run_nianbao
from tests.simulator.server import SimulatorServer
from tests.simulator.world import build_world


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.sqlite3'}"
    return request.getfixturevalue("postgres_catalog")


def capture(run: int, url: str, kind: str = "report", sha: str = "a" * 64) -> dict:
    return dict(run_id=run, site="wanzai", kind=kind, url=url, final_url=url, status=200,
                   headers={"Content-Type": "text/html; charset=gbk"}, fetched_at=utcnow(), sha256=sha, size=3,
                   content_type="text/html", year=2023, agency="万载县人民政府", agency_kind="county",
                   title="万载县人民政府2023年政府信息公开工作年度报告")


def test_capture_and_parse_request_commit_together(catalog_url):
    catalog = Catalog(catalog_url)
    run = catalog.start_run(["wanzai"])
    catalog.record([capture(run, "http://www.wanzai.gov.cn/a.html"),
                    capture(run, "http://www.wanzai.gov.cn/list.html", kind="list")])
    rows = [c.as_dict() for c in catalog.captures(site="wanzai")]
    assert [r["kind"] for r in rows] == ["report", "list"]
    queue = catalog.parse_queue()
    assert [q["url"] for q in queue] == ["http://www.wanzai.gov.cn/a.html"]  # lists are not parsed


def test_a_failed_transaction_leaves_neither_capture_nor_queue_entry(catalog_url):
    catalog = Catalog(catalog_url)
    run = catalog.start_run(["wanzai"])
    broken = capture(run, "http://www.wanzai.gov.cn/b.html")
    broken["status"] = None  # NOT NULL: the transaction must fail as a whole
    with pytest.raises(Exception):  # noqa: B017 - the database's own integrity error
        catalog.record([capture(run, "http://www.wanzai.gov.cn/ok.html"), broken])
    assert list(catalog.captures()) == [] and catalog.parse_queue() == []


def test_latest_capture_failures_and_runs(catalog_url):
    catalog = Catalog(catalog_url)
    run = catalog.start_run(["wanzai"])
    catalog.record([capture(run, "http://x.gov.cn/r.html", sha="1" * 64)])
    catalog.record([capture(run, "http://x.gov.cn/r.html", sha="2" * 64)],
                   failures=[dict(run_id=run, site="wanzai", url="http://x.gov.cn/gone", reason="HTTP 404")])
    assert catalog.latest_capture("http://x.gov.cn/r.html").sha256 == "2" * 64
    assert [f.reason for f in catalog.failures(run=run)] == ["HTTP 404"]
    catalog.finish_run(run, "finished", {"wanzai/report": 2})
    assert catalog.run(run).status == "finished" and catalog.site_summary(run) == {
        "wanzai": {"report": 2, "errors": 1}}


def test_unusable_catalog_url_is_a_clear_error(tmp_path):
    with pytest.raises(CatalogError, match="NIANBAO_CATALOG"):
        Catalog("nosuchdb://x")
    with pytest.raises(CatalogError, match="cannot open catalog"):
        Catalog("postgresql+psycopg2://nianbao:secret@127.0.0.1:9/none")


def test_crawl_into_postgresql(postgres_catalog, home_env, tmp_path):
    world = build_world(counties=2)
    registry = tmp_path / "sites.yaml"
    registry.write_text(world.registry_yaml(), "utf-8")
    env = {**home_env, "NIANBAO_CATALOG": postgres_catalog}
    with SimulatorServer(world) as server:
        run_nianbao("crawl", "--sites", str(registry), "--proxy", server.proxy_url, *FAST, env=env)
    listing = run_nianbao("archive", "list", "--json", "--kind", "report", env=env).stdout.decode()
    got = {json.loads(line)["url"]: json.loads(line)["sha256"] for line in listing.splitlines()}
    assert got == {r.url: r.sha256 for r in world.reports}
