"""The catalog on both databases it supports: SQLite (embedded) and a real PostgreSQL."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from archive.catalog import Catalog, CatalogError, RecheckPolicy, Run, utcnow
from archive.urlkey import url_key
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


# -- the check schedule ------------------------------------------------------------------------
DAY = timedelta(days=1)
REPORT = "http://www.wanzai.gov.cn/art/2024/1/15/art_1_1.html"


def at(day: int) -> datetime:
    return datetime(2024, 3, 1, 8) + day * DAY


def check_of(catalog: Catalog, url: str = REPORT) -> tuple[timedelta, datetime, datetime | None]:
    row = catalog.url_check(url)
    assert row.next_check_at == row.checked_at + timedelta(seconds=row.interval)
    return timedelta(seconds=row.interval), row.next_check_at, row.changed_at


def test_unchanged_urls_are_asked_after_less_and_less_often_and_a_change_starts_again(catalog_url):
    catalog = Catalog(catalog_url)
    run = catalog.start_run(["wanzai"])
    seen = []
    for day, sha in [(0, "1"), (7, "1"), (21, "1"), (49, "2")]:  # new, same, same, changed
        catalog.record([{**capture(run, REPORT, sha=sha * 64), "fetched_at": at(day)}])
        seen.append(check_of(catalog))
    assert [s[0] for s in seen] == [7 * DAY, 14 * DAY, 28 * DAY, 7 * DAY]
    assert [s[1] for s in seen] == [at(7), at(21), at(49), at(56)]
    assert [s[2] for s in seen] == [at(0), at(0), at(0), at(49)]  # the last new or changed body
    assert catalog.next_checks(["wanzai"]) == {REPORT: at(56)} and catalog.next_checks(["xunwu"]) == {}


def test_doubling_stops_at_the_longest_interval_and_a_gone_page_doubles_too(catalog_url):
    catalog = Catalog(catalog_url)
    run = catalog.start_run(["wanzai"])
    policy = RecheckPolicy(first=10 * DAY.total_seconds(), longest=25 * DAY.total_seconds())
    gone = {**capture(run, REPORT, sha="9" * 64), "status": 404}
    intervals = []
    for day, row in [(0, capture(run, REPORT)), (10, capture(run, REPORT)), (30, gone), (55, gone)]:
        catalog.record([{**row, "fetched_at": at(day)}], recheck=policy)
        intervals.append(check_of(catalog)[0])
    assert intervals == [10 * DAY, 20 * DAY, 25 * DAY, 25 * DAY]
    assert catalog.latest_capture(REPORT).fetched_at == at(10)  # its versions stay
    with pytest.raises(ValueError, match="first"):
        RecheckPolicy(first=0)


def test_a_report_first_archived_long_after_its_deadline_waits_a_share_of_its_age():
    policy = RecheckPolicy()  # first 7 days, age factor 1/4
    spring = datetime(2027, 3, 1)
    assert policy.interval("new", None, 2026, spring) == 7 * DAY.total_seconds()  # this spring's: weekly
    assert policy.interval("new", None, 2024, spring) == round((spring - datetime(2025, 3, 31)).total_seconds() / 4)
    assert policy.interval("new", None, 2015, spring) == 365 * DAY.total_seconds()  # the backlog: yearly
    assert policy.interval("new", None, None, spring) == 7 * DAY.total_seconds()  # no year: as new
    assert policy.interval("changed", 365 * 86400, 2015, spring) == 7 * DAY.total_seconds()  # corrected: soon
    assert RecheckPolicy(age_factor=0).interval("new", None, 2015, spring) == 7 * DAY.total_seconds()


def test_lists_have_no_check_and_a_url_twice_in_one_batch_is_taken_in_time_order(catalog_url):
    catalog = Catalog(catalog_url)
    run = catalog.start_run(["wanzai"])
    catalog.record([{**capture(run, REPORT, sha="2" * 64), "fetched_at": at(7)},
                    {**capture(run, REPORT, sha="1" * 64), "fetched_at": at(0)},
                    {**capture(run, "http://www.wanzai.gov.cn/col/col1/", kind="list"), "fetched_at": at(0)}])
    assert catalog.next_checks(["wanzai"]) == {REPORT: at(14)}  # new (day 0), then changed (day 7)


def test_a_failed_record_leaves_no_check_either(catalog_url):
    catalog = Catalog(catalog_url)
    run = catalog.start_run(["wanzai"])
    broken = capture(run, "http://www.wanzai.gov.cn/b.html")
    broken["size"] = None  # NOT NULL: the whole transaction fails
    with pytest.raises(Exception):  # noqa: B017 - the database's own integrity error
        catalog.record([capture(run, REPORT), broken])
    assert catalog.next_checks(["wanzai"]) == {} and catalog.url_check(REPORT) is None


def test_history_shows_the_next_check(home_env):
    catalog = Catalog(f"sqlite:///{home_env['NIANBAO_HOME']}/catalog.sqlite3")
    run = catalog.start_run(["wanzai"])
    catalog.record([{**capture(run, REPORT), "fetched_at": at(0)}])
    catalog.record([{**capture(run, REPORT), "fetched_at": at(7)}])
    history = run_nianbao("archive", "history", "https://wanzai.gov.cn/art/2024/1/15/art_1_1.html", env=home_env)
    assert len(history.stdout.splitlines()) == 2  # the captures
    assert history.stderr.decode().startswith("next check 2024-03-22T08:00:00.000000Z  (every 14d;")
    as_json = run_nianbao("archive", "history", REPORT, "--json", env=home_env).stdout.decode().splitlines()
    assert [json.loads(line)["fetched_at"] for line in as_json] == ["2024-03-01T08:00:00.000000Z",
                                                                   "2024-03-08T08:00:00.000000Z"]


# -- lookups by SURT key -----------------------------------------------------------------------
def test_a_url_is_found_whatever_variant_is_asked(catalog_url):
    catalog = Catalog(catalog_url)
    run = catalog.start_run(["wanzai"])
    pdf = "http://www.wanzai.gov.cn/%E5%B9%B4%E6%8A%A5.pdf"
    catalog.record([{**capture(run, REPORT), "final_url": pdf}, capture(run, REPORT.replace("art_1_1", "Art_1_1"))])
    for variant in ["https://wanzai.gov.cn/art/2024/1/15/art_1_1.html", "http://WWW.WANZAI.gov.cn:80/art/2024/1/15/"
                    "art_1_1.html#top", "https://www.wanzai.gov.cn:443/art/2024/1/15/art_1_1.html"]:
        assert [c.url for c in catalog.captures_of(variant)] == [REPORT], variant
    assert [c.url for c in catalog.captures_of("https://wanzai.gov.cn/年报.pdf")] == [REPORT]  # as redirected to
    assert catalog.captures_of("http://www.wanzai.gov.cn/art/2024/1/15/art_1_2.html") == []
    assert catalog.captures_of("http://www.wanzai.gov.cn:8080/art/2024/1/15/art_1_1.html") == []  # another server


label = st.text("abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=8)
segment = st.builds(str.__add__, st.sampled_from("aBcXyZ年报"), st.text("abcXYZ019-_.年报", max_size=8))
path = st.lists(segment, min_size=1, max_size=4).map(lambda parts: "/" + "/".join(parts))
query = st.dictionaries(st.text("abcde", min_size=1, max_size=3), st.text("0123456789AB", max_size=4), max_size=3)


def render(scheme: str, host: str, www: bool, port: bool, fragment: str | None, path: str,
           args: dict[str, str]) -> str:
    port_part = {"http": ":80", "https": ":443"}[scheme] if port else ""
    return (f"{scheme}://{'www.' if www else ''}{host}{port_part}{path}"
            + ("?" + "&".join(f"{k}={v}" for k, v in args.items()) if args else "")
            + (f"#{fragment}" if fragment is not None else ""))


@settings(max_examples=300, deadline=None)
@given(host=st.lists(label, min_size=1, max_size=3).map(lambda ls: ".".join([*ls, "gov", "cn"])),
       path=path, args=query, variants=st.lists(st.tuples(st.sampled_from(["http", "https"]), st.booleans(),
                                                            st.booleans(), st.none() | label, st.booleans()),
                                                  min_size=2, max_size=4))
def test_variants_of_one_url_share_a_key(host, path, args, variants):
    keys = {url_key(render(scheme, host.upper() if upper else host, www, port, fragment, path,
                           dict(reversed(args.items()))))
            for scheme, www, port, fragment, upper in variants}
    assert len(keys) == 1, keys


@settings(max_examples=300, deadline=None)
@given(host=label.map(lambda h: f"{h}.gov.cn"), one=st.tuples(path, query), other=st.tuples(path, query))
def test_different_paths_or_queries_get_different_keys(host, one, other):
    assume(one != other)
    assert url_key(render("http", host, True, False, None, *one)) != url_key(render("https", host, False, False,
                                                                                     None, *other))


def test_url_key_refuses_what_is_not_a_url():
    with pytest.raises(ValueError, match="not a URL"):
        url_key("  ")


# -- what a resumed crawl reads ----------------------------------------------------------------
def test_interrupted_runs_since_each_sites_last_finished_run(catalog_url):
    catalog = Catalog(catalog_url)
    since = at(10)
    plan = [(["wanzai", "xunwu"], "failed", at(11)), (["wanzai"], "finished", at(12)),
            (["wanzai", "xunwu"], "failed", at(13)), (["wanzai", "xunwu"], "running", at(14)),
            (["wanzai", "xunwu"], "cancelled", at(15)),
            (["xunwu"], "failed", at(9)), (["gone"], "finished", at(16))]
    ids = []
    for sites, status, started in plan:
        run = catalog.start_run(sites)
        if status != "running":
            catalog.finish_run(run, status, {})
        with catalog.engine.begin() as conn:
            conn.execute(update(Run).where(Run.id == run).values(started_at=started))
        ids.append(run)
    assert catalog.interrupted_runs(["wanzai", "xunwu", "gone", "nowhere"], since) == {
        "wanzai": [ids[2], ids[4]],  # after its finished run (ids[1]); not the running one
        "xunwu": [ids[0], ids[2], ids[4]],  # ids[5] started before `since`
    }
    assert catalog.interrupted_runs(["wanzai"], at(14)) == {"wanzai": [ids[4]]}


def test_replayable_are_the_newest_list_and_report_pages_with_a_body_those_runs_read(catalog_url):
    catalog = Catalog(catalog_url)
    first, second, other = (catalog.start_run(["wanzai", "xunwu"]) for _ in range(3))
    lst, lst2 = "http://www.wanzai.gov.cn/col/col1/", "http://www.wanzai.gov.cn/col/col2/"
    catalog.record([{**capture(first, lst, kind="list", sha="1" * 64), "fetched_at": at(0)},
                    {**capture(second, lst, kind="list", sha="2" * 64), "fetched_at": at(1)},
                    {**capture(second, lst2, kind="list", sha="3" * 64), "status": 404, "fetched_at": at(1)},
                    {**capture(second, REPORT), "fetched_at": at(1)},
                    {**capture(second, lst2, kind="list", sha="4" * 64), "site": "xunwu", "fetched_at": at(1)},
                    {**capture(other, lst2, kind="list", sha="5" * 64), "fetched_at": at(2)},
                    {**capture(second, REPORT + "fj.pdf", kind="attachment"), "fetched_at": at(1)}])
    found = catalog.replayable({"wanzai": [first, second], "xunwu": []})
    assert {url: c.sha256 for url, c in found.items()} == {lst: "2" * 64, REPORT: found[REPORT].sha256}
    found = catalog.replayable({"wanzai": [first], "xunwu": [second]})
    assert {url: (c.site, c.sha256) for url, c in found.items()} == {lst: ("wanzai", "1" * 64),
                                                                     lst2: ("xunwu", "4" * 64)}
    assert catalog.replayable({}) == {}
