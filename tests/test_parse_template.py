"""The template reader and its checks, on the real corpus against hand-verified expectations, and on generated reports.

The expectations (tests/data/parsing/expected/*.json) were typed by hand from the seed texts and from the PDFs'
pages rendered as images — not copied from the reader's output — so a wrong reading fails here.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.judge import document_agency, document_year, markers
from crawler.titles import normalize
from parsing.checks import check
from parsing.document import Document, Table
from parsing.formats import read
from parsing.formats.docx import read_docx
from parsing.formats.text import read_text
from parsing.reading import Reading
from parsing.template import read_template
from parsing.template.cells import TEXT, parse_cell
from parsing.template.keys import (
    APPLICANT_COLUMNS,
    APPLICANTS,
    APPLICATION_ROWS_2021,
    ART20_2021,
    RESULT_ROWS_2021,
    REVIEW_BLOCKS,
    REVIEW_COLUMNS,
    all_keys,
    application_row,
    keys,
    normalise_label,
)

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
EXPECTED = Path(__file__).parent / "data" / "parsing" / "expected"
TEMPLATE_DOCX = CORPUS / "real" / "zxj6827111-blip__govnianbao" / "政务公开年报模版.docx"
NAMES = sorted(p.stem for p in EXPECTED.glob("*.json"))
REVIEW_KEYS = [f"review.{b}.{c}" for b in REVIEW_BLOCKS for c in REVIEW_COLUMNS]

pytestmark = pytest.mark.skipif(not CORPUS.is_dir(), reason="the shared corpus is not beside the project")


def _document(source: str) -> Document:
    """A seed through the text reader (its tables one cell a line), a real file through parsing.formats.read."""
    path = CORPUS / source
    if path.suffix == ".txt":
        return read_text(path.read_text(encoding="utf-8"))
    return read(path.read_bytes(), None, path.name)


@pytest.fixture(scope="module")
def expected() -> dict[str, dict]:
    return {name: json.loads((EXPECTED / f"{name}.json").read_text(encoding="utf-8")) for name in NAMES}


@pytest.fixture(scope="module")
def readings(expected: dict[str, dict]) -> dict[str, Reading]:
    out = {}
    for name, exp in expected.items():
        reading = read_template(_document(exp["source"]))
        reading.checks = check(reading.cells, reading.template)
        out[name] = reading
    return out


def _same(a: object, b: object) -> bool:
    """Equal and of the same kind: 0 is not None, not "0", and 7545 is not 7545.0."""
    return a == b and type(a) is type(b)


def test_every_expectation_covers_its_templates_keys(expected: dict[str, dict]) -> None:
    assert len(expected) == 9
    assert (len(keys("2021")), len(keys("2019")), len(all_keys())) == (200, 198, 200 + 7 + 19)
    for name, exp in expected.items():
        assert set(keys(exp["template"])) <= set(exp["cells"]) <= set(all_keys()), name


@pytest.mark.parametrize("name", NAMES)
def test_cells_match_the_hand_verified_expectation(name: str, expected: dict, readings: dict) -> None:
    want, got = expected[name]["cells"], readings[name].cells
    wrong = {k: (v, got.get(k, "<absent>")) for k, v in want.items() if not _same(got.get(k), v)}
    extra = sorted(set(got) - set(want))
    accuracy = 1 - len(wrong) / len(want)
    print(f"{name}: {accuracy:.2%} of {len(want)} cells right")
    assert not extra, f"keys read that the expectation does not have: {extra}"
    assert accuracy >= 0.99, f"{name}: {accuracy:.2%}; (expected, read): {wrong}"
    assert not wrong, f"{name}: (expected, read): {wrong}"


@pytest.mark.parametrize("name", NAMES)
def test_template_year_and_agency(name: str, expected: dict, readings: dict) -> None:
    exp, reading = expected[name], readings[name]
    assert (reading.template, reading.year, reading.agency) == (exp["template"], exp["year"], exp["agency"])


@pytest.mark.parametrize("name", NAMES)
def test_failed_checks_are_exactly_the_reports_own_errors(name: str, expected: dict, readings: dict) -> None:
    checks = readings[name].checks
    failed = sorted(c.name for c in checks if c.passed is False)
    assert failed == sorted(expected[name]["failed_checks"])
    assert all(c.skipped is (c.passed is None) for c in checks)
    ran = any(c.passed is not None for c in checks)
    assert readings[name].passed is (not failed if ran else None)


def test_the_checks_read_the_printed_arithmetic(readings: dict) -> None:
    huaian = {c.name: c for c in readings["szfgs2024"].checks}
    balance = huaian["applications.balance.total"]
    assert balance.passed and balance.detail == "3119 + 34 = 3050 + 103"
    assert balance.cells == {"applications.new.total": 3119, "applications.carried_over.total": 34,
                             "applications.total.total": 3050, "applications.carried_forward.total": 103}
    # Every equation of a fully printed 2021 report applies: 7 balances, 7 result sums, 25 rows, 3 review blocks.
    assert len(huaian) == 7 + 7 + 25 + 3
    hongze = {c.name: c for c in readings["hzq2023"].checks}
    assert hongze["applications.balance.total"].detail == "21 + 0 = 21 + 0"
    assert "applications.results.total" in hongze and hongze["applications.results.total"].passed  # (六) as one row
    assert hongze["review.reconsideration"].detail == "0 ≠ 10 + 1 + 0 + 0"
    # 003 prints six numbers a row under seven headers: the row sums cannot be checked — kept as skipped, saying
    # which cell they lacked, never failed nor passed.
    tumen = {c.name: c for c in readings["seed_003"].checks}
    rows = [c for n, c in tumen.items() if n.startswith("applications.row.")]
    assert len(rows) == 25 and all(c.skipped and c.passed is None for c in rows)
    assert tumen["applications.row.new"].detail == "blank: applications.new.total"
    assert tumen["review.reconsideration"].passed and readings["seed_003"].passed


def test_sources_say_where_each_table_was(readings: dict) -> None:
    sources = readings["szfgs2024"].sources
    assert sources["applications"]["pages"] == [4, 5]
    assert sources["review"]["pages"] == [5]
    assert set(readings["seed_004"].sources) == {"art20", "applications", "review"}


def test_notes_say_what_was_read_in_order(readings: dict) -> None:
    assert any("applications.new: 6 values for 7 columns" in n for n in readings["seed_003"].notes)
    assert any("(六)其他处理 printed as one row" in n for n in readings["hzq2024"].notes)
    assert not readings["seed_001"].notes


def test_sections_by_meaning(readings: dict) -> None:
    xianyuan = readings["seed_000"].sections
    assert xianyuan["overview"].startswith("2021年，我乡政府信息公开工作")
    assert xianyuan["problems"].startswith("（一）主要问题")
    assert xianyuan["other"].endswith("2021年我乡信息处理费收费情况为零。")
    # 2019 format: seven headings; 二、主要采取的措施 is no template section and stays in the overview.
    jiucai = readings["seed_004"].sections
    assert "加强领导，强化责任落实" in jiucai["overview"] and jiucai["other"] == "无。"
    assert jiucai["problems"].startswith("2020年，我乡政府信息公开工作按照县委")
    # 001 numbers its first headings 1、 2、 and the rest 三、 四、.
    zhangjiapo = readings["seed_001"].sections
    assert zhangjiapo["overview"].startswith("2021年，张家坡镇深入贯彻")
    assert "（1） 主动公开信息情况" in zhangjiapo["overview"]
    assert "下一步我镇将继续按照上级要求" in zhangjiapo["problems"]
    assert readings["template_blank"].sections["other"] == "（文字描述，收取信息处理费情况在此处报告。）"


@pytest.mark.parametrize(
    ("printed", "cell"),
    [("0", 0), ("\u20020", 0), ("１２", 12), ("3,119", 3119), ("3，119", 3119), ("96171.6", 96171.6), ("/", "/"),
     ("—", "—"), ("——", "——"), ("无", "无"), ("-", "-"), ("", None), ("\u3000\u3000", None), ("-2", -2)],
)
def test_a_cell_is_what_was_printed(printed: str, cell: object) -> None:
    assert _same(parse_cell(printed), cell)


def test_a_document_without_the_template_has_no_cells() -> None:
    text = "某某县人民政府2021年工作总结\n一、总体情况\n本年新收政府信息公开申请3件。数据的统计期限自2021年1月1日起。"
    reading = read_template(read_text(text))
    assert reading.template is None and reading.cells == {} and check(reading.cells, None) == []
    assert (reading.year, reading.agency) == (2021, None)


# ---- generated reports ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def blank() -> Document:
    return read_docx(TEMPLATE_DOCX.read_bytes())


#: In the blank template's grids: the Art. 20 table's data rows, the applications table's first data row.
ART20_ROWS = {"regulations": 2, "normative_documents": 3, "licensing": 6, "punishment": 9, "enforcement": 10,
              "fees": 13}
FIRST_APPLICATION_ROW = 3
FIRST_VALUE_COLUMN = 3


@st.composite
def consistent(draw: st.DrawFn) -> dict[str, int | float]:
    """A full 2021 reading whose every equation holds."""
    cells: dict[str, int | float] = {}
    small = st.integers(0, 40)
    for column in APPLICANTS:
        results = {row: draw(small) for row in RESULT_ROWS_2021}
        total = sum(results.values())
        forward = draw(small)
        carried = draw(st.integers(0, total + forward))
        rows = {**results, "total": total, "carried_forward": forward, "carried_over": carried,
                "new": total + forward - carried}
        cells.update({f"applications.{row}.{column}": v for row, v in rows.items()})
    for row in APPLICATION_ROWS_2021:
        cells[f"applications.{row}.total"] = sum(cells[f"applications.{row}.{c}"] for c in APPLICANTS)
    for block in REVIEW_BLOCKS:
        parts = [draw(small) for _ in REVIEW_COLUMNS[:-1]]
        cells.update({f"review.{block}.{c}": v for c, v in zip(REVIEW_COLUMNS, [*parts, sum(parts)], strict=True)})
    for item, columns in ART20_2021.items():
        for column in columns:
            cells[f"art20.{item}.{column}"] = draw(st.integers(0, 99999))
    cells["art20.fees.amount"] = draw(st.integers(0, 10**6)) / 100 or 0.5
    return cells


def _printed(value: int | float, style: str) -> str:
    text = f"{value:,}" if style == "thousands" and isinstance(value, int) else str(value)
    return text.translate(str.maketrans("0123456789", "０１２３４５６７８９")) if style == "fullwidth" else text


def _fill_grid(blank: Document, cells: dict, style: str) -> Document:
    """The blank template with ``cells`` typed in (a key absent from cells: the cell left blank)."""
    document = copy.deepcopy(blank)
    art20, applications, review = document.tables
    for item, row in ART20_ROWS.items():
        for j, column in enumerate(ART20_2021[item]):
            value = cells.get(f"art20.{item}.{column}")
            art20.rows[row][1 + j] = "" if value is None else _printed(value, style)
    for i, row in enumerate(APPLICATION_ROWS_2021):
        for j, column in enumerate(APPLICANT_COLUMNS):
            value = cells.get(f"applications.{row}.{column}")
            applications.rows[FIRST_APPLICATION_ROW + i][FIRST_VALUE_COLUMN + j] = (
                "" if value is None else _printed(value, style))
    review.rows[3] = ["" if cells.get(k) is None else _printed(cells[k], style) for k in REVIEW_KEYS]
    return document


def _stream_text(blank: Document, cells: dict, style: str) -> str:
    """The report as a text extractor lays a table out: each distinct label once, then its values, a line each;
    a key absent from cells is a cell that left no line at all."""
    art20, applications, review = blank.tables
    lines = ["测试县人民政府2021年政府信息公开工作年度报告", "一、总体情况", "（文字描述）", "二、主动公开政府信息情况"]
    for i, row in enumerate(art20.rows):
        item = next((k for k, r in ART20_ROWS.items() if r == i), None)
        lines.append(row[0])
        if item:
            lines += [_printed(cells[k], style) for c in ART20_2021[item] if (k := f"art20.{item}.{c}") in cells]
        else:
            lines += [c for c in dict.fromkeys(row[1:]) if c.strip() and c != row[0]]
    lines.append("三、收到和处理政府信息公开申请情况")
    seen: list[str] = []
    for row in applications.rows[:FIRST_APPLICATION_ROW]:
        seen += [c for c in dict.fromkeys(row) if c not in seen]
    lines += seen
    previous: list[str] = []
    for i, row in enumerate(APPLICATION_ROWS_2021):
        labels = list(dict.fromkeys(applications.rows[FIRST_APPLICATION_ROW + i][:FIRST_VALUE_COLUMN]))
        lines += [label for label in labels if label not in previous]
        previous = labels
        lines += [_printed(cells[k], style) for c in APPLICANT_COLUMNS if (k := f"applications.{row}.{c}") in cells]
    lines.append("四、政府信息公开行政复议、行政诉讼情况")
    for row in review.rows[:3]:
        lines += list(dict.fromkeys(c.replace("\n", "") for c in row))
    lines += [_printed(cells[k], style) for k in REVIEW_KEYS if k in cells]
    lines += ["五、存在的主要问题及改进情况", "（文字描述）", "六、其他需要报告的事项", "无"]
    return "\n".join(lines)


def _read(document: Document) -> Reading:
    reading = read_template(document)
    reading.checks = check(reading.cells, reading.template)
    return reading


STYLES = st.sampled_from(["plain", "fullwidth", "thousands"])
KEY = st.sampled_from([f"applications.{r}.{c}" for r in APPLICATION_ROWS_2021 for c in APPLICANT_COLUMNS])
SETTINGS = settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _split(document: Document, at: int) -> Document:
    """The applications table broken over two pages at grid row ``at``: two Tables, the second without a header."""
    art20, applications, review = document.tables
    first, second = applications.rows[:at], applications.rows[at:]
    document.blocks = [b for b in document.blocks if b is not applications]
    where = document.blocks.index(review)
    document.blocks[where:where] = [Table(first, "page 1", (1,)), "- 1 -", Table(second, "page 2", (2,))]
    return document


@SETTINGS
@given(cells=consistent(), style=STYLES, split=st.none() | st.integers(1, len(APPLICATION_ROWS_2021) - 1))
def test_numbers_in_the_template_grid_read_back_exactly(blank: Document, cells: dict, style: str, split) -> None:
    document = _fill_grid(blank, cells, style)
    if split is not None:
        document = _split(document, FIRST_APPLICATION_ROW + split)
    reading = _read(document)
    assert reading.template == "2021"
    assert {k: reading.cells[k] for k in cells} == cells
    assert reading.passed and len(reading.checks) == 42
    if split is not None:
        assert reading.sources["applications"]["pages"] == [1, 2]


@SETTINGS
@given(cells=consistent(), style=STYLES)
def test_numbers_in_a_linear_stream_read_back_exactly(blank: Document, cells: dict, style: str) -> None:
    reading = _read(read_text(_stream_text(blank, cells, style)))
    assert (reading.template, reading.year, reading.agency) == ("2021", 2021, "测试县人民政府")
    assert {k: reading.cells[k] for k in cells} == cells
    assert reading.passed and len(reading.checks) == 42


def _involving(reading: Reading, key: str) -> set[str]:
    return {c.name for c in reading.checks if key in c.cells}


@SETTINGS
@given(cells=consistent(), key=KEY, bump=st.integers(1, 9))
def test_a_misprinted_cell_fails_exactly_its_column_and_row(blank: Document, cells: dict, key: str, bump: int) -> None:
    full = _read(_fill_grid(blank, cells, "plain"))
    misprinted = _read(_fill_grid(blank, {**cells, key: cells[key] + bump}, "plain"))
    failed = {c.name for c in misprinted.checks if c.passed is False}
    assert failed == _involving(full, key) and failed
    row, column = key.removeprefix("applications.").rsplit(".", 1)
    assert f"applications.row.{row}" in failed
    assert f"applications.balance.{column}" in failed or f"applications.results.{column}" in failed


@SETTINGS
@given(cells=consistent(), key=KEY)
def test_a_blank_cell_stays_blank_and_skips_only_its_checks(blank: Document, cells: dict, key: str) -> None:
    full = _read(_fill_grid(blank, cells, "plain"))
    blanked = _read(_fill_grid(blank, {k: v for k, v in cells.items() if k != key}, "plain"))
    assert blanked.cells[key] is None
    assert {k: blanked.cells[k] for k in cells if k != key} == {k: v for k, v in cells.items() if k != key}
    skipped = {c.name for c in blanked.checks if c.skipped}
    assert {c.name for c in blanked.checks} == {c.name for c in full.checks}
    assert skipped == _involving(full, key) and all(key in c.detail for c in blanked.checks if c.skipped)
    assert blanked.passed


@SETTINGS
@given(cells=consistent(), key=KEY)
def test_a_dropped_token_moves_nothing_outside_its_row(blank: Document, cells: dict, key: str) -> None:
    reading = _read(read_text(_stream_text(blank, {k: v for k, v in cells.items() if k != key}, "plain")))
    row = key.removeprefix("applications.").rsplit(".", 1)[0]
    own = {f"applications.{row}.{c}" for c in APPLICANT_COLUMNS}
    assert {k: reading.cells[k] for k in cells if k not in own} == {k: v for k, v in cells.items() if k not in own}
    assert reading.cells[f"applications.{row}.total"] is None
    assert any(n.startswith(f"applications.{row}: 6 values") for n in reading.notes)
    failed = {c.name for c in reading.checks if c.passed is False}
    assert all(any(k in own for k in c.cells) for c in reading.checks if c.name in failed)


# -- shapes the simulated world showed (tests/test_parse_world.py), built small here --------------------------------

_NOTE = "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"
_HEADER = [
    [_NOTE] * 3 + ["申请人情况"] * 7,
    [_NOTE] * 3 + ["自然人"] + ["法人或其他组织"] * 5 + ["总计"],
    [_NOTE] * 3 + ["自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计"],
]


def test_a_continued_application_table_narrower_than_its_header_keeps_the_header_columns() -> None:
    """A report printing only the totals column, its table continued on the next page in a grid one column
    narrower (the part lacks the 三、本年度办理结果 column): the totals stay totals, natural_person stays blank."""
    blank = [""] * 6
    first = Table([*_HEADER, ["一、本年新收政府信息公开申请数量"] * 3 + [*blank, "5"],
                   ["二、上年结转政府信息公开申请数量"] * 3 + [*blank, "1"],
                   ["三、本年度办理结果", "（一）予以公开", "（一）予以公开", *blank, "4"]], "page 1", (1,))
    rest = Table([["（七）总计", "（七）总计", *blank, "4"], ["四、结转下年度继续办理"] * 2 + [*blank, "2"]],
                 "page 2", (2,))
    reading = read_template(Document("pdf", ["三、收到和处理政府信息公开申请情况", first, rest]))
    cells = reading.cells
    assert [cells[f"applications.{r}.total"] for r in ("new", "carried_over", "granted", "total",
                                                       "carried_forward")] == [5, 1, 4, 4, 2]  # fmt: skip
    assert cells["applications.total.natural_person"] is None
    assert cells["applications.carried_forward.other_org"] is None


@pytest.mark.parametrize("label", ["(七）总计", "（七)总计", "（七）总计", "(七)合计", "７．其他"])
def test_labels_match_whatever_the_bracket_and_digit_widths(label: str) -> None:
    """OCR and hand-typed reports mix full- and half-width brackets within one label; NFKC makes them one."""
    assert application_row(label) == (True, "other.other" if "其他" in label else "total")


@pytest.mark.parametrize(
    ("blocks", "year", "agency"),
    [(["2021年长城镇人民政府政府信息公开工作年度报告", "一、总体情况"], 2021, "长城镇人民政府"),
     (["盐山县2019年政府信息公开工作年度报告", "一、总体情况"], 2019, "盐山县"),
     (["2020年祁县人民政府政府信息公开工作年度报告", "根据《关于印发祁县2020年政务公开工作要点的通知》"], 2020,
      "祁县人民政府"),
     ([Table([["万载县财政局2023年政府信息公开工作年度报告"] * 4, [""] * 4, ["二、主动公开政府信息情况", "", "", ""],
              ["信息内容", "本年制发件数", "本年废止件数", "现行有效件数"]], "sheet 1 (附表)")], 2023, "万载县财政局")],
)
def test_year_and_agency_from_titles_of_every_shape(blocks: list, year: int, agency: str) -> None:
    """The year before the agency; a county as the agency; a title followed by a sentence that names a year too
    (the title is the whole match, not a run into the sentence); a workbook whose title is a row merged across
    its grid."""
    reading = read_template(Document("html", blocks))
    assert (reading.year, reading.agency) == (year, agency)


def test_a_section_that_is_only_its_table_is_found() -> None:
    """二、三、四 often hold nothing but their tables: their text is the tables' rows, not "" (which says the
    report lacks the section)."""
    art20 = Table([["第二十条第（一）项"] * 4, ["信息内容", "本年制发件数", "本年废止件数", "现行有效件数"],
                   ["规章", "0", "无", "3"]], "table 1")
    review = Table([["行政复议"] * 5 + ["行政诉讼"] * 10, ["0"] * 15], "table 2")
    document = Document("html", ["一、总体情况", "本年度……", "二、主动公开政府信息情况", art20,
                                 "四、政府信息公开行政复议、行政诉讼情况", review,
                                 "五、存在的主要问题及改进情况", "无。"])  # fmt: skip
    sections = read_template(document).sections
    assert sections["proactive"].splitlines() == [
        "第二十条第（一）项", "信息内容\t本年制发件数\t本年废止件数\t现行有效件数", "规章\t0\t无\t3"
    ]
    assert sections["review_litigation"].startswith("行政复议\t行政诉讼\n0")
    assert sections["requests"] == "" and sections["problems"] == "无。"


# ---- what a review found: each test fails on the reader before its fix ------------------------------------------

def _split_repeating_header(document: Document, at: int) -> Document:
    """The applications table broken over two pages at grid row ``at``, the second page repeating the header rows
    (自然人 … 总计) as PDFs and Word do on a continuation page."""
    art20, applications, review = document.tables
    first = applications.rows[:at]
    second = applications.rows[:FIRST_APPLICATION_ROW] + applications.rows[at:]
    document.blocks = [b for b in document.blocks if b is not applications]
    where = document.blocks.index(review)
    document.blocks[where:where] = [Table(first, "page 1", (1,)), "- 1 -", Table(second, "page 2", (2,))]
    return document


@SETTINGS
@given(cells=consistent(), split=st.integers(1, len(APPLICATION_ROWS_2021) - 3))
def test_a_header_repeated_on_the_continuation_page_is_no_row(blank: Document, cells: dict, split: int) -> None:
    """The repeated header's 总计 is a column's name: (七)总计 below it is still read, and its checks made."""
    reading = _read(_split_repeating_header(_fill_grid(blank, cells, "plain"), FIRST_APPLICATION_ROW + split))
    assert {k: reading.cells[k] for k in cells} == cells
    assert not any("printed twice" in n for n in reading.notes)
    assert reading.passed and not any(c.skipped for c in reading.checks) and len(reading.checks) == 42


def test_a_blank_row_gives_way_to_the_same_row_printed_with_values() -> None:
    header = [[_NOTE] * 3 + ["自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计"]]
    first = Table([*header, ["一、本年新收政府信息公开申请数量"] * 3 + ["1", "0", "0", "0", "0", "0", "1"],
                   ["（七）总计"] * 3 + [""] * 7], "page 1", (1,))
    rest = Table([["（七）总计"] * 3 + ["1", "0", "0", "0", "0", "0", "1"],
                  ["四、结转下年度继续办理"] * 3 + ["0"] * 7], "page 2", (2,))
    reading = read_template(Document("pdf", ["三、收到和处理政府信息公开申请情况", first, rest]))
    assert reading.cells["applications.total.natural_person"] == 1 and reading.cells["applications.total.total"] == 1


@pytest.mark.parametrize(
    ("printed", "cell"),
    [("12 34", "12 34"), ("3\n4", "3\n4"), ("- 5", "- 5"), ("1 2 3", "1 2 3"), (" 12 ", 12), ("3, 119", 3119),
     ("3 ,119", 3119), ("— —", "——"), ("1.", TEXT), ("（1）", TEXT)],
)
def test_figures_split_by_whitespace_stay_as_printed(printed: str, cell: object) -> None:
    """Two numbers in one cell are not one number: the cell keeps what was printed. A numbering alone is a label."""
    parsed = parse_cell(printed)
    assert parsed is TEXT if cell is TEXT else _same(parsed, cell)


def test_two_numbers_in_one_cell_skip_the_checks_that_need_it(blank: Document) -> None:
    cells = {f"applications.{r}.{c}": 0 for r in APPLICATION_ROWS_2021 for c in APPLICANT_COLUMNS}
    document = _fill_grid(blank, {**cells, "applications.new.business": 0}, "plain")
    document.tables[1].rows[FIRST_APPLICATION_ROW][FIRST_VALUE_COLUMN + 1] = "1 0"
    reading = _read(document)
    assert reading.cells["applications.new.business"] == "1 0"
    by_name = {c.name: c for c in reading.checks}
    balance = by_name["applications.balance.business"]
    assert balance.skipped and balance.passed is None
    assert balance.detail == "not a number: applications.new.business ('1 0')"
    assert by_name["applications.balance.natural_person"].passed


def test_a_reading_whose_checks_could_not_be_made_is_not_passed() -> None:
    """A reader that drops cells must not have its checks removed and the report counted as passed."""
    cells = dict.fromkeys(keys("2021"))
    cells["applications.new.total"] = 3  # printed: the table is there, so it is not flagged as missing
    cells.update({f"review.{b}.{c}": "/" for b in REVIEW_BLOCKS for c in REVIEW_COLUMNS})
    reading = Reading("html", "2021", cells=cells, checks=check(cells, "2021"))
    assert len(reading.checks) == 42 and all(c.skipped and c.passed is None for c in reading.checks)
    assert reading.passed is None
    out = reading.to_json()
    assert out["passed"] is None and all(c["skipped"] is True and c["passed"] is None for c in out["checks"])
    assert out["checks"][0]["detail"].startswith("blank: applications.new.natural_person")
    assert "not a number: review.reconsideration.total ('/')" in {c["name"]: c for c in out["checks"]}[
        "review.reconsideration"]["detail"]
    one_failed = copy.deepcopy(reading)
    one_failed.checks[0].passed, one_failed.checks[0].skipped = False, False
    assert one_failed.passed is False


_REVIEW_PARTS = ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]
_REVIEW_HEAD = [["行政复议"] * 5 + ["行政诉讼"] * 10,
                _REVIEW_PARTS + ["未经复议直接起诉"] * 5 + ["复议后起诉"] * 5,
                _REVIEW_PARTS * 3]


@pytest.mark.parametrize("trailing", [0, 1, 2])
def test_the_review_row_is_placed_by_its_sub_headers(trailing: int) -> None:
    """A trailing empty column, a spacer row, a blank cell: each value stays under its own sub-header."""
    pad = [""] * trailing
    values = ["1", "", "0", "0", "1", "0", "0", "0", "0", "0", "2", "0", "0", "0", "2"]
    table = Table([*(r + pad for r in _REVIEW_HEAD), [""] * (15 + trailing), values + pad], "table 1")
    blocks = ["四、政府信息公开行政复议、行政诉讼情况", table, "本年新收政府信息公开申请数量", "0"]
    reading = read_template(Document("html", blocks))
    got = [reading.cells[k] for k in REVIEW_KEYS]
    assert got == [1, None, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0, 0, 0, 2]
    assert not any(n.startswith("review") for n in reading.notes)


def test_a_review_header_at_a_pages_foot_finds_its_row_on_the_next() -> None:
    head = Table(_REVIEW_HEAD, "page 5", (5,))
    data = Table([["0"] * 14 + ["3"]], "page 6", (6,))
    reading = read_template(Document("pdf", ["本年新收政府信息公开申请数量", "0", head, data]))
    assert reading.cells["review.litigation_after_reconsideration.total"] == 3
    assert reading.sources["review"]["pages"] == [6]


def test_a_row_with_more_values_than_columns_is_placed_by_its_header() -> None:
    """An eighth value (a stray figure in a merged label column) no longer pushes the header aside or vanishes."""
    header = [["标签", "标签", "自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计"]]
    table = Table([*header, ["一、本年新收政府信息公开申请数量", "9", "1", "2", "0", "0", "0", "0", "3"],
                   ["四、结转下年度继续办理", "", "1", "0", "0", "0", "0", "0", "1"]], "table 1")
    reading = read_template(Document("html", [table]))
    assert [reading.cells[f"applications.new.{c}"] for c in APPLICANT_COLUMNS] == [1, 2, 0, 0, 0, 0, 3]
    assert "applications.new: under no header column, left out: 9" in reading.notes
    headless = Table([["一、本年新收政府信息公开申请数量", "1", "2", "0", "0", "0", "0", "3", "4"],
                      ["四、结转下年度继续办理", "1", "0", "0", "0", "0", "0", "1"]], "table 1")
    notes = read_template(Document("html", [headless])).notes
    assert "applications.new: 8 values for 7 columns, the last left out: 4" in notes


@pytest.mark.parametrize("values", [["5", "5", "5"], ["", "5", ""], ["5", "", ""], ["", "", "5"]])
def test_a_value_under_a_merged_header_is_one_value(values: list[str]) -> None:
    """本年处理决定数量 merged over three grid columns is one column: its value is read once, wherever it sits."""
    table = Table([["信息内容", "本年处理决定数量", "本年处理决定数量", "本年处理决定数量"], ["行政许可", *values],
                   ["信息内容", "本年制发件数", "本年废止件数", "现行有效件数"], ["规章", "0", "", "3"]], "table 1")
    reading = read_template(Document("html", [table, "本年新收政府信息公开申请数量", "0"]))
    assert reading.cells["art20.licensing.decisions"] == 5
    assert [reading.cells[f"art20.regulations.{c}"] for c in ART20_2021["regulations"]] == [0, None, 3]


# -- labels as portals reword them: wording, spacing, brackets and numbering vary, the keys do not -----------------

#: The template's label wordings → wordings real reports print instead (the template's own first).
WORDINGS = {
    "本年新收政府信息公开申请数量": [
        "本年度新收政府信息公开申请数量", "本年新收政府信息公开申请", "新收政府信息公开申请数量", "本年新收申请数量"],
    "上年结转政府信息公开申请数量": [
        "上年度结转政府信息公开申请数量", "上一年度结转政府信息公开申请数量", "上年结转申请数量"],
    "本年度办理结果": ["本年办理结果"],
    "予以公开": ["全部公开"],
    "部分公开（区分处理的，只计这一情形，不计其他情形）": [
        "部分公开", "部分公开(区分处理的,只计这一情形,不计其他情形)"],
    "其他法律行政法规禁止公开": ["其他法律、行政法规禁止公开"],
    "危及“三安全一稳定”": ["危及三安全一稳定", '危及"三安全一稳定"', "危及‘三安全一稳定’"],
    "没有现成信息需要另行制作": ["没有现成信息需要另行制作的"],
    "总计": ["合计"],
    "结转下年度继续办理": ["结转下一年度继续办理", "结转至下年度继续办理", "结转下年度继续办理的申请数量"],
}
_CHINESE = "一二三四五六七八"
_NUMBERED = re.compile(
    r"^(?:(?P<top>[一二三四五六七八])、|（(?P<sub>[一二三四五六七八])）|(?P<item>\d)\.)?(?P<body>.*)$", re.S)
#: How each level of numbering is printed: the template's style first, then others seen (half-width or mixed
#: brackets, 、 for ., circled digits), or none at all.
NUMBERINGS = {
    "top": ["{c}、", "{c}．", "{c}.", ""],
    "sub": ["（{c}）", "({c})", "（{c})", "({c}）", "{c}、", ""],
    "item": ["{n}.", "{n}、", "{n}．", "（{n}）", "({n})", "{n})", "{circled}", ""],
}


@st.composite
def reworded(draw: st.DrawFn, label: str) -> str:
    """``label`` as another report may print it: its wording, numbering and spacing varied."""
    parts = _NUMBERED.match(label)
    assert parts
    body = draw(st.sampled_from([parts["body"], *WORDINGS.get(parts["body"], [])]))
    level = next((lv for lv in NUMBERINGS if parts[lv]), None)
    number = ""
    if level:
        n = int(parts["item"]) if level == "item" else _CHINESE.index(parts[level]) + 1
        style = draw(st.sampled_from(NUMBERINGS[level]))
        number = style.format(c=_CHINESE[n - 1], n=n, circled=chr(0x2460 + n - 1))
    text = number + body
    gaps = draw(st.lists(st.tuples(st.integers(0, len(text)), st.sampled_from([" ", "\u3000", "\n", "  "])),
                         max_size=3))
    for at, gap in sorted(gaps, reverse=True):
        text = text[:at] + gap + text[at:]
    return text


def _labels(blank: Document) -> list[tuple[str, str]]:
    """(label as the template prints it, its row key) of every application row (the rightmost label cell)."""
    rows = blank.tables[1].rows[FIRST_APPLICATION_ROW:]
    return [(row[FIRST_VALUE_COLUMN - 1], key) for row, key in zip(rows, APPLICATION_ROWS_2021, strict=True)]


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_every_row_label_is_found_however_it_is_worded(blank: Document, data: st.DataObject) -> None:
    for label, key in _labels(blank):
        printed = data.draw(reworded(label), label=key)
        assert application_row(printed) == (True, key), (printed, normalise_label(printed))


@SETTINGS
@given(cells=consistent(), data=st.data())
def test_reworded_labels_in_the_grid_read_back_exactly(blank: Document, cells: dict, data: st.DataObject) -> None:
    """Every label cell of the applications table reworded (a merged label the same in every cell it covers)."""
    document = _fill_grid(blank, cells, "plain")
    table = document.tables[1]
    printed: dict[str, str] = {}
    for row in table.rows[FIRST_APPLICATION_ROW:]:
        for j in range(FIRST_VALUE_COLUMN):
            if row[j] not in printed:
                printed[row[j]] = data.draw(reworded(row[j]))
            row[j] = printed[row[j]]
    reading = _read(document)
    assert {k: reading.cells[k] for k in cells} == cells
    assert reading.passed and len(reading.checks) == 42


@SETTINGS
@given(cells=consistent(), data=st.data())
def test_reworded_labels_in_a_linear_stream_read_back_exactly(blank: Document, cells: dict,
                                                               data: st.DataObject) -> None:
    document = copy.deepcopy(blank)
    printed: dict[str, str] = {}
    for row in document.tables[1].rows[FIRST_APPLICATION_ROW:]:
        for j in range(FIRST_VALUE_COLUMN):
            if row[j] not in printed:
                printed[row[j]] = data.draw(reworded(row[j])).replace("\n", " ")  # a line is a token here
            row[j] = printed[row[j]]
    reading = _read(read_text(_stream_text(document, cells, "plain")))
    assert {k: reading.cells[k] for k in cells} == cells
    assert reading.passed and len(reading.checks) == 42


#: Section headings as the 2019/2021 template, the 2008 outline and portals word them.
HEADING_WORDINGS = {
    "overview": ["总体情况", "概述", "政府信息公开工作总体情况"],
    "proactive": ["主动公开政府信息情况", "主动公开政府信息的情况", "主动公开信息情况"],
    "requests": ["收到和处理政府信息公开申请情况", "收到及处理政府信息公开申请情况", "依申请公开政府信息情况"],
    "review_litigation": ["政府信息公开行政复议、行政诉讼情况", "政府信息公开行政复议和行政诉讼情况",
                          "行政复议、行政诉讼情况", "因政府信息公开申请提起行政复议、行政诉讼的情况"],
    "problems": ["存在的主要问题及改进情况", "存在的主要问题及改进措施", "政府信息公开工作存在的主要问题及改进情况",
                 "存在的问题和改进措施", "存在的主要问题"],
    "other": ["其他需要报告的事项", "其它需要报告的事项"],
}


@st.composite
def headings(draw: st.DrawFn) -> list[tuple[str, str]]:
    """(section, heading line) for the six sections, in order, each worded, numbered and spaced as drawn."""
    style = draw(st.sampled_from(["{c}、", "{c}．", "{n}、", "{n}.", "{n}．", ""]))
    out = []
    for n, (section, wordings) in enumerate(HEADING_WORDINGS.items(), start=1):
        text = style.format(c=_CHINESE[n - 1], n=n) + draw(st.sampled_from(wordings))
        at = draw(st.integers(0, len(text)))
        out.append((section, text[:at] + draw(st.sampled_from(["", " ", "\u3000"])) + text[at:]))
    return out


@settings(max_examples=60)
@given(lines=headings())
def test_sections_are_found_however_their_headings_are_worded(lines: list[tuple[str, str]]) -> None:
    blocks = [x for section, line in lines for x in (line, f"{section}的正文。")]
    sections = read_template(Document("html", ["某县2021年政府信息公开工作年度报告", *blocks])).sections
    assert sections == {section: f"{section}的正文。" for section, _ in lines}


PERIOD_SENTENCES = ["本年度报告中所列数据的统计期限自{y}年1月1日起至{y}年12月31日止。",
                    "报告涉及的数据统计期限为{y}年1月1日至12月31日。", "统计期限为{y}年度。"]
COMPILER_SENTENCES = [
    "本报告由{a}编制。", "本年度报告根据《中华人民共和国政府信息公开条例》要求，由{a}编制。",
    "本报告依据《条例》（国务院令第711号）和《通知》（国办公开办函〔2021〕30号）要求，由{a}结合有关统计数据编制。"]


@settings(max_examples=60)
@given(lines=headings(), year=st.integers(2008, 2030), period=st.sampled_from(PERIOD_SENTENCES),
       compiler=st.sampled_from(COMPILER_SENTENCES))
def test_the_judge_and_the_parser_read_the_same_words_the_same_way(lines: list[tuple[str, str]], year: int,
                                                                    period: str, compiler: str) -> None:
    """crawler.judge counts the headings the parser finds, and reads the year and compiler the parser reads."""
    agency = "某某县人民政府办公室"
    text = "\n".join(["关于公开的说明", compiler.format(a=agency), period.format(y=year),
                      *(line for _, line in lines)])
    reading = read_template(read_text(text))
    assert (reading.year, reading.agency) == (year, agency)
    compact = normalize(text)
    assert (document_year(compact), document_agency(compact, heading=False)) == (year, agency)
    # A wording too common in prose to mark a section counts as a heading line only, not in running text.
    alone = {"行政复议、行政诉讼情况": "复议诉讼", "存在的主要问题": "问题改进"}
    worded = [re.sub(r"^(?:[一二三四五六七八][、.]|\d\.)", "", normalise_label(line)) for _, line in lines]
    expected = {"总体情况", "主动公开", "申请", "复议诉讼", "问题改进", "其他事项"} - {alone.get(w) for w in worded}
    assert set(markers(compact)) >= expected


@pytest.mark.parametrize(("label", "key"), [("3.其它", "other.other"), ("（六）其它处理", "other"),
                                            ("2.其它法律行政法规禁止公开", "refused.prohibited_by_law")])
def test_the_variant_character_is_the_templates(label: str, key: str) -> None:
    """其它 for 其他: a variant many reports type."""
    assert application_row(label) == (True, key)
