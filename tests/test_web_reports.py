"""The dashboard's parsed-report pages on a real archive: the simulated world crawled, the parse queue drained by
``nianbao parse run``, ``nianbao serve`` in a process of its own, and Chromium for what only a browser shows (the
original framed, its scripts not run).

The world knows every number it printed (``World.expected_readings``) and plants a cell off in some reports, so
the pages are held against what the documents say, not against what the parser read. Two bodies are added beside
the crawl, through the catalog's write path as a crawl records them: a real report (a seed text) as a page whose
scripts would mark it if they ran, a "PDF" no reader can open, and a page that only links its report (one of the
world's DOCX, archived again under another site's URL).
"""

from __future__ import annotations

import html
import json
import secrets
from typing import Any
from urllib.parse import quote

import pytest
from parsel import Selector

from archive.catalog import Catalog
from archive.storage import open_store
from nianbao.config import Config
from parsing import PARSER_VERSION
from tests.conftest import FAST, ROOT, run_nianbao
from tests.simulator.server import SimulatorServer
from tests.simulator.world import build_world
from tests.support import nianbao_env, stop_process
from tests.support.http import call, start_serve
from tests.test_parse_queue import HOST, REAL_PDF, build, seed
from tests.test_parse_queue import page as wrapping_page
from web.reports import PAGE_CSP, cell_text

SCRIPTED = f"{HOST}/art/2022/1/20/scripted.html"
JUNK = f"{HOST}/uploads/broken.pdf"
WRAPPER = f"{HOST}/art/2024/1/20/wrapper.html"  # a page that only links its report, a DOCX
WRAPPED = f"{HOST}/uploads/report.docx"
PDF = f"{HOST}/uploads/2023年报.pdf"  # a real PDF report: shown as page images
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
COUNTY = "寻乌县人民政府"
#: What the scripted page's scripts would leave behind, had they run.
RAN = "SCRIPT-RAN"


def scripted_page() -> bytes:
    """A real report (seed 0) as a portal page whose every kind of script would leave RAN in sight."""
    lines = "".join(f"<p>{html.escape(line)}</p>" for line in seed(0).decode("utf-8").splitlines())
    mark = f"document.title='{RAN}';document.body.insertAdjacentHTML('afterbegin','<p id=ran>{RAN}</p>')"
    return (f"<html><head><meta charset=\"utf-8\"><title>仙源乡2021年度政府信息公开工作年度报告</title>"
            f"<script>{mark}</script></head>"
            f"<body onload=\"{mark}\"><img src=\"x\" onerror=\"{mark}\">{lines}"
            f"<script>{mark};top.location='/{RAN}'</script></body></html>").encode()


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("web-reports")
    world = build_world(counties=1)
    registry = tmp / "sites.yaml"
    registry.write_text(world.registry_yaml(), "utf-8")
    home = tmp / "home"
    env = nianbao_env(home)
    with SimulatorServer(world) as server:
        run_nianbao("crawl", "--sites", str(registry), "--proxy", server.proxy_url, *FAST, env=env, timeout=180)
    expected = world.expected_readings()
    docx, known = next((url, e) for url, e in expected.items() if e["format"] == "docx")
    config = Config.from_env(env)
    body = open_store(config).get(Catalog(config.catalog).latest_capture(docx).sha256)
    who = {"year": known["year"], "agency": known["agency"]}
    added = build(home, bodies=[
        (SCRIPTED, "report", "text/html", scripted_page(), {"year": 2021}),
        (JUNK, "report", "application/pdf", b"%PDF-1.4 not really a pdf", {"year": 2022}),
        (WRAPPER, "report", "text/html", wrapping_page(known["title"], WRAPPED), who),
        (WRAPPED, "attachment", DOCX, body, {**who, "referrer": WRAPPER}),
        (PDF, "report", "application/pdf", REAL_PDF.read_bytes(), {"year": 2023}),
    ])
    expected[WRAPPED] = known
    parsed = run_nianbao("parse", "run", "--once", "--workers", "2", env=env, timeout=300)
    assert b"pending" in parsed.stdout
    return {"env": env, "registry": registry, "world": world, "catalog": added.catalog, "expected": expected}


