"""List readers and the spider's report decision on page shapes the simulator does not produce."""

from __future__ import annotations

import asyncio

from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from crawler.items import Capture
from crawler.listings import read_listing
from crawler.spiders.annual_reports import AnnualReportsSpider
from crawler.titles import classify


def page(url: str, html: str, **meta) -> HtmlResponse:
    return HtmlResponse(url, body=html.encode(), encoding="utf-8", request=Request(url, meta=meta))


def test_title_attribute_wins_over_text_with_a_date_and_decorated_pagers_are_found():
    listing = read_listing(page("http://www.x.gov.cn/zwgk/ndbg", """
        <ul><li><a href="a.html" title="万载县2023年政府信息公开工作年度报告">
          万载县2023年政府信息公开工作年度报告<span>2024-01-20</span></a></li></ul>
        <a href="index_1.html">[下一页]</a> <a href="index_2.html">下页 &gt;</a> <a href="index_3.html">»</a>"""))
    assert [e.title for e in listing.entries][:1] == ["万载县2023年政府信息公开工作年度报告"]
    assert [p.url.rsplit("/", 1)[1] for p in listing.pages] == ["index_1.html", "index_2.html", "index_3.html"]


def test_hanweb_params_with_empty_and_quoted_values_still_page_on():
    entry = '<li><a href="/art/2024/1/2/art_1_2.html">甲乡2023年政府信息公开工作年度报告</a></li>'
    record = f"<record><![CDATA[{entry}]]></record>"
    html = (f'<script type="text/xml"><datastore><recordset>{record}</recordset></datastore></script>'
            "<script>var param_1={col:1,webid:'3',columnid:\"123\",webname:'',unitid:'45'};</script>")
    listing = read_listing(page("http://www.x.gov.cn/col/col123/index.html", html))
    (post,) = listing.pages
    assert post.method == "POST" and "startrecord=2" in post.url
    assert b"webname=&" in post.body + b"&" and b"columnid=123" in post.body


def items(callback) -> list:
    """What an async callback yields, gathered outside a crawl."""
    async def gather() -> list:
        return [item async for item in callback]
    return asyncio.run(gather())


def spider_for() -> AnnualReportsSpider:
    crawler = get_crawler(AnnualReportsSpider, {"NIANBAO_SITES": None})
    return AnnualReportsSpider.from_crawler(crawler, site="wanzai")


def test_a_cut_short_title_is_judged_by_the_page_not_the_list():
    spider = spider_for()
    list_title = "《万载县人民政府2023年政府信息公开工作年度报告》解…"
    response = page("http://www.wanzai.gov.cn/art/1.html",
                    '<meta name="ArticleTitle" content="《万载县人民政府2023年政府信息公开工作年度报告》解读">'
                    '<div id="zoom"><a href="/files/a.pdf">附件</a></div>',
                    site="wanzai", list_title=list_title, verdict=None)  # parse_list: "cannot judge yet"
    assert classify(list_title, "万载县").needs_full_title
    (item,) = items(spider.parse_report(response))
    assert isinstance(item, Capture) and item.kind == "page"  # kept, not a report, no attachment followed


def test_a_cut_short_report_title_takes_the_full_title_from_the_page():
    spider = spider_for()
    full = "万载县教育体育局2023年政府信息公开工作年度报告"
    response = page("http://www.wanzai.gov.cn/art/2.html",
                    f'<meta name="ArticleTitle" content="{full}"><div id="zoom"><a href="/files/b.pdf">附件1</a></div>',
                    site="wanzai", list_title="万载县教育体育局2023年政府信息公开工…", verdict=None)
    report, attachment = items(spider.parse_report(response))
    assert (report.kind, report.title, report.year, report.agency_kind) == ("report", full, 2023, "department")
    assert attachment.url == "http://www.wanzai.gov.cn/files/b.pdf"
