"""parsing.formats: real report files (the shared corpus's PDFs, the official template DOCX), a GBK
portal page with its chrome, workbooks and Word files built here, mislabelled and broken files."""

from __future__ import annotations

import io
import time
from pathlib import Path

import docx
import openpyxl
import pymupdf
import pytest
from hypothesis import given
from hypothesis import strategies as st

from parsing.document import Document, Table, Unreadable
from parsing.formats import read
from parsing.formats.kinds import KINDS, kind_of
from tests.simulator.files import shared_corpus

DATA = Path(__file__).parent / "data" / "parsing"
TEMPLATE = Path(__file__).parent / "simulator" / "corpus" / "report-template-2021.docx"
APPLICATION_HEADER = "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"


def _pdfs() -> list[Path]:
    corpus = shared_corpus()
    return sorted((corpus / "real").rglob("*.pdf")) if corpus else []


@pytest.fixture(scope="module")
def real_pdfs() -> dict[str, Document]:
    """The real PDFs read once (and timed: the rate is printed with -s and bounded below)."""
    paths = _pdfs()
    if not paths:
        pytest.skip("the shared corpus (real PDFs) is not here")
    documents, pages, started = {}, 0, time.perf_counter()
    for path in paths:
        documents[path.name] = read(path.read_bytes(), "application/octet-stream", path.name)
        pages += documents[path.name].pages
    rate = pages / (time.perf_counter() - started)
    print(f"\nreal PDFs: {pages} pages, {rate:.1f} pages/s")
    assert rate > 0.5, f"{rate:.2f} pages/s"
    return documents


def _table_starting(document: Document, text: str) -> Table:
    return next(t for t in document.tables if t.rows[0][0] == text or t.rows[0][0].startswith(text))


# -- PDF ------------------------------------------------------------------------------------------


def test_real_pdf_application_table_is_one_table_stitched_across_the_page_break(real_pdfs):
    for name, document in real_pdfs.items():
        table = _table_starting(document, APPLICATION_HEADER)
        assert 26 <= len(table.rows) <= 28, (name, len(table.rows))
        assert {len(r) for r in table.rows} == {10}
        assert len(table.pages) == 2 and table.where == f"page {table.pages[0]}–{table.pages[1]}"
        assert table.rows[-1][0] == "四、结转下年度继续办理"
        assert sum(APPLICATION_HEADER in t.rows[0][0] for t in document.tables) == 1, name
        assert any(f"pages {table.pages[0]}–{table.pages[1]}" in note for note in document.notes)
        labels = [row[1] for row in table.rows]
        # a label cut by the page break is whole again, on both sides of it
        assert labels.count("（四）无法提供") == 3, (name, labels)
        assert "（七）总计" in labels
        assert all(row[0] == "三、本年度办理结果" for row in table.rows if row[1].startswith("（五）"))


def test_real_pdf_application_totals_balance(real_pdfs):
    """Table 3's totals column: new + carried over = total handled + carried forward (SOURCES.md's figures)."""
    expected = {"szfgs2024.pdf": (3119, 34, 3050, 103), "hzq2023_working.pdf": (21, 0, 21, 0),
                "hzq2024_working.pdf": (95, 0, 95, 0)}  # fmt: skip
    for name, (new, carried, total, forward) in expected.items():
        rows = {row[1]: row for row in _table_starting(real_pdfs[name], APPLICATION_HEADER).rows}
        assert int(rows["一、本年新收政府信息公开申请数量"][9]) == new
        assert int(rows["二、上年结转政府信息公开申请数量"][9]) == carried
        assert int(rows["（七）总计"][9]) == total
        assert int(rows["四、结转下年度继续办理"][9]) == forward


def test_real_pdf_review_table_is_a_15_column_grid(real_pdfs):
    for name, document in real_pdfs.items():
        table = _table_starting(document, "行政复议")
        assert len(table.rows) == 4 and {len(r) for r in table.rows} == {15}, name
        assert table.rows[2][:5] == ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]
        assert all(cell.isdigit() for cell in table.rows[3]), table.rows[3]
    assert real_pdfs["szfgs2024.pdf"].tables[-1].rows[3][:5] == ["72", "64", "178", "37", "351"]