@pytest.fixture(scope="module")
def server(archive) -> dict[str, Any]:
    token = secrets.token_hex(16)
    process, base = start_serve(["--sites", str(archive["registry"])], {**archive["env"], "NIANBAO_TOKEN": token},
                                ROOT)
    cookie = call(base + "/login", data=f"token={token}&next=/".encode())[1]["set-cookie"].split(";")[0]
    yield {"base": base, "token": token, "cookie": cookie}
    stop_process(process)


def api(server: dict[str, Any], path: str, status: int = 200) -> Any:
    got, _, body = call(server["base"] + quote(path, safe="/?=&"), server["token"])
    assert got == status, (path, got, body[:300])
    return json.loads(body)


def page(server: dict[str, Any], path: str, status: int = 200) -> Selector:
    got, _, body = call(server["base"] + quote(path, safe="/?=&"), cookie=server["cookie"])
    assert got == status, (path, got, body[:300])
    return Selector(body.decode("utf-8"))


def rows(server: dict[str, Any], query: str = "") -> list[dict[str, Any]]:
    return api(server, f"/api/reports?limit=5000{query}")["reports"]


def read_right(archive) -> list[tuple[str, dict[str, Any]]]:
    """(report URL, what its document printed) for each report the parser read exactly as printed: the pages are
    held to the print on those (the parser's own accuracy is tests/test_parse_*'s)."""
    found = []
    for report in archive["catalog"].parse_results(site="xunwu", readings=True):
        expected = archive["expected"].get(report.source_capture.url)
        source = report.source
        if expected and source and source.state == "parsed" and source.cells == expected["cells"] and sorted(
                c["name"] for c in source.reading["checks"] if c["passed"] is False) == expected["failing"]:
            found.append((report.capture.url, expected))
    return found


def row_of(server, url: str) -> dict[str, Any]:
    (row,) = [r for r in rows(server) if r["url"] == url]
    return row


def cells_shown(selector: Selector) -> dict[str, str]:
    return {td.attrib["data-key"]: td.xpath("string()").get() for td in selector.css("td[data-key]")}


def test_the_list_counts_every_report_and_the_queue(server, archive):
    listing = api(server, "/api/reports?limit=5000")
    planted = [r for r in archive["world"].reports if r.site == "xunwu"]
    assert listing["total"] == len(planted) + 4 and {r["url"] for r in rows(server, "&site=xunwu")} == {
        r.url for r in planted}
    assert listing["queue"] == archive["catalog"].parse_counts() and listing["queue"]["failed"] == 1
    assert listing["queue"]["done"] + 1 == len(archive["catalog"].parse_queue(None))
    failing = {r["url"] for r in rows(server, "&failed=1")}
    recorded = {r.capture.url for r in archive["catalog"].parse_results() if r.source and (
        r.source.state == "failed" or not r.source.passed)}
    assert failing == recorded and JUNK in failing and SCRIPTED not in failing
    right = read_right(archive)
    assert any(e["planted"] for _, e in right) and any(not e["failing"] for _, e in right)
    assert {url for url, e in right if e["failing"]} <= failing and {url for url, e in right if not e["failing"]
                                                                    }.isdisjoint(failing)
    years = {r["year"] for r in rows(server, "&year=2023")}
    assert years == {2023}
    shown = page(server, "/reports?failed=1")
    assert shown.css("table.reports tbody tr").getall() and len(shown.css("table.reports tbody tr")) == len(failing)
    assert page(server, "/reports").css("p.queue b[data-state=done]::text").get() == str(listing["queue"]["done"])
    assert listing["parser_version"] == PARSER_VERSION and f"parser version {PARSER_VERSION} read" in page(
        server, "/reports").css("p.parser-version").get()
    assert page(server, "/reports?site=&year=&page=1").css("p.pager::text").get().startswith(f"{listing['total']} ")


