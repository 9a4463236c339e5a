"""The report judge (crawler.judge): the document confirms what the title proposes.

Real material only: the seed reports' texts, the real PDFs and the official DOCX template in
../shared/corpus; a small crawl of a stub portal for what the spider records.
"""

from __future__ import annotations

import html
import io
import json
import random
from datetime import date
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit

import docx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.doctext import file_text, page_text
from crawler.judge import judge, markers
from crawler.titles import normalize
from tests.conftest import FAST, run_nianbao
from tests.simulator import texts
from tests.test_safety import serving

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
SEEDS = sorted((CORPUS / "seeds").glob("*.txt"))
REAL = CORPUS / "real"
PDFS = {REAL / "zxj6827111-blip__KIROGOVCOMPARE" / "hzq2023_working.pdf": 2023,
        REAL / "zxj6827111-blip__KIROGOVCOMPARE" / "hzq2024_working.pdf": 2024,
        REAL / "zxj6827111-blip__govnianbao" / "szfgs2024.pdf": 2024}
TEMPLATE = REAL / "zxj6827111-blip__govnianbao" / "政务公开年报模版.docx"
needs_corpus = pytest.mark.skipif(not SEEDS, reason="the shared corpus is not here")


def seed_year(path: Path) -> int:
    return 2020 if path.name.startswith("004") else 2021


def docx_bytes(lines: list[str]) -> bytes:
    document = docx.Document()
    for line in lines:
        document.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@needs_corpus
@pytest.mark.parametrize("seed", SEEDS, ids=lambda p: p.name[:3])
def test_a_real_report_text_is_a_report_whatever_its_title_and_gives_its_year(seed):
    found = judge("信息公开工作情况报告全文", text=seed.read_text("utf-8"))  # no year, an odd wording
    assert found.is_report and found.markers >= 6, found
    assert (found.year, found.year_source) == (seed_year(seed), "document")


@needs_corpus
@pytest.mark.parametrize("pdf", list(PDFS), ids=lambda p: p.stem)
def test_a_real_pdf_is_confirmed_from_its_text(pdf):
    found = judge("政府信息公开工作年度报告", text=file_text(pdf.read_bytes()), is_file=True)
    assert found.is_report and found.why.startswith("document:"), found
    assert (found.year, found.year_source) == (PDFS[pdf], "document")
    assert found.agency and found.agency.endswith("人民政府")


@needs_corpus
def test_the_official_template_and_word_files_carry_the_markers():
    assert len(markers(normalize(file_text(TEMPLATE.read_bytes())))) >= 5
    lines = SEEDS[0].read_text("utf-8").splitlines()
    assert judge("附件", text=file_text(docx_bytes(lines)), is_file=True).markers >= 6
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500 + "\n".join(lines).encode("utf-16-le")  # .doc, .wps
    assert judge("附件", text=file_text(ole), is_file=True).markers >= 6


def test_a_word_file_reads_as_python_docx_reads_it_merged_cells_and_all():
    """doctext walks the XML itself (python-docx's row.cells is slow); the text must be python-docx's."""
    from docx.oxml import parse_xml

    document = docx.Document()
    document.add_paragraph("2023年政府信息公开工作年度报告")
    w = 'xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"'
    document.element.body.append(parse_xml(  # runs with tabs and breaks, a hyperlink, a page break (no text)
        f'<w:p {w}><w:r><w:t>一、</w:t><w:tab/><w:t>总体情况</w:t><w:br/><w:noBreakHyphen/></w:r>'
        f'<w:hyperlink><w:r><w:t>链接</w:t><w:br w:type="page"/></w:r></w:hyperlink></w:p>'))
    table = document.add_table(rows=5, cols=4)
    for row, cells in enumerate(table.rows):
        for col, cell in enumerate(cells.cells):
            cell.text = f"格{row}{col}" + ("\n第二段" if (row + col) % 3 == 0 else "")
    table.cell(0, 0).merge(table.cell(0, 2))  # across
    table.cell(1, 1).merge(table.cell(3, 1))  # down: the rows below continue it
    table.cell(2, 2).merge(table.cell(4, 3))  # both
    out = io.BytesIO()
    document.save(out)
    read = docx.Document(io.BytesIO(out.getvalue()))
    expected = "\n".join([p.text for p in read.paragraphs]
                         + [c.text for t in read.tables for r in t.rows for c in r.cells])
    assert "\t总体情况\n-链接" in expected and expected.count("格11") == 3
    assert file_text(out.getvalue()) == expected


def test_a_page_without_the_template_is_not_a_report_and_says_why():
    body = texts.short_article("万载县", random.Random(1))
    found = judge("河包镇政府信息公开工作年度报告", text=page_text(f"<html><body>{body}</body></html>"))
    assert found.kind == "page" and found.why.startswith("not a report: 0 template markers"), found
    wrapper = judge("河包镇政府信息公开工作年度报告", text=page_text(f"<body>{body}</body>"), wraps=1,
                    published=date(2024, 1, 20))
    assert wrapper.is_report and (wrapper.year, wrapper.year_source) == (2023, "published"), wrapper


def test_near_misses_stay_out_whatever_they_quote():
    text = "\n".join(("一、总体情况", "二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况"))
    for title in ("《万载县2023年政府信息公开工作年度报告》解读",
                  "关于做好2023年政府信息公开工作年度报告编制发布工作的通知"):
        assert judge(title, text=text).kind == "page"
    assert judge("万载县召开政务公开推进会").kind == "other" and not judge("万载县召开政务公开推进会").worth_fetching


