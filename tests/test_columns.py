"""Columns as they really are: sub-columns with opaque names, year filters, Hanweb's annual-report
module, other agencies' re-posted reports — on a generated world (tests/simulator/generated.py)
whose sites draw their platform, layout, pager and encoding at random, and on the readers alone."""

from __future__ import annotations

import json
import string
import tempfile
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from parsel import Selector
from scrapy.http import HtmlResponse

from crawler import discovery
from crawler.listings import read_listing, years
from crawler.titles import agency_kind, classify
from tests.conftest import FAST, run_nianbao
from tests.simulator.generated import LAYOUTS, build_generated_world
from tests.simulator.server import SimulatorServer
from tests.simulator.world import _counties

SEED = 5310  # neither the bench's seed nor any other test's


def crawl(world, tmp) -> list[dict]:
    registry = tmp / "sites.yaml"
    registry.write_text(world.registry_yaml(), "utf-8")
    env = {"PATH": "/usr/bin:/bin", "NIANBAO_HOME": str(tmp / "home")}
    with SimulatorServer(world) as server:
        run_nianbao("crawl", "--sites", str(registry), "--proxy", server.proxy_url, *FAST, env=env)
    listing = run_nianbao("archive", "list", "--json", env=env).stdout.decode()
    return [json.loads(line) for line in listing.splitlines()]


@pytest.fixture(scope="module")
def world():  # one site per layout, then one more drawn at random
    return build_generated_world(SEED, sites=len(LAYOUTS) + 1, small=True, cover=True)


@pytest.fixture(scope="module")
def captures(world, tmp_path_factory):
    return crawl(world, tmp_path_factory.mktemp("columns"))


def test_the_world_has_every_layout_and_reposts(world):
    assert {s.platform.split("/")[1] for s in world.sites} == set(LAYOUTS)
    assert any(r.agency_kind == "other" for r in world.reports)


def test_every_planted_report_and_file_is_found_whatever_the_layout(world, captures):
    reports = {c["url"]: c for c in captures if c["kind"] == "report"}
    files = {c["url"]: c["sha256"] for c in captures if c["kind"] == "attachment"}
    layout = {s.id: s.platform for s in world.sites}
    missed = [(layout[r.site], r.title) for r in world.reports if reports.get(r.url, {}).get("sha256") != r.sha256]
    assert missed == []
    assert {a.url: a.sha256 for a in world.attachments} == files
    assert not set(reports) & {d.url for d in world.distractors}


def test_reposted_reports_keep_their_agency_and_are_not_the_countys(world, captures):
    reports = {c["url"]: c for c in captures if c["kind"] == "report"}
    for planted in world.reports:
        found = reports[planted.url]
        assert (found["agency"], found["agency_kind"], found["year"]) == \
            (planted.agency, planted.agency_kind, planted.year), planted.title


def test_sub_columns_are_followed_from_a_column_found_from_home(tmp_path):
    """A tiny world of opaque per-year sub-columns and no report_lists: home → column → every year's column."""
    tiny = build_generated_world(SEED + 1, sites=1, layouts=["year_columns"], platforms=["html", "trs"], small=True)
    site = tiny.sites[0]
    site.report_lists = []
    column = urljoin(site.home, Selector(body=tiny.resolve("GET", site.home)[2]).css(".main a::attr(href)").get())
    _, _, body = tiny.resolve("GET", column)
    subs = {urljoin(column, href) for href in Selector(body=body).css(".sub-columns a::attr(href)").getall()}
    found = crawl(tiny, tmp_path)
    assert len(subs) > 1 and subs <= {c["url"] for c in found if c["kind"] == "list"}
    assert {r.url for r in tiny.reports} <= {c["url"] for c in found if c["kind"] == "report"}


@given(seed=st.integers(0, 10**6))
@settings(max_examples=2, deadline=None, database=None)
def test_any_tiny_generated_world_is_found_in_full(seed):
    """Whatever the draw: every report, with its agency's kind, and no distractor (two seeds, two sites each)."""
    tiny = build_generated_world(seed, sites=2, small=True)
    with tempfile.TemporaryDirectory(prefix="nianbao-columns-") as tmp:
        found = {c["url"]: c for c in crawl(tiny, Path(tmp)) if c["kind"] == "report"}
    layout = {s.id: s.platform for s in tiny.sites}
    got = {url: (c["sha256"], c["agency_kind"]) for url, c in found.items()}
    assert [(layout[r.site], r.title) for r in tiny.reports if got.get(r.url) != (r.sha256, r.agency_kind)] == []
    assert not set(found) & {d.url for d in tiny.distractors}


# -- the readers alone -----------------------------------------------------------------------