def test_real_pdf_article_20_tables_are_found_whole(real_pdfs):
    """Art. 20's four sub-tables are one ruled table over a page break, as in the template (14 × 4)."""
    for name, document in real_pdfs.items():
        table = _table_starting(document, "第二十条")
        assert (len(table.rows), len(table.rows[0])) == (14, 4), name
        items = [row[0].replace(" ", "") for row in table.rows if row[0].startswith("第二十条")]
        assert items == [f"第二十条第（{n}）项" for n in "一五六八"], items
        assert table.rows[2][0] == "规章"
    fees = _table_starting(real_pdfs["szfgs2024.pdf"], "第二十条").rows[-1]
    assert fees[:2] == ["行政事业性收费", "96171.6"]


def test_real_pdf_paragraphs_are_the_text_outside_tables_in_reading_order(real_pdfs):
    for name, document in real_pdfs.items():
        paragraphs = document.paragraphs
        headings = [p for p in paragraphs if p[:2] in ("一、", "二、", "三、", "四、", "五、", "六、")]
        assert [h[:2] for h in headings] == ["一、", "二、", "三、", "四、", "五、", "六、"], (name, headings)
        assert headings[0] == "一、总体情况"
        assert paragraphs[1] == "2024年政府信息公开工作年度报告" or paragraphs[1].endswith("年政府信息公开工作年度报告")
        # lines wrapped by the page are one paragraph, and no table cell leaks into the text
        opening = next(p for p in paragraphs if p.startswith("本报告由"))
        assert "《中华人民共和国政府信息公开条例》" in opening
        assert not any(p.startswith(("信息内容", "行政处罚", "结果维持")) for p in paragraphs)
        # the text layer is read as is (no garbling noted, no OCR)
        assert document.confidence is None and not any("garbled" in n for n in document.notes)
    blocks = real_pdfs["hzq2023_working.pdf"].blocks
    marks = [b for b in blocks if isinstance(b, Table) or b[:2] in ("二、", "三、")]
    sequence = ["T" if isinstance(b, Table) else b[:2] for b in marks]
    assert sequence == ["二、", "T", "三、", "T", "T"]


def test_pdf_without_text_layer_is_read_by_ocr():
    """A scanned page (an image, no text) is rasterised and recognised; a text page beside it is not."""
    pdf = pymupdf.open()
    text_page = pdf.new_page()
    text_page.insert_text((72, 72), "一、总体情况", fontname="china-s", fontsize=14)
    scan = pymupdf.open()
    page = scan.new_page(width=400, height=200)
    page.insert_text((40, 100), "六、其他需要报告的事项", fontname="china-s", fontsize=24)
    image = page.get_pixmap(dpi=150).tobytes("png")
    pdf.new_page(width=400, height=150).insert_image(pymupdf.Rect(0, 0, 400, 150), stream=image)
    document = read(pdf.tobytes())
    assert document.pages == 2
    assert document.paragraphs[0] == "一、总体情况"
    assert any("其他需要报告" in p for p in document.paragraphs[1:]), document.paragraphs
    assert document.confidence is not None and 0 < document.confidence <= 1
    assert "pages read by OCR: 2" in document.notes


def test_pdf_text_layer_garbled_for_both_readers_is_read_by_ocr():
    """A scan with an invisible text layer in a font without a ToUnicode map (nor an embedded font):
    pdfplumber gives (cid:NN), PyMuPDF gives the glyph ids as code points; the pixels are read instead."""
    scan = pymupdf.open()
    page = scan.new_page(width=400, height=150)
    page.insert_text((30, 80), "五、存在的主要问题", fontname="china-s", fontsize=24)
    pdf = pymupdf.open()
    page = pdf.new_page(width=400, height=150)
    page.insert_image(page.rect, stream=scan[0].get_pixmap(dpi=150).tobytes("png"))
    page.insert_font(fontname="F0", fontfile=str(_cjk_font()))
    page.insert_text((30, 120), "五、存在的主要问题及改进情况", fontname="F0", fontsize=18, render_mode=3)
    for xref in range(1, pdf.xref_length()):
        for key in ("ToUnicode", "FontFile3", "FontFile2"):
            if pdf.xref_get_key(xref, key)[0] != "null":
                pdf.xref_set_key(xref, key, "null")
    document = read(pdf.tobytes(garbage=3, deflate=True))
    assert document.paragraphs == ["五、存在的主要问题"]
    assert document.notes[0] == "page 1: text layer garbled ((cid:NN) glyphs), even for PyMuPDF; read by OCR"