_HEADINGS = ["一、总体情况", "二、主动公开政府信息情况", "三、收到和处理政府信息公开申请情况",
             "四、政府信息公开行政复议、行政诉讼情况", "五、存在的主要问题及改进情况", "六、其他需要报告的事项"]


@settings(max_examples=60, deadline=None)
@given(st.randoms(use_true_random=False), st.integers(2008, 2025), st.sampled_from(["p", "div", "td", "span"]))
def test_any_layout_of_the_template_is_found(rng, year, tag):
    """Headings in any order and markup, among site chrome and prose, split across lines and spaces."""
    headings = rng.sample(_HEADINGS, rng.randint(3, 6))
    prose = [texts.short_article("万载县", rng) for _ in headings]
    period = f"本年度报告中所列数据的统计期限自 {year} 年 1 月 1 日起至 {year} 年 12 月 31 日止。"
    parts = [f"<{tag}>{' '.join(h) if rng.random() < 0.3 else h}</{tag}>{p}"
             for h, p in zip(headings, prose, strict=True)]
    page = (f"<html><head><title>x</title><script>var 一、总体情况 = 1;</script></head><body><div class=nav>"
            f"首页 政务公开 信息公开年报</div><p>{period}</p>{''.join(parts)}</body></html>")
    found = judge("万载县信息公开年报", text=page_text(page))
    assert found.is_report and (found.year, found.year_source) == (year, "document"), found


# -- what the spider records: a stub portal, crawled -------------------------------------------------
def _report_page(title: str, lines: list[str], files: str = "") -> bytes:
    return (f'<html><head><meta name="ArticleTitle" content="{html.escape(title)}"><title>{html.escape(title)}</title>'
            f'</head><body><h1>{html.escape(title)}</h1><div id="zoom">{texts.lines_to_html(lines)}{files}</div>'
            "</body></html>").encode()


class Portal(BaseHTTPRequestHandler):
    """A county portal's report list: an oddly worded report without a year, a report-like page that is none,
    a report with its PDF, and a page that only wraps the report's DOCX."""

    pages: dict[str, tuple[bytes, str]] = {}

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        body, ctype = Portal.pages.get(urlsplit(self.path).path, (b"", ""))
        self.send_response(200 if ctype else 404)
        self.send_header("Content-Type", ctype or "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


ODD, NONE, PLAIN, WRAPPER = ("河包镇关于政府信息公开工作的情况报告", "河包镇政府信息公开工作年度报告",
                             "万载县财政局2023年政府信息公开工作年度报告", "城东街道政府信息公开年报")


@needs_corpus
def test_the_crawl_records_what_the_document_says(home_env, tmp_path):
    seed = SEEDS[0].read_text("utf-8").splitlines()
    pdf = next(iter(PDFS))
    html_type = "text/html; charset=utf-8"
    links = [("/odd.html", ODD), ("/none.html", NONE), ("/plain.html", PLAIN), ("/wrapper.html", WRAPPER)]
    Portal.pages = {
        "/list.html": ("".join(f'<li><a href="{u}" title="{t}">{t}</a></li>' for u, t in links).encode(), html_type),
        "/odd.html": (_report_page(ODD, seed), html_type),
        "/none.html": (_report_page(NONE, ["河包镇召开政务公开工作推进会。", "会议强调，要坚持公开为常态。"]),
                       html_type),
        "/plain.html": (_report_page(PLAIN, seed, '<p><a href="/files/plain.pdf">附件</a></p>'), html_type),
        "/wrapper.html": (_report_page(WRAPPER, ["详见附件。"], '<p><a href="/files/nb.docx">城东街道年报</a></p>'),
                          html_type),
        "/files/plain.pdf": (pdf.read_bytes(), "application/pdf"),
        "/files/nb.docx": (docx_bytes(seed), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    }
    registry = tmp_path / "sites.yaml"
    registry.write_text("sites:\n  - {id: hebao, name: 万载县, home: 'http://www.hebao.gov.cn/',\n"
                        "     report_lists: ['http://www.hebao.gov.cn/list.html']}\n", "utf-8")
    with serving(Portal) as proxy:
        run_nianbao("crawl", "--sites", str(registry), "--proxy", proxy, *FAST, env=home_env)
    listed = run_nianbao("archive", "list", "--json", env=home_env).stdout.decode().splitlines()
    got = {urlsplit(c["url"]).path: c for c in map(json.loads, listed)}
    odd, none, plain, wrapper = (got[p] for p in ("/odd.html", "/none.html", "/plain.html", "/wrapper.html"))
    assert (odd["kind"], odd["year"], odd["year_source"]) == ("report", 2021, "document"), odd
    assert odd["judgement"].startswith("document:") and odd["agency"] == "仙源乡"  # 本报告…由仙源乡…编制
    assert none["kind"] == "page" and none["judgement"].startswith("not a report"), none  # kept, with why
    assert (plain["kind"], plain["year"], plain["year_source"]) == ("report", 2023, "title")
    attachment = got["/files/plain.pdf"]
    assert attachment["kind"] == "attachment" and attachment["judgement"].startswith("document:"), attachment
    assert wrapper["kind"] == "report" and wrapper["judgement"].startswith("title; the page wraps 1 file"), wrapper
    docx_file = got["/files/nb.docx"]  # the year the title lacked is in the file
    assert (docx_file["year"], docx_file["year_source"]) == (2021, "document"), docx_file
    documents = run_nianbao("archive", "documents", "--site", "hebao", "--json", env=home_env).stdout.decode()
    assert {"document", "title"} <= {json.loads(d)["year_source"] for d in documents.splitlines()}