def test_a_report_page_shows_the_numbers_in_the_templates_cells(server, archive):
    url, expected = next((url, e) for url, e in read_right(archive) if not e["failing"] and e["format"] == "html"
                         and None in e["cells"].values())
    row = row_of(server, url)
    shown = page(server, f"/reports/{row['sha256']}")
    cells = cells_shown(shown)
    assert cells == {key: cell_text(value) for key, value in expected["cells"].items()}
    assert cells[next(k for k, v in expected["cells"].items() if v is None)] == ""  # a blank is nothing, never 0
    apps = shown.css("table.template.applications")
    assert apps.css("thead th::text").getall()[1:] == ["自然人", "法人或其他组织", "总计", "商业企业", "科研机构",
                                                     "社会公益组织", "法律服务机构", "其他"]
    new = apps.css("tbody tr")[0]
    assert new.css("th::text").get() == "一、本年新收政府信息公开申请数量"
    assert [td.attrib["data-key"] for td in new.css("td")] == [
        f"applications.new.{c}" for c in ("natural_person", "business", "research", "social_org", "legal_service",
                                          "other_org", "total")]
    assert len(shown.css("table.template.review tbody tr")) == 3
    assert not shown.css("td.failed") and not shown.css(".failed-checks")
    skipped = f", {row['checks_skipped']} not computed (cells blank)" if row["checks_skipped"] else ""
    assert shown.css("dd.checks-summary::text").get().strip() == f"{row['checks_passed']} passed, 0 failed{skipped}"
    sources = api(server, f"/api/reports/{row['sha256']}")["sources"]
    assert set(sources) == {"art20", "applications", "review"}
    where = shown.css("section[data-table=applications] p.source::text").get()
    assert where.startswith(f"Read from {sources['applications']['where']}")
    overview = shown.css("details[data-section=overview] .section-text::text").get()
    assert overview and overview.strip()[:20] in archive["catalog"].parse_result(row["sha256"]).reading[
        "sections"]["overview"]


def test_marks_are_shown_as_printed(server, archive):
    """"/", "—", "无" where a number would be: the page shows the mark itself (wherever the parser read it right)."""
    marks: dict[str, tuple[str, str]] = {}
    for report in archive["catalog"].parse_results(site="xunwu", readings=True):
        printed = archive["expected"].get(report.source_capture.url, {}).get("cells", {})
        for key, value in printed.items():
            if isinstance(value, str) and report.source.cells.get(key) == value:
                marks.setdefault(value, (report.capture.sha256, key))
    assert len(marks) >= 2, marks
    for mark, (sha256, key) in marks.items():
        assert page(server, f"/reports/{sha256}").css(f"td[data-key='{key}']::text").get() == mark


def test_a_failed_check_is_highlighted_with_its_cells_and_detail(server, archive):
    url, expected = next((url, e) for url, e in read_right(archive) if e["planted"])
    row = row_of(server, url)
    assert sorted(row["checks_failed"]) == expected["failing"]
    shown = page(server, f"/reports/{row['sha256']}")
    failed = {td.attrib["data-key"] for td in shown.css("td.cell.failed")}
    assert expected["planted"] in failed
    report = api(server, f"/api/reports/{row['sha256']}")
    assert failed == {key for c in report["checks"] if c["passed"] is False for key in c["cells"]}
    assert shown.css(f"td.failed[data-key='{expected['planted']}']::text").get() == cell_text(
        expected["cells"][expected["planted"]])
    listed = {li.attrib["data-check"]: li.xpath("string()").get() for li in shown.css(".failed-checks li")}
    assert sorted(listed) == expected["failing"]
    for check in report["checks"]:
        if check["passed"] is False:
            assert check["detail"] in listed[check["name"]] and "≠" in check["detail"]


def test_a_page_that_wraps_an_attachment_shows_the_attachments_tables(server, archive):
    row, expected = row_of(server, WRAPPER), archive["expected"][WRAPPED]
    report = api(server, f"/api/reports/{row['sha256']}")
    assert report["source_url"] == row["source_url"] and report["format"] == expected["format"]
    assert report["source_memento"].startswith("/memento/") and report["source_memento"].endswith(row["source_url"])
    shown = page(server, f"/reports/{row['sha256']}")
    assert row["source_url"] == WRAPPED and WRAPPED in shown.css("dd.tables-from").get()
    assert cells_shown(shown) == {key: cell_text(value) for key, value in expected["cells"].items()}
    # a DOCX is no frame's to show: the attachment is linked, and the page that wraps it beside
    assert report["original_view"] == "link" and not shown.css("iframe") and not shown.css(".pdf-pages")
    links = shown.css("section.original a::attr(href)").getall()
    assert links == [report["source_memento"], report["memento"]]