def _cjk_font() -> Path:
    fonts = sorted(Path("/usr/share/fonts").rglob("NotoSansCJK-Regular.tt*"))
    if not fonts:
        pytest.skip("fonts-noto-cjk is not installed")
    return fonts[0]


def test_a_pdf_cut_short_is_read_as_pymupdf_repairs_it(real_pdfs):
    path = next(p for p in _pdfs() if p.name == "hzq2024_working.pdf")
    document = read(path.read_bytes()[:-200])
    assert document.notes[0].startswith("the file is damaged") and "repaired" in document.notes[0]
    assert [t.rows for t in document.tables] == [t.rows for t in real_pdfs[path.name].tables]
    with pytest.raises(Unreadable, match="PDF: cannot open the file"):
        read(path.read_bytes()[:5000])


def test_pdf_page_and_size_bounds(monkeypatch):
    pdf = pymupdf.open()
    for _ in range(3):
        pdf.new_page()
    import parsing.formats.pdf as pdf_reader

    monkeypatch.setattr(pdf_reader, "MAX_PAGES", 2)
    with pytest.raises(Unreadable, match="PDF: 3 pages"):
        read(pdf.tobytes())
    monkeypatch.setattr("parsing.formats.MAX_BYTES", 1000)
    with pytest.raises(Unreadable, match="more than the 1000"):
        read(b"%PDF-1.4" + b" " * 2000)


def test_pdf_text_set_outside_the_page_is_not_read():
    """A renderer's stray run of glyphs above the page's top edge shows nowhere; it is not the document's first line
    (where the title is looked for)."""
    pdf = pymupdf.open()
    page = pdf.new_page()
    page.insert_text((0, -2), "存在的主要问题及改进情况我镇政府信息", fontname="china-s", fontsize=12)
    page.insert_text((72, 72), "2022年太口镇人民政府政府信息公开工作年度报告", fontname="china-s", fontsize=14)
    assert read(pdf.tobytes()).paragraphs == ["2022年太口镇人民政府政府信息公开工作年度报告"]


# -- DOCX -----------------------------------------------------------------------------------------


def test_real_template_docx():
    document = read(TEMPLATE.read_bytes(), "application/msword", "政务公开年报模版.doc")
    assert document.format == "docx"
    assert [(len(t.rows), len(t.rows[0])) for t in document.tables] == [(14, 4), (28, 10), (4, 15)]
    assert all(len(set(map(len, t.rows))) == 1 for t in document.tables)
    sequence = [b[:2] if isinstance(b, str) else "T" for b in document.blocks if isinstance(b, Table) or "、" in b[:3]]
    assert sequence == ["一、", "二、", "T", "三、", "T", "四、", "T", "五、", "六、"]
    art20, applications, review = document.tables
    assert art20.rows[0] == ["第二十条第（一）项"] * 4 and art20.rows[-1][0] == "行政事业性收费"
    assert applications.rows[0][:3] == [APPLICATION_HEADER] * 3 and applications.rows[0][3:] == ["申请人情况"] * 7
    assert applications.rows[-1][0] == "四、结转下年度继续办理" and applications.rows[-1][3:] == [""] * 7
    assert review.rows[0] == ["行政复议"] * 5 + ["行政诉讼"] * 10
    assert [t.where for t in document.tables] == ["table 1", "table 2", "table 3"]


def _docx(build) -> bytes:
    document = docx.Document()
    build(document)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_docx_merged_nested_and_layout_tables():
    def build(d):
        d.add_paragraph("一、总体情况")
        data = d.add_table(rows=3, cols=3)
        data.cell(0, 0).merge(data.cell(1, 0)).text = "合并"
        data.cell(0, 1).merge(data.cell(0, 2)).text = "横向"
        data.cell(1, 1).text = "1"
        data.cell(2, 2).add_table(rows=1, cols=2).rows[0].cells[0].text = "嵌套"
        d.add_paragraph("二、主动公开政府信息情况")
        frame = d.add_table(rows=1, cols=1).cell(0, 0)  # a one-cell frame around a paragraph and a table
        frame.paragraphs[0].text = "框内文字"
        inner = frame.add_table(rows=2, cols=2)
        inner.cell(1, 1).text = "7"

    document = read(_docx(build), None, "report.docx")
    first, second = document.tables
    assert first.rows == [["合并", "横向", "横向"], ["合并", "1", ""], ["", "", "嵌套"]]
    assert second.rows == [["", ""], ["", "7"]]
    assert document.blocks[0] == "一、总体情况" and document.blocks[2] == "二、主动公开政府信息情况"
    assert document.blocks[3] == "框内文字"


