"""Script-rendered lists, whatever their pager: the data API behind the page paged plainly, or the page driven.

The reading of JSON answers is property-tested over field names, shapes and page parameters drawn at
random; one crawl of the pager world (tests/simulator/pagers.py: one site per pager kind and data source)
checks every planted report is found, with one browser pass per list where an API was there to page
through, and that a pager which never ends is stopped at the bound, the reason recorded.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from urllib.parse import parse_qsl, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scrapy import Request
from scrapy.http import TextResponse

from crawler.listings import read_listing
from crawler.listings.api import lists_entries
from tests.conftest import FAST, run_nianbao
from tests.simulator.pagers import build_pager_world
from tests.support import nianbao_env

TITLES = st.sampled_from(["修水县2023年政府信息公开工作年度报告", "修水县教育体育局2022年度政府信息公开工作年度报告",
                          "关于2021年度政府信息公开工作的年度报告", "何市镇人民政府政府信息公开2020年度报告"])
STEPS = 8
KEY = st.from_regex(r"[a-z][A-Za-z_]{1,9}", fullmatch=True)


def _json_response(url: str, data: object, method: str = "GET", body: bytes = b"",
                   headers: dict[str, str] | None = None) -> TextResponse:
    request = Request(url, method=method, body=body, headers=headers)
    return TextResponse(url, body=json.dumps(data, ensure_ascii=False).encode(), encoding="utf-8", request=request,
                        headers={"Content-Type": "application/json"})


@settings(max_examples=150, deadline=None)
@given(title_key=st.sampled_from(["title", "name", "bt", "docTitle", "biaoti", "subject"]) | KEY,
       url_key=st.sampled_from(["url", "link", "href", "docUrl", "path", "linkUrl"]) | KEY,
       shape=st.lists(KEY, max_size=3), count=st.sampled_from(["pages", "totalPage", "total", "totalCount", ""]),
       param=st.sampled_from([("page", 1), ("pageNo", 1), ("pageIndex", 0), ("curPage", 1), ("start", None),
                              ("offset", None)]),
       on_page=st.integers(1, 12), pages=st.integers(1, 40), titles=st.lists(TITLES, min_size=12, max_size=12),
       where=st.sampled_from(["query", "form", "json"]))
def test_a_json_list_is_read_whatever_its_names(title_key, url_key, shape, count, param, on_page, pages, titles,
                                                where):
    if title_key == url_key or title_key in shape or url_key in shape or count in shape:
        return
    items = [{"id": n, title_key: titles[n], url_key: f"/art/2024/{n}.html", "date": "2024-01-05",
              "img": "/images/a.jpg", "hits": 7} for n in range(on_page)]
    data: object = items
    for key in reversed(shape):
        data = {key: data}
    if count and isinstance(data, dict):
        data[count] = pages if count in ("pages", "totalPage") else str(pages * on_page)
    name, first = param
    fields = {name: 0 if first is None else first, "pageSize": on_page}
    url, body, headers, method = "http://www.x.gov.cn/api/list", b"", {}, "POST"
    if where == "query":
        url, method = f"{url}?{'&'.join(f'{k}={v}' for k, v in fields.items())}", "GET"
    elif where == "form":
        body, headers["Content-Type"] = "&".join(f"{k}={v}" for k, v in fields.items()).encode(), \
            "application/x-www-form-urlencoded"
    else:
        body, headers["Content-Type"] = json.dumps(fields).encode(), "application/json"
    response = _json_response(url, data, method, body, headers)
    response.request.meta["list_document"] = "http://www.x.gov.cn/xxgk/nb/index.html"
    listing = read_listing(response, max_pages=25)
    assert listing.platform == "api"
    assert [(e.url, e.title) for e in listing.entries] == [
        (f"http://www.x.gov.cn/art/2024/{n}.html", titles[n]) for n in range(on_page)]
    known = count and isinstance(data, dict)
    wanted = min(pages, 25) - 1 if known else 1  # no count: the next page, while pages have entries
    assert len(listing.pages) == wanted
    assert listing.claimed_pages == (pages if known and pages > 25 else None)
    for step, page in enumerate(listing.pages, start=1):
        asked = dict(parse_qsl(urlsplit(page.url).query)) if where == "query" else \
            dict(parse_qsl(page.body.decode())) if where == "form" else json.loads(page.body)
        value = step * on_page if first is None else first + step
        assert str(asked[name]) == str(value) and str(asked["pageSize"]) == str(on_page)
        assert page.method == method and page.meta["list_document"].endswith("/xxgk/nb/index.html")


def test_answers_that_list_nothing_are_not_lists():
    assert lists_entries(b'{"code": 0, "msg": "\\u6210\\u529f", "data": {"count": 3}}') == []
    assert lists_entries(b'[{"name": "\\u4fee\\u6c34\\u53bf", "logo": "/images/logo.png"}]') == []  # an image
    assert lists_entries(b"<html>not json</html>") == []
    assert lists_entries(json.dumps([{"t": "修水县2023年政府信息公开工作年度报告", "u": "2024/1.html"}]).encode())


@pytest.mark.parametrize(("main", "needed"), [
    ('<ul id="list"></ul><script>var d = [1]; d.forEach(function () {'
     ' document.getElementById("list").appendChild(document.createElement("li")); });</script>', True),
    ('<ul id="list"></ul><script>fetch("/api/list.json").then(function (r) { return r.json(); });</script>', True),
    ('<ul><li><a href="/art/2024/1.html">修水县2023年政府信息公开工作年度报告</a></li></ul>'
     '<script>document.getElementById("x").appendChild(document.createElement("i"));</script>', False),
    ('<ul id="list"></ul><script>var _hmt = _hmt || [];</script>', False),
])
def test_an_empty_list_drawn_by_a_script_needs_the_browser_whatever_its_menu_says(main, needed):
    from scrapy.http import HtmlResponse

    from crawler.rendering import needs_browser
    from crawler.titles import classify

    url = "http://www.xiushui.gov.cn/xxgk/zfxxgknb/index.html"
    menu = f'<a href="{url}">政府信息公开年报</a><a href="/xxgk/zfxxgknb/xzjd/">乡镇年报</a><a href="/">首页</a>'
    response = HtmlResponse(url, body=f"<html><body>{menu}{main}</body></html>".encode(), encoding="utf-8",
                            request=Request(url))
    listing = read_listing(response)
    candidates = sum(1 for e in listing.entries if classify(e.title, county="修水县").is_report
                     or classify(e.title, county="修水县").needs_full_title)
    assert needs_browser(response, listing, candidates) is needed


# -- one crawl of the pager world ---------------------------------------------------------------
@pytest.fixture(scope="module")
def world():
    return build_pager_world()


def _crawl(world, tmp, *settings_args: str, sites: list[str] | None = None) -> dict:
    from tests.simulator.server import SimulatorServer

    registry = tmp / "sites.yaml"
    registry.write_text(world.registry_yaml(), "utf-8")
    env = nianbao_env(tmp / "home")
    sites = sites or [s.id for s in world.sites]
    started = time.monotonic()
    with SimulatorServer(world) as server:
        result = run_nianbao("crawl", "--sites", str(registry), "--proxy", server.proxy_url, *FAST, *settings_args,
                             *[arg for site in sites for arg in ("--site", site)], env=env)
    seconds = time.monotonic() - started
    listing = run_nianbao("archive", "list", "--json", env=env).stdout.decode()
    with sqlite3.connect(tmp / "home" / "catalog.sqlite3") as db:
        (stats,) = db.execute("SELECT stats FROM runs ORDER BY id DESC LIMIT 1").fetchone()
        failures = db.execute("SELECT site, url, reason FROM failures").fetchall()
    return {"out": result.stdout.decode(), "err": result.stderr.decode(),
            "captures": [json.loads(line) for line in listing.splitlines()],
            "sites": json.loads(stats)["sites"], "failures": failures, "seconds": seconds}


@pytest.fixture(scope="module")
def crawled(world, tmp_path_factory):
    # Lists here have at most 4 pages; the endless one must be stopped by this bound.
    return _crawl(world, tmp_path_factory.mktemp("pagers"), "-s", f"NIANBAO_MAX_LIST_PAGES={STEPS}",
                  "-s", "DOWNLOAD_DELAY=0", "-s", "NIANBAO_SCRIPT_PAGER_WAIT=2")  # pace and politeness: not tested here


def test_every_report_behind_every_script_pager_is_found(world, crawled):
    found = {c["url"] for c in crawled["captures"] if c["kind"] == "report"}
    figures = []
    for site in world.sites:
        planted = {r.url for r in world.reports if r.site == site.id}
        figures.append(f"{site.platform}: {len(planted & found)}/{len(planted)} reports, "
                       f"{crawled['sites'].get(site.id, {}).get('rendered', 0)} rendered")
    print(f"\npager world: {crawled['seconds']:.0f} s\n" + "\n".join(figures))
    assert {r.url for r in world.reports} == found
    assert "Traceback" not in crawled["err"]


def test_an_api_behind_the_page_is_paged_plainly_with_one_browser_pass(world, crawled):
    lists = {c["url"] for c in crawled["captures"] if c["kind"] == "list"}
    for site in world.sites:
        rendered = crawled["sites"][site.id].get("rendered", 0)
        entries = len([r for r in world.reports if r.site == site.id]) + len(
            [d for d in world.distractors if d.site == site.id])
        api = sorted(u for u in world.urls if urlsplit(u).hostname == urlsplit(site.home).hostname
                     and urlsplit(u).query and "?page=" not in u)
        if site.platform.endswith("_fetch"):
            assert rendered == 1, site.platform  # the list's first page; every other page is the API's
            assert len(api) == math.ceil(entries / 4) and set(api) <= lists, site.platform  # fetched plainly
        elif site.platform == "script_links_inline":  # no API: every ?page=k page is rendered (?page=1 too)
            assert math.ceil(entries / 4) <= rendered <= math.ceil(entries / 4) + 1
        else:  # no API, no links to follow: one pass, driven to the end
            assert rendered == 1, site.platform
    assert not [f for f in crawled["failures"] if "script pager" in f[2] and f[0] != "xingzi"]


def test_a_driven_pager_that_does_not_end_is_stopped_with_its_reason(world, crawled):
    site = next(s for s in world.sites if s.platform == "script_more_endless")
    reasons = [reason for _site, url, reason in crawled["failures"] if url == site.report_lists[0]]
    assert reasons == [f"script pager still showing new entries after {STEPS} clicks or scrolls: stopped at "
                       f"{STEPS} steps (NIANBAO_MAX_LIST_PAGES)"]