def test_a_failed_parse_shows_its_error(server):
    junk = row_of(server, JUNK)
    assert junk["state"] == "failed" and junk["error"]
    shown = page(server, f"/reports/{junk['sha256']}")
    assert shown.css("p.parse-error::text").get() == junk["error"]
    assert not shown.css("table.template")
    assert page(server, "/reports").css(f"tr[data-sha256='{junk['sha256']}'] .error::text").get() == "parse failed"


def test_compare_shows_what_changed_from_the_year_before(server, archive):
    compared = api(server, "/api/reports/compare?site=xunwu&agency=" + COUNTY)
    assert COUNTY in compared["agencies"]
    years = [y["year"] for y in compared["years"]]
    assert years == sorted(r.year for r in archive["world"].reports if r.agency == COUNTY)
    last, before = compared["years"][-1], compared["years"][-2]
    assert last["previous"] == before["year"]
    pages = [api(server, f"/api/reports/{y['sha256']}")["cells"] for y in (before, last)]  # what each page shows
    assert [before["cells"], last["cells"]] == pages
    assert set(last["changed"]) == {k for k in {*pages[0], *pages[1]} if pages[0].get(k) != pages[1].get(k)}
    key, change = next(iter(last["changed"].items()))
    assert change == {"before": before["cells"].get(key), "after": last["cells"].get(key)}
    shown = page(server, "/reports/compare?site=xunwu&agency=" + COUNTY)
    cell = shown.css(f"td[data-year='{last['year']}'][data-key='{key}']")
    assert "changed" in cell.attrib["class"].split() and cell.xpath("string()").get() == cell_text(change["after"])
    same = next(k for k in last["cells"] if k not in last["changed"])
    assert "changed" not in shown.css(f"td[data-year='{last['year']}'][data-key='{same}']").attrib["class"].split()
    assert shown.css(f"td[data-year='{last['year']}'][data-field=changed]::text").get() == (
        f"{len(last['changed'])} from {before['year']}")
    only = page(server, "/reports/compare?site=xunwu&agency=" + COUNTY + "&changed=1")
    keys = {td.attrib["data-key"] for td in only.css("td[data-key]")}
    assert keys == {k for y in compared["years"] for k in y["changed"]}
    chooser = page(server, "/reports/compare?site=xunwu")
    assert chooser.css("select[name=agency] option::text").getall()[1:] == compared["agencies"]


def test_pages_and_api_need_the_session_or_token(server):
    base, token = server["base"], server["token"]
    sha = rows(server)[0]["sha256"]
    for path in ("/reports", f"/reports/{sha}", "/reports/compare?site=xunwu"):
        status, headers, _ = call(base + path)
        assert status == 303 and headers["location"].startswith("/login?next=%2Freports"), path
        assert call(base + path, token)[0] == 303  # pages want the session, as every dashboard page does
    for path in ("/api/reports", f"/api/reports/{sha}", "/api/reports/compare?site=xunwu"):
        assert call(base + path)[0] == 401 and call(base + path, "x" * len(token))[0] == 401, path
        assert call(base + path, token)[0] == 200, path
    paths = json.loads(call(base + "/openapi.json", token)[2])["paths"]
    assert {"/api/reports", "/api/reports/{sha256}", "/api/reports/compare"} <= set(paths)
    assert page(server, "/reports").css("nav a[aria-current=page]::text").get() == "Reports"


def test_unknown_and_malformed_bodies(server):
    unknown = "0" * 64
    assert api(server, f"/api/reports/{unknown}", 404)["detail"].endswith(unknown)
    assert page(server, f"/reports/{unknown}", 404).css("main").get()
    assert call(server["base"] + "/api/reports/not-a-sha", server["token"])[0] == 422
    assert call(server["base"] + "/reports/" + "A" * 64, cookie=server["cookie"])[0] == 422