# -- HTML -----------------------------------------------------------------------------------------


def test_gbk_portal_page_body_without_chrome():
    body = (DATA / "report-gbk.html").read_bytes()
    assert "万载".encode("gbk") in body and "万载".encode() not in body
    document = read(body, "text/html", "t20240120_1.html")
    assert document.format == "html"
    assert document.paragraphs == [
        "万载县教育体育局2023年政府信息公开工作年度报告",
        "本报告根据《中华人民共和国政府信息公开条例》编制。",
        "一、总体情况",
        "2023年，我局主动公开政府信息128条，其中政策文件12条。",
        "（一）主动公开情况。",
        "全年更新栏目36个。",
        "公开内容全面。",
        "二、主动公开政府信息情况",
        "三、收到和处理政府信息公开申请情况",
        "五、存在的主要问题及改进情况",
        "一是公开内容不够全面；",
        "二是更新不够及时。",
    ]
    text = document.text + "".join(c for t in document.tables for r in t.rows for c in r)
    chrome_words = ("设为首页", "当前所在位置", "机构职能", "相关链接", "版权所有", "分享到")
    for chrome in (*chrome_words, "隐藏", "脚本", "发布时间"):
        assert chrome not in text, chrome


def test_html_rowspan_colspan_grid_is_expanded_exactly():
    art20, applications = read((DATA / "report-gbk.html").read_bytes()).tables
    assert art20.rows[0] == ["第二十条第（一）项"] * 4 and art20.rows[3] == ["行政规范性文件", "2", "1", "9"]
    rows = applications.rows
    assert len(rows) == 9 and {len(r) for r in rows} == {10}
    assert [rows[r][c] for r in range(3) for c in range(3)] == [APPLICATION_HEADER] * 9
    assert rows[0][3:] == ["申请人情况"] * 7
    assert rows[1][3] == rows[2][3] == "自然人" and rows[1][9] == rows[2][9] == "总计"
    assert rows[1][4:9] == ["法人或其他组织"] * 5
    assert rows[2][4:9] == ["商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他"]
    assert rows[3][:3] == ["一、本年新收政府信息公开申请数量"] * 3
    assert rows[3][3:] == ["5", "1", "0", "0", "0", "0", "6"]
    assert [rows[r][0] for r in (5, 6, 7)] == ["三、本年度办理结果"] * 3
    assert rows[5][1:3] == ["（一）予以公开"] * 2
    assert rows[6][1] == rows[7][1] == "（三）不予公开" and rows[7][2] == "2.其他法律行政法规禁止公开"
    assert rows[7][3] == "1" and rows[8][9] == "2"


def test_html_encoding_from_the_header_and_a_cms_container():
    first, second = "本报告由县人民政府办公室根据《中华人民共和国政府信息公开条例》编制。", "一、总体情况"
    page = (
        "<html><body><div class='nav'><a href='/'>首页</a><a href='/x'>政务公开</a></div>"
        "<h1>某县2023年政府信息公开工作年度报告</h1><div class='content'><div class='info'>来源：县政府办公室</div>"
        f"<div id='zoom'><p>{first}</p><p>{second}</p></div></div>"
        "<div>责任编辑：张三</div></body></html>"
    ).encode("gbk")
    document = read(page, "text/html; charset=GBK")
    assert document.paragraphs == ["某县2023年政府信息公开工作年度报告", first, second]


def test_html_heading_outside_the_body_is_kept_though_a_sentence_names_it():
    """The <h1> above the CMS container is the report's heading; the body's first sentence naming the report
    (现公布……年度报告。) is no heading, so the title is not dropped as repeated."""
    title = "青田街道办事处2023年度政府信息公开工作年度报告"
    first = f"根据《中华人民共和国政府信息公开条例》规定，现公布{title}。"
    page = (f"<html><body><h1 class='title'>{title}</h1><div class='TRS_Editor'><p>{first}</p>"
            "<p>一、总体情况</p><p>2023年，青田街道深入贯彻《条例》。</p></div></body></html>").encode()
    assert read(page, "text/html; charset=utf-8").paragraphs[:2] == [title, first]
    repeated = page.replace(f"<p>{first}</p>".encode(), f"<p><strong>{title}</strong></p>".encode())
    assert read(repeated, "text/html; charset=utf-8").paragraphs[:2] == [title, "一、总体情况"]