def page(url: str, body: str) -> HtmlResponse:
    return HtmlResponse(url, body=f"<html><body>{body}</body></html>".encode(), encoding="utf-8")


slug = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=8)
year = st.integers(2008, 2026)
label = st.one_of(st.builds(str.format, st.sampled_from(["{}", "{}年", "{}年度", "{}年度报告"]), year),
                  st.sampled_from(["部门", "乡镇（街道）", "县直单位", "本级", "教育体育局", "万载县财政局", "仙源乡",
                                   "城东街道办事处", "县政府"]))


@given(column=st.lists(slug, min_size=1, max_size=3), subs=st.lists(st.tuples(slug, label), min_size=1, max_size=5),
       report_year=year)
@settings(max_examples=60, deadline=None)
def test_sub_columns_are_judged_by_text_and_place_not_by_their_path(column, subs, report_year):
    base = "/" + "/".join(column) + "/"
    links = [(f"{base}{s}{k}/index.html", text) for k, (s, text) in enumerate(subs)]
    noise = [(f"{base}202401/{report_year}.html", f"万载县{report_year}年政府信息公开工作年度报告"),  # an entry
             (f"{base}index_2.html", "2"), ("/other/col/index.html", "2023年"),
             (f"{base}x/index.html", "政府工作报告"), (f"{base}y/index.html", "政务公开工作要点")]
    body = "".join(f'<a href="{href}">{text}</a>' for href, text in links + noise)
    found = discovery.sub_columns(page(f"http://www.wanzai.gov.cn{base}index.html", body))
    beside = [noise[2][0]] if len(column) == 1 else []  # a top-level column's parent is the whole site
    assert found == [f"http://www.wanzai.gov.cn{href}" for href, _ in links] + \
        [f"http://www.wanzai.gov.cn{href}" for href in beside]


@given(param=st.sampled_from(["nbYear", "year", "nd", "timeFrame", "fbtime"]), offered=st.sets(year, min_size=1),
       select=st.booleans(), query=st.sampled_from(["", "?area=12345", "?depCode=a1&page=3"]))
@settings(max_examples=60, deadline=None)
def test_every_year_a_list_offers_is_asked_for(param, offered, select, query):
    url = f"http://www.wanzai.gov.cn/xxgk/nb/index.html{query}"
    if select:
        body = f'<select name="{param}"><option value="">全部</option>' + "".join(
            f'<option value="{y}">{y}年</option>' for y in offered) + "</select>"
    else:
        body = "".join(f'<a href="{years.with_year(url, param, str(y))}">{y}年</a>' for y in offered)
    asked = read_listing(page(url, body)).pages
    got = {parse_qs(urlsplit(r.url).query)[param][0] for r in asked if param in parse_qs(urlsplit(r.url).query)}
    assert got == {str(y) for y in offered}
    assert all(urlsplit(r.url).path == "/xxgk/nb/index.html" and "page=" not in r.url for r in asked)


def test_the_hanweb_module_asks_every_year_when_it_offers_none():
    url = "http://www.wanzai.gov.cn/module/xxgk/xxgkAnnualReport.jsp?area=113609000&fbtime=2024"
    entry = '<a href="/art/2025/1/2/art_1_2.html">万载县财政局2024年政府信息公开工作年度报告</a>'
    listing = read_listing(page(url, f"<ul><li>{entry}</li></ul>"))
    asked = sorted(int(parse_qs(urlsplit(r.url).query)["fbtime"][0]) for r in listing.pages)
    assert asked[0] == 2008 and 2023 in asked and 2024 not in asked
    assert all(parse_qs(urlsplit(r.url).query)["area"] == ["113609000"] for r in listing.pages)


counties = st.sampled_from([row["county"] for row in _counties()])


@given(site=counties, other=counties, prefecture=st.sampled_from([row["prefecture"] for row in _counties()
                                                                  if row.get("prefecture")]),
       rng=st.randoms(use_true_random=False))
@settings(max_examples=80, deadline=None)
def test_another_places_report_is_other_and_the_countys_own_are_not(site, other, prefecture, rng):
    y = rng.randint(2015, 2025)
    own = [f"{site}人民政府", f"{site}教育体育局", f"{site}仙源乡人民政府", "城东街道办事处", "城市管理局",
           f"{prefecture}{site}人民政府"]
    for agency in own:
        verdict = classify(f"{agency}{y}年政府信息公开工作年度报告", county=site)
        assert verdict.agency == agency and verdict.agency_kind != "other", agency
    if other != site and site not in other and other not in site:
        for agency in (f"{other}人民政府", f"{other}财政局"):
            assert agency_kind(agency, site) == "other", agency
    if site not in prefecture:
        assert classify(f"{y}年{prefecture}人民政府政府信息公开工作年度报告", county=site).agency_kind == "other"