def test_the_original_is_framed_sandboxed_and_its_scripts_never_run(server):
    row = row_of(server, SCRIPTED)
    assert row["state"] == "parsed" and row["template"] == "2021" and not row["checks_failed"]
    status, headers, body = call(f"{server['base']}/reports/{row['sha256']}", cookie=server["cookie"])
    assert status == 200 and headers["content-security-policy"] == PAGE_CSP
    assert "frame-src 'self'" in PAGE_CSP and "'unsafe-inline'" not in PAGE_CSP
    other = call(f"{server['base']}/reports", cookie=server["cookie"])[1]["content-security-policy"]
    assert other.replace("frame-ancestors", "frame-src 'self'; frame-ancestors") == PAGE_CSP  # the app's, plus one
    shown = Selector(body.decode())
    (frame,) = shown.css("iframe")
    assert frame.attrib["sandbox"] == "" and frame.attrib["src"].startswith("/memento/")
    assert shown.css("script::attr(src)").getall() == ["/static/live.js"] and RAN not in body.decode()
    memento = call(server["base"] + frame.attrib["src"], server["token"])[1]
    assert memento["content-security-policy"].startswith("sandbox") and memento["x-frame-options"] == "SAMEORIGIN"

    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", timeout=30000, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"])
        try:
            context = browser.new_context()
            name, _, value = server["cookie"].partition("=")
            context.add_cookies([{"name": name, "value": value, "url": server["base"]}])
            tab = context.new_page()
            tab.set_default_timeout(10000)
            url = f"{server['base']}/reports/{row['sha256']}"
            tab.goto(url)
            original = tab.frame_locator("iframe")
            expect(original.locator("body")).to_contain_text("仙源乡")  # framed: the server lets its page show it
            tab.wait_for_timeout(500)  # time for an onload or onerror handler, had one been allowed to run
            expect(original.locator("#ran")).to_have_count(0)
            assert tab.url == url and RAN not in tab.title()
            expect(tab.locator("td[data-key='applications.new.total']")).not_to_be_empty()
        finally:
            browser.close()


def test_compare_marks_the_cells_of_a_years_failed_checks(server):
    row = next(r for r in rows(server, "&site=xunwu&failed=1") if r["state"] == "parsed" and r["agency"])
    checks = api(server, f"/api/reports/{row['sha256']}")["checks"]
    failed = {k for c in checks if c["passed"] is False for k in c["cells"]}
    shown = page(server, f"/reports/compare?site=xunwu&agency={row['agency']}")
    marked = {td.attrib["data-key"] for td in shown.css(f"td.failed[data-year='{row['year']}']")}
    assert failed and marked == failed
    assert shown.css(f"td.checks[data-year='{row['year']}'] .bad::text").get() == f"{len(row['checks_failed'])} failed"


def test_a_pdf_report_is_shown_as_its_pages_beside_its_tables(server):
    row = row_of(server, PDF)
    report = api(server, f"/api/reports/{row['sha256']}")
    assert report["state"] == "parsed" and report["original_view"] == "pages" and report["original_page_count"] == 5
    shown = page(server, f"/reports/{row['sha256']}")
    images = shown.css("section.original .pdf-pages img::attr(src)").getall()
    assert images == report["original_pages"] == [f"/reports/{row['sha256']}/pages/{n}.png" for n in range(1, 6)]
    assert not shown.css("iframe")
    status, headers, png = call(server["base"] + images[0], cookie=server["cookie"])
    assert status == 200 and headers["content-type"] == "image/png" and png.startswith(b"\x89PNG\r\n\x1a\n")
    assert call(server["base"] + images[0], cookie=server["cookie"])[2] == png  # drawn once, kept
    assert call(server["base"] + images[0])[0] == 303  # the dashboard's session, as every page
    assert call(server["base"] + f"/reports/{row['sha256']}/pages/6.png", cookie=server["cookie"])[0] == 404
    assert call(server["base"] + f"/reports/{row['sha256']}/pages/999.png", cookie=server["cookie"])[0] == 422
    assert call(server["base"] + f"/reports/{'0' * 64}/pages/1.png", cookie=server["cookie"])[0] == 404
    junk = api(server, f"/api/reports/{row_of(server, JUNK)['sha256']}")  # a "PDF" no reader opens: linked
    assert junk["original_view"] == "link" and junk["original_pages"] == []