def test_html_layout_tables_are_read_through_and_nested_data_tables_found():
    page = """<html><body><table><tr><td><a href="/">首页</a></td><td>
      <p>正文第一段。</p>
      <table border="1"><tr><th>信息内容</th><th colspan="2">本年处理决定数量</th></tr><tr><td>行政许可</td><td>5</td><td>6</td></tr></table>
      <p>正文第二段。</p></td></tr></table></body></html>"""  # noqa: E501
    document = read(page.encode(), "text/html")
    assert document.paragraphs == ["正文第一段。", "正文第二段。"]
    assert document.tables[0].rows == [["信息内容", "本年处理决定数量", "本年处理决定数量"], ["行政许可", "5", "6"]]


def test_empty_html_is_unreadable():
    with pytest.raises(Unreadable, match="HTML"):
        read(b"   <!-- -->  ", "text/html")


# -- XLSX -----------------------------------------------------------------------------------------


def _workbook() -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "申请情况"
    sheet["B2"] = "申请人情况"
    sheet.merge_cells("B2:D2")
    sheet["A3"], sheet["B3"], sheet["C3"], sheet["D3"] = "新收", 3, 3.0, 2.5
    sheet["A4"] = "结转"
    sheet.merge_cells("A4:A5")
    sheet["B4"] = 0.125
    sheet["B4"].number_format = "0.00"
    sheet["C4"] = 0.5
    sheet["C4"].number_format = "0%"
    sheet["D5"] = "/"
    second = book.create_sheet("空")
    second["A1"] = None
    third = book.create_sheet("复议")
    third["C3"] = "行政复议"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_xlsx_sheets_merges_and_numbers_as_printed():
    document = read(_workbook(), "application/octet-stream", "附件.xlsx")
    assert document.format == "xlsx"
    first, third = document.tables
    assert first.rows == [
        ["", "申请人情况", "申请人情况", "申请人情况"],
        ["新收", "3", "3", "2.5"],
        ["结转", "0.13", "50%", ""],
        ["结转", "", "", "/"],
    ]
    assert first.where == "sheet 1 (申请情况)" and third.where == "sheet 3 (复议)"
    assert third.rows == [["行政复议"]]


# -- other formats through the dispatcher ----------------------------------------------------------


@pytest.fixture(scope="module")
def rtf_document() -> Document:
    rtf = (
        r"{\rtf1\ansi\ansicpg936{\fonttbl{\f0\fnil\fcharset134 SimSun;}}\f0 "
        r"\u19968?\u12289?\u24635?\u20307?\u24773?\u20917?\par "
        r"\trowd\cellx2000\cellx4000 \intbl A\cell \intbl 3\cell\row }"
    ).encode("ascii")
    return read(rtf, "application/msword", "report.doc")


def test_rtf_goes_through_libreoffice_to_the_docx_reader(rtf_document):
    assert rtf_document.format == "rtf"
    assert rtf_document.paragraphs[0] == "一、总体情况"
    assert rtf_document.tables[0].rows == [["A", "3"]]


def test_plain_text_goes_to_the_text_reader():
    document = read("一、总体情况\n项目\t数量\n规章\t3\n".encode("gb18030"), None, None)
    assert document.format == "text"
    assert document.paragraphs == ["一、总体情况"] and document.tables[0].rows == [["项目", "数量"], ["规章", "3"]]
    assert document.tables[0].where == "table 1"


@pytest.mark.parametrize(
    ("body", "content_type", "name", "format"),
    [
        (b"%PDF-1.7\n1 0 obj <<>> garbage", "application/pdf", "a.pdf", "PDF"),
        (b"PK\x03\x04 this is no zip", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         "a.docx", "DOCX"),
        (b"PK\x03\x04 this is no zip", None, "a.xlsx", "XLSX"),
        (b"\x00\x01\x02\x03\x04\xff\xfe" * 50, "application/octet-stream", "download.do", "unknown format"),
        (b"", "application/pdf", "a.pdf", "empty"),
    ],
)  # fmt: skip
def test_broken_files_are_unreadable_naming_the_format(body, content_type, name, format):
    with pytest.raises(Unreadable, match=format):
        read(body, content_type, name)


