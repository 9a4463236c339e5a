"""The spider middlewares that bound what a callback may follow: scope, the list-page bound and the site's budget.

Each drops what is past its bound and leaves, once, the failure that says why (what the spider used to do itself;
the crawls of tests/test_safety.py, test_failures.py and test_hostile.py check the same reasons end to end)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scrapy import Request
from scrapy.utils.test import get_crawler

from crawler.items import FetchFailure
from crawler.spidermiddlewares.budget import BudgetMiddleware
from crawler.spidermiddlewares.listpages import ListPagesMiddleware
from crawler.spidermiddlewares.scope import ScopeMiddleware
from crawler.spiders.annual_reports import AnnualReportsSpider

REGISTRY = """sites:
  - {id: wanzai, name: 万载县, home: 'http://www.wanzai.gov.cn/', attachment_hosts: [files.example.cn]}
  - {id: yiyuan, name: 沂源县, home: 'http://www.yiyuan.gov.cn/'}
"""


@pytest.fixture(scope="module")
def crawler(tmp_path_factory: pytest.TempPathFactory):
    path = Path(tmp_path_factory.mktemp("registry")) / "sites.yaml"
    path.write_text(REGISTRY, "utf-8")
    crawler = get_crawler(AnnualReportsSpider, {"NIANBAO_MAX_REQUESTS_PER_SITE": 7, "NIANBAO_MAX_LIST_PAGES": 5})
    crawler.spider = AnnualReportsSpider.from_crawler(crawler, site="wanzai,yiyuan", sites=str(path))
    return crawler


def _through(middleware, requests: list[Request]) -> list:
    return list(middleware.process_spider_output(None, requests))


@settings(max_examples=30)
@given(sites=st.lists(st.sampled_from(["wanzai", "yiyuan"]), max_size=30))
def test_a_site_gets_its_budget_and_one_failure_past_it(crawler, sites):
    out = _through(BudgetMiddleware(crawler), [Request(f"http://www.{s}.gov.cn/{i}", meta={"site": s, "kind": "report"})
                                               for i, s in enumerate(sites)])
    for site in ("wanzai", "yiyuan"):
        asked = sites.count(site)
        passed = [o for o in out if isinstance(o, Request) and o.meta["site"] == site]
        failures = [o for o in out if isinstance(o, FetchFailure) and o.site == site]
        assert len(passed) == min(asked, 7)
        assert [f.reason for f in failures] == (["stopped: 7 requests for this site (NIANBAO_MAX_REQUESTS_PER_SITE)"]
                                                if asked > 7 else [])


@settings(max_examples=30)
@given(pages=st.lists(st.tuples(st.sampled_from(["a", "b"]), st.integers(1, 9)), max_size=40))
def test_list_pages_are_followed_once_each_up_to_the_bound(crawler, pages):
    requests = [Request(f"http://www.wanzai.gov.cn/{root}/index_{n}.html",
                        meta={"site": "wanzai", "kind": "list", "list_root": root}) for root, n in pages]
    requests.append(Request("http://www.wanzai.gov.cn/report.html", meta={"site": "wanzai", "kind": "report"}))
    out = _through(ListPagesMiddleware(crawler), requests)
    followed = [o.url for o in out if isinstance(o, Request) and "list_root" in o.meta]
    distinct = list(dict.fromkeys(r.url for r in requests[:-1]))
    assert followed == distinct[:5]  # each page once, in order, at most NIANBAO_MAX_LIST_PAGES for the site
    failures = [o for o in out if isinstance(o, FetchFailure)]
    past = {requests[i].meta["list_root"] for i in range(len(requests) - 1) if requests[i].url in distinct[5:]}
    assert len(failures) == len(past) and all(f.reason == "list pagination stopped after 5 pages" for f in failures)
    assert out[-1].url.endswith("/report.html")  # not a list page: not counted


def test_a_page_asked_for_again_on_purpose_passes(crawler):
    middleware = ListPagesMiddleware(crawler)
    page = Request("http://www.wanzai.gov.cn/a/index_1.html", meta={"site": "wanzai", "list_root": "a"})
    again = page.replace(dont_filter=True)  # the browser's pass of a page that needs it
    assert _through(middleware, [page, again, page]) == [page, again]


def test_other_hosts_are_refused_once_each_and_the_sites_own_pass(crawler):
    def request(url: str, site: str = "wanzai") -> Request:
        return Request(url, meta={"site": site, "kind": "report"})

    mirror = "http://mirror.example.com/nb.html"
    out = _through(ScopeMiddleware(crawler), [
        request("http://www.wanzai.gov.cn/a.html"), request("http://xxgk.wanzai.gov.cn/b.html"),
        request("http://files.example.cn/c.pdf"), request(mirror), request(mirror),
        request("http://files.example.cn/c.pdf", "yiyuan")])
    assert [o.url for o in out if isinstance(o, Request)] == [
        "http://www.wanzai.gov.cn/a.html", "http://xxgk.wanzai.gov.cn/b.html", "http://files.example.cn/c.pdf"]
    assert [(f.site, f.url, f.reason) for f in out if isinstance(f, FetchFailure)] == [
        ("wanzai", mirror, "out of scope: not a host of this site"),
        ("yiyuan", "http://files.example.cn/c.pdf", "out of scope: not a host of this site")]
