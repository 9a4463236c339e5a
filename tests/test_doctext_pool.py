"""Documents are read and judged in worker processes (crawler.extensions.documents): the same judgement as
read in the crawl's process, a document that hangs or kills its reader is judged by its title, the rest go on."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse, Response

from crawler.extensions.documents import DocumentReaders, DocumentUnread
from crawler.reportdoc import Fetched, Task, judged

CORPUS = Path("/work/shared/corpus")
PDFS = sorted((CORPUS / "real").rglob("*.pdf"))
SEED = CORPUS / "seeds"


# What the workers run in these tests: module-level, so a worker process imports them by name (this module
# imports little more than the workers preload: the spider and Scrapy's crawler are imported where used).
def pid(_: object) -> int:
    return os.getpid()


def hang(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


def die(_: object) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def readers(workers: int = 1, queue: int = 2, timeout: float = 30.0) -> DocumentReaders:
    from scrapy.utils.test import get_crawler

    return DocumentReaders(get_crawler(), workers, queue, timeout)


def run(coroutine_fn, pool: DocumentReaders):
    async def go():
        try:
            return await coroutine_fn()
        finally:
            pool.close()
    return asyncio.run(go())


def test_documents_are_read_in_another_process_lazily_and_one_worker_serves_them_all():
    pool = readers()
    assert all(lane.executor is None for lane in pool.lanes)  # nothing started before the first document

    async def go():
        return await asyncio.gather(*(pool.read(pid, i, f"doc {i}") for i in range(6)))

    pids = run(go, pool)
    assert len(set(pids)) == 1 and pids[0] != os.getpid()


def test_a_document_past_its_time_is_unread_its_worker_replaced_and_the_ones_behind_it_read():
    pool = readers(queue=3, timeout=3.0)

    async def go():
        stuck = pool.read(hang, 60, "hostile")
        behind = [pool.read(hang, 0.01, f"doc {i}") for i in range(4)]  # two queued behind it, two waiting
        first = await pool.read(pid, None, "first")
        results = await asyncio.gather(stuck, *behind, return_exceptions=True)
        return first, results, await pool.read(pid, None, "after")

    started = time.monotonic()
    first, results, after = run(go, pool)
    assert time.monotonic() - started < 30  # not the 60 s the document asked for
    assert isinstance(results[0], DocumentUnread) and "NIANBAO_DOCUMENT_TIMEOUT" in str(results[0])
    assert results[1:] == [0.01] * 4  # not their fault: read by the new worker
    assert first != after  # the stuck worker was killed and replaced
    assert pool.crawler.stats.get_value("nianbao/documents/timeout") == 1


def test_a_document_that_kills_its_reader_is_unread_and_the_others_are_read_by_a_new_one():
    pool = readers(queue=4)

    async def go():
        before = await pool.read(pid, None, "before")
        fatal = pool.read(die, None, "fatal")
        behind = [pool.read(pid, None, f"doc {i}") for i in range(3)]
        results = await asyncio.gather(fatal, *behind, return_exceptions=True)
        return before, results

    before, results = run(go, pool)
    assert isinstance(results[0], DocumentUnread) and "died" in str(results[0])
    assert len(set(results[1:])) == 1 and before not in results[1:]
    assert pool.crawler.stats.get_value("nianbao/documents/crashed") == 1


def test_at_most_workers_times_queue_documents_are_handed_over_at_once():
    pool = readers(workers=2, queue=2)
    most = 0

    async def watch():
        nonlocal most
        while True:
            most = max(most, sum(len(lane.jobs) for lane in pool.lanes))
            await asyncio.sleep(0.005)

    async def go():
        watcher = asyncio.get_running_loop().create_task(watch())
        await asyncio.gather(*(pool.read(hang, 0.05, f"doc {i}") for i in range(16)))
        watcher.cancel()

    run(go, pool)
    assert most == 4


@pytest.mark.skipif(not PDFS or not SEED.is_dir(), reason="needs /work/shared/corpus")
def test_a_worker_judges_a_report_page_and_a_real_pdf_as_the_crawl_process_does():
    lines = sorted(SEED.glob("*.txt"))[0].read_text("utf-8").splitlines()
    html = ('<html><head><meta name="ArticleTitle" content="万载县2023年政府信息公开工作年度报告"></head><body>'
            '<div id="zoom">' + "".join(f"<p>{line}</p>" for line in lines)
            + '<a href="/files/nb.pdf">附件</a></div></body></html>')
    page = HtmlResponse("http://www.wanzai.gov.cn/art/1.html", body=html.encode(), encoding="utf-8")
    pdf = Response("http://www.wanzai.gov.cn/files/nb.pdf", body=PDFS[0].read_bytes(),
                   headers={"Content-Type": "application/pdf"})
    tasks = [Task(Fetched.of(page), "万载县2023年政府信息公开工作年…", "万载县", 3, is_page=True),
             Task(Fetched.of(pdf), "万载县2023年政府信息公开工作年度报告", "万载县", 3, filename="nb.pdf")]
    pool = readers()

    async def go():
        return await asyncio.gather(*(pool.read(judged, task, task.fetched.url) for task in tasks))

    in_workers = run(go, pool)
    assert in_workers == [judged(task) for task in tasks]
    report, attachment = in_workers
    assert report.judgement.kind == "report" and report.judgement.markers >= 3 and report.read
    assert report.title == "万载县2023年政府信息公开工作年度报告"  # the page's own, the list's was cut short
    assert list(report.links) == ["http://www.wanzai.gov.cn/files/nb.pdf"]
    assert attachment.judgement.why.startswith("document:")


def test_the_spider_judges_a_page_not_read_in_time_by_its_title_and_says_so():
    from scrapy.utils.test import get_crawler

    from crawler.spiders.annual_reports import AnnualReportsSpider

    crawler = get_crawler(AnnualReportsSpider, {"NIANBAO_SITES": None})
    spider = AnnualReportsSpider.from_crawler(crawler, site="wanzai")
    spider.readers = DocumentReaders(crawler, 1, 1, 0.0)  # no time at all for a page that takes a while to read
    url = "http://www.wanzai.gov.cn/art/3.html"
    slow = '<div id="zoom"><a href="/files/c.pdf">附件</a>' + "<p><span>公开</span></p>" * 100_000 + "</div>"
    response = HtmlResponse(url, body=slow.encode(),
                            encoding="utf-8", request=Request(url, meta={
                                "site": "wanzai", "list_title": "万载县财政局2023年政府信息公开工作年度报告"}))

    async def go():
        return [item async for item in spider.parse_report(response)]

    (item,) = run(go, spider.readers)  # a report by its title, its attachments unknown: not read
    assert (item.kind, item.year) == ("report", 2023)
    assert "not read in 0 s (NIANBAO_DOCUMENT_TIMEOUT)" in item.judgement