def test_a_zip_that_is_neither_word_nor_excel_is_unreadable():
    out = io.BytesIO()
    import zipfile

    with zipfile.ZipFile(out, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.text")
    with pytest.raises(Unreadable, match="DOCX"):
        read(out.getvalue(), None, "report.docx")
    with pytest.raises(Unreadable, match="unknown format"):
        read(out.getvalue(), None, "report.zip")


# -- kind sniffing --------------------------------------------------------------------------------


def _ole(stream: str) -> bytes:
    """The start of an OLE2 compound file whose directory names ``stream`` (enough for sniffing)."""
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + stream.encode("utf-16-le") + b"\x00" * 64


SAMPLES = {
    "pdf": b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj",
    "docx": TEMPLATE.read_bytes(),
    "xlsx": _workbook(),
    "rtf": rb"{\rtf1\ansi hello}",
    "doc": _ole("WordDocument"),
    "xls": _ole("Workbook"),
    "image": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    "webp": b"RIFF\x34\x00\x00\x00WEBPVP8 ",
    "html": b"\xef\xbb\xbf\n<!DOCTYPE html><html><head><meta charset=gbk></head><body>x</body></html>",
}
LABELS = [None, "application/octet-stream", "text/html; charset=utf-8", "application/pdf", "application/msword",
          "application/vnd.ms-excel", "image/jpeg", "text/plain", "application/kswps"]  # fmt: skip
NAMES = [None, "report.pdf", "附件1.doc", "a.xls", "download.jsp?id=3", "a.docx", "nb.wps", "scan.jpg", "x.txt"]


@given(st.sampled_from(sorted(SAMPLES)), st.sampled_from(LABELS), st.sampled_from(NAMES))
def test_the_bytes_decide_over_a_mislabel(kind, content_type, name):
    expected = "image" if kind == "webp" else kind
    if kind == "doc" and ("wps" in (content_type or "") or (name or "").endswith(".wps")):
        expected = "wps"  # WPS writes Word's streams; only its label tells them apart
    assert kind_of(SAMPLES[kind], content_type, name) == expected


@given(st.binary(max_size=2048), st.sampled_from(LABELS), st.sampled_from(NAMES))
def test_any_bytes_get_a_known_kind_or_none(body, content_type, name):
    assert kind_of(body, content_type, name) in (*KINDS, None)


@given(st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), min_size=1, max_size=200),
       st.sampled_from(["utf-8", "gb18030"]))  # fmt: skip
def test_unlabelled_chinese_text_is_text(text, encoding):
    assert kind_of(text.encode(encoding)) == "text"


def test_labels_decide_what_the_bytes_cannot():
    assert kind_of(_ole("SummaryInformation"), None, "nb.wps") == "wps"
    assert kind_of(_ole("SummaryInformation"), "application/vnd.ms-excel") == "xls"
    assert kind_of(_ole("SummaryInformation")) is None
    assert kind_of(b"PK\x03\x04 broken", None, "a.docx") == "docx"
    assert kind_of("年度报告".encode(), "text/html") == "html"
    assert kind_of(b"\x00\x01\x02binary") is None
    assert kind_of(b"BM" + b"\x00" * 12 + (40).to_bytes(4, "little") + b"\x00" * 40) == "image"


# -- PDF tables drawn with rules missing (as MuPDF, and some exporters, draw merged and page-cut cells) -----------


def _ruled_page(pdf, rules: list[tuple[float, float, float, float]], texts: list[tuple[float, float, str]]) -> None:
    """A page with these rules (x0, y0, x1, y1) drawn and these texts (x, baseline y, text) written."""
    page = pdf.new_page()
    for x0, y0, x1, y1 in rules:
        page.draw_line((x0, y0), (x1, y1), color=(0, 0, 0), width=0.5)
    for x, y, text in texts:
        page.insert_text((x, y), text, fontname="china-s", fontsize=10)


def _boxes(xs: list[float], top: float, bottom: float) -> list[tuple[float, float, float, float]]:
    """The rules of one row of cells between the xs: its top, its bottom, its sides."""
    return [(xs[0], top, xs[-1], top), (xs[0], bottom, xs[-1], bottom), *((x, top, x, bottom) for x in xs)]


def test_pdf_text_of_a_cell_with_a_rule_missing_is_kept_in_the_grid():
    """商业企业's cell has no top rule (a merged header drawn in part): no cell to pdfplumber, yet it is printed
    inside the table, and lands in the grid rather than nowhere."""
    pdf = pymupdf.open()
    xs = [60, 160, 260, 360]
    rules = [(60, 100, 260, 100), (60, 100, 60, 140), (160, 100, 160, 140), (260, 100, 260, 140),
             (360, 120, 360, 140), *_boxes(xs, 140, 160)]  # no rule above or right of 商业企业 at the top
    texts = [(70, 125, "信息内容"), (170, 125, "自然人"), (270, 132, "商业企业"),
             (70, 154, "本年新收"), (170, 154, "3"), (270, 154, "无")]
    _ruled_page(pdf, rules, texts)
    (table,) = read(pdf.tobytes()).tables
    assert table.rows[-1] == ["本年新收", "3", "无"]
    assert "商业企业" in [c for row in table.rows for c in row], table.rows


def test_pdf_row_ruled_only_at_its_sides_is_part_of_its_table():
    """A review table's figures row whose left cells have their sides and foot drawn but no top (the renderer drew
    the header above only over the right part): all six figures are one row of the grid, none a loose line."""
    pdf = pymupdf.open()
    right = [210, 260, 310, 360]
    rules = [*_boxes(right, 100, 120), (60, 140, 360, 140), *((x, 120, x, 140) for x in [60, 110, 160, 210]),
             (210, 120, 360, 120)]  # fmt: skip
    texts = [(215, 114, "结果维持"), (265, 114, "结果纠正"), (315, 114, "总计"),
             *((x + 5, 134, str(k)) for k, x in enumerate([60, 110, 160, 210, 260, 310], 1))]
    _ruled_page(pdf, rules, texts)
    document = read(pdf.tobytes())
    assert [row for t in document.tables for row in t.rows if row[0] == "1"] == [["1", "2", "3", "4", "5", "6"]]
    assert not any("1" in p for p in document.paragraphs), document.paragraphs


def test_pdf_open_row_at_a_page_top_is_stitched_to_the_table_above():
    """The break fell before the figures row: the next page's row has only its sides drawn; it is read as the
    table's last row (stitched), not as the line "0 0 0"."""
    pdf = pymupdf.open()
    xs = [60, 160, 260, 360]
    _ruled_page(pdf, _boxes(xs, 700, 720), [(65, 714, "结果维持"), (165, 714, "结果纠正"), (265, 714, "总计")])
    _ruled_page(pdf, [(x, 40, x, 60) for x in xs], [(65, 54, "0"), (165, 54, "2"), (265, 54, "2")])
    document = read(pdf.tobytes())
    (table,) = document.tables
    assert table.rows == [["结果维持", "结果纠正", "总计"], ["0", "2", "2"]] and table.pages == (1, 2)


@pytest.mark.parametrize(
    ("foot", "top", "labels"),
    [(("行政许可", "5"), ("其他对外管理服务事项", "7"), ["行政许可", "其他对外管理服务事项"]),
     (("信息内容", "上一年项目数量"), ("行政事业性收费", "1"), ["信息内容", "行政事业性收费"]),
     (("（四）无", "1.本机关不掌握"), ("法提供", "2.没有现成信息"), ["（四）无法提供"])],
)
def test_pdf_rows_either_side_of_a_page_break_are_joined_only_when_one_was_cut(foot, top, labels):
    """行政许可 | 5 at one page's foot and 其他对外管理服务事项 | 7 at the next one's top are two rows (a figure each
    side: a row cut prints its figures on one side only), so are a header row and the row under it; a group label
    cut by the break ("（四）无" | "法提供", its sub-rows beside it) is one cell again."""
    pdf = pymupdf.open()
    xs = [60, 200, 300]
    _ruled_page(pdf, _boxes(xs, 700, 720), [(65, 714, foot[0]), (205, 714, foot[1])])
    _ruled_page(pdf, _boxes(xs, 40, 60), [(65, 54, top[0]), (205, 54, top[1])])
    (table,) = read(pdf.tobytes()).tables
    assert list(dict.fromkeys(row[0] for row in table.rows)) == labels, table.rows
