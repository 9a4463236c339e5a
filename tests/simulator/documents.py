"""A simulated report as a document: the seed's prose around the template's three tables, laid out as grids.

`make_report()` takes a seed report rewritten for an agency (texts.report_text) and puts in place of the
seed's tables — printed one cell a line in the seeds — the report's own numbers (statistics.py) as real
grids with the template's merged cells. Every format (html.py, office.py) renders from this one model,
so the numbers a parser should read are known for every body the world serves.
"""

from __future__ import annotations

import functools
import random
import re
from dataclasses import dataclass

from . import texts
from .statistics import ART20, BLOCKS, COLUMNS, RESULTS, REVIEW_COLUMNS, Statistics, make_statistics

#: Where a table stands among the prose lines.
TABLE = "\x00TABLE:"
TABLES = ("art20", "applications", "review")

#: Section headings that open a table's section, and those that end it (the next section's).
_SECTION = re.compile(r"^\s*(?:[一二三四五六七八九十]+|\d+)\s*、")
_OPENS = {"art20": re.compile(r"主动.{0,2}公开政府信息.{0,2}情况"), "applications": re.compile(r"收到和处理"),
          "review": re.compile(r"行政复议")}
_ENDS = {"art20": _OPENS["applications"], "applications": _OPENS["review"], "review": re.compile(r"存在的主要问题")}


@dataclass(frozen=True)
class Report:
    """What one report says: its heading, prose (with TABLE placeholders) and numbers."""

    title: str
    agency: str
    year: int
    lines: tuple[str, ...]
    stats: Statistics
    #: Seeds the layout choices of every format (class names, merges, page breaks).
    identity: str

    @property
    def template(self) -> str:
        return self.stats.template


def make_report(agency: texts.Agency, county: str, host: str, year: int, title: str, who: str, identity: str,
                rng: random.Random) -> Report:
    """`agency`'s report of `year`, titled `title` (naming it as `who`); `rng` picks the seed it is rewritten from
    (the site's generator, as before the numbers existed), `identity` seeds its numbers and layouts."""
    lines = texts.report_text(agency, county, host, year, rng, read=_seed_prose)
    return Report(title, who, year, tuple(lines), make_statistics(identity, year, agency.kind), identity)


@functools.cache
def _seed_prose(file: str) -> tuple[str, ...]:
    return tuple(_replace_tables(list(texts.seed_lines(file))))


def _replace_tables(lines: list[str]) -> list[str]:
    """The seed's prose; each table's cells (from its section heading to the next section's) → a placeholder."""
    out: list[str] = []
    inside: str | None = None
    for raw in lines:
        line = raw.strip()
        heading = bool(_SECTION.match(line)) and "\t" not in raw.strip("\t")
        if inside and (heading or len(line) <= 40) and _ENDS[inside].search(line):  # 003 leaves 五 unnumbered
            inside = None
        if inside:
            continue
        if not line:
            continue
        out.append(line)
        for name in TABLES:
            if heading and _OPENS[name].search(line) and f"{TABLE}{name}" not in out:
                out.append(f"{TABLE}{name}")
                inside = name
                break
    return out


@dataclass(frozen=True)
class Span:
    """One printed cell of a table: its grid position, extent and text; `key` names a number's cell."""

    row: int
    col: int
    text: str
    rowspan: int = 1
    colspan: int = 1
    header: bool = False
    key: str | None = None


@dataclass(frozen=True)
class Grid:
    name: str
    rows: int
    cols: int
    spans: tuple[Span, ...]

    def by_row(self) -> list[list[Span]]:
        """The spans that start in each row, left to right."""
        rows: list[list[Span]] = [[] for _ in range(self.rows)]
        for s in sorted(self.spans, key=lambda s: (s.row, s.col)):
            rows[s.row].append(s)
        return rows


class _Builder:
    def __init__(self, stats: Statistics) -> None:
        self.stats, self.spans, self.r = stats, [], 0

    def head(self, col: int, text: str, rowspan: int = 1, colspan: int = 1, row: int | None = None) -> None:
        self.spans.append(Span(self.r if row is None else row, col, text, rowspan, colspan, header=True))

    def value(self, col: int, key: str, colspan: int = 1) -> None:
        self.spans.append(Span(self.r, col, self.stats.text(key), 1, colspan, key=key))

    def grid(self, name: str, cols: int) -> Grid:
        return Grid(name, max(s.row + s.rowspan for s in self.spans), cols, tuple(self.spans))


_ART20_2021 = (("（一）", [("规章", "regulations"), ("行政规范性文件", "normative_documents")],
                ["本年制发件数", "本年废止件数", "现行有效件数"], ["issued", "repealed", "in_force"]),
               ("（五）", [("行政许可", "licensing")], ["本年处理决定数量"], ["decisions"]),
               ("（六）", [("行政处罚", "punishment"), ("行政强制", "enforcement")], ["本年处理决定数量"],
                ["decisions"]),
               ("（八）", [("行政事业性收费", "fees")], ["本年收费金额（单位：万元）"], ["amount"]))
_ITEMS_2019 = ["上一年项目数量", "本年增/减", "处理决定数量"]
_ART20_2019 = (("（一）", [("规章", "regulations"), ("规范性文件", "normative_documents")],
                ["本年新制作数量", "本年新公开数量", "对外公开总数量"], ["made", "published", "total"]),
               ("（五）", [("行政许可", "licensing"), ("其他对外管理服务事项", "other_services")], _ITEMS_2019,
                ["previous", "change", "decisions"]),
               ("（六）", [("行政处罚", "punishment"), ("行政强制", "enforcement")], _ITEMS_2019,
                ["previous", "change", "decisions"]),
               ("（八）", [("行政事业性收费", "fees")], _ITEMS_2019[:2], ["previous", "change"]),
               ("（九）", [("政府集中采购", "procurement")], ["采购项目数量", "采购总金额"], ["projects", "amount"]))


def art20_grid(stats: Statistics) -> Grid:
    b = _Builder(stats)
    for item, rows, heads, fields in (_ART20_2021 if stats.template == "2021" else _ART20_2019):
        b.head(0, f"第二十条第{item}项", colspan=4)
        b.r += 1
        b.head(0, "信息内容")
        wide = 3 // len(heads) if 3 % len(heads) == 0 else 1
        for k, text in enumerate(heads):
            b.head(1 + k * wide, text, colspan=wide)
        for k in range(len(heads) * wide, 3):  # the 2019 format leaves its last column blank here
            b.head(1 + k, "")
        b.r += 1
        for label, stem in rows:
            b.head(0, label)
            for k, f in enumerate(fields):
                b.value(1 + k * wide, f"art20.{stem}.{f}", colspan=wide)
            for k in range(len(fields) * wide, 3):
                b.spans.append(Span(b.r, 1 + k, ""))
            b.r += 1
    assert all(any(s.key == f"art20.{k}" for s in b.spans) for k in ART20[stats.template])
    return b.grid("art20", 4)


_LABELS = {
    "new": "一、本年新收政府信息公开申请数量", "carried_over": "二、上年结转政府信息公开申请数量",
    "granted": "（一）予以公开", "partly_granted": "（二）部分公开（区分处理的，只计这一情形，不计其他情形）",
    "refused": "（三）不予公开", "unavailable": "（四）无法提供", "not_handled": "（五）不予处理",
    "other": "（六）其他处理", "total": "（七）总计", "carried_forward": "四、结转下年度继续办理",
    "refused.state_secret": "1.属于国家秘密", "refused.prohibited_by_law": "2.其他法律行政法规禁止公开",
    "refused.three_safeties": "3.危及“三安全一稳定”", "refused.third_party": "4.保护第三方合法权益",
    "refused.internal_affairs": "5.属于三类内部事务信息", "refused.process_info": "6.属于四类过程性信息",
    "refused.enforcement_files": "7.属于行政执法案卷", "refused.query_items": "8.属于行政查询事项",
    "unavailable.not_held": "1.本机关不掌握相关政府信息", "unavailable.needs_creation": "2.没有现成信息需要另行制作",
    "unavailable.unclear": "3.补正后申请内容仍不明确",
    "not_handled.petition": "1.信访举报投诉类申请", "not_handled.repeated": "2.重复申请",
    "not_handled.publication": "3.要求提供公开出版物", "not_handled.massive_repeated": "4.无正当理由大量反复申请",
    "not_handled.confirmation": "5.要求行政机关确认或重新出具已获取信息",
    "other.overdue_correction": "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
    "other.unpaid_fee": "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
    "other.other": "3.其他",
}
NOTE = "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"
COLUMN_LABELS = ("自然人", "商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他", "总计")


def applications_grid(stats: Statistics, header: str = "template", merged: bool = True) -> Grid:
    """The application table; `header` "template" (three merged header rows) or "flat" (one row naming the
    seven columns); `merged=False` prints group labels once with blank cells below instead of rowspans."""
    b = _Builder(stats)
    if header == "template":
        b.head(0, NOTE, rowspan=3, colspan=3)
        b.head(3, "申请人情况", colspan=7)
        b.r = 1
        b.head(3, "自然人", rowspan=2)
        b.head(4, "法人或其他组织", colspan=5)
        b.head(9, "总计", rowspan=2)
        b.r = 2
        for k, text in enumerate(COLUMN_LABELS[1:6]):
            b.head(4 + k, text)
        b.r = 3
    else:
        b.head(0, "申请人情况", colspan=3)
        for k, text in enumerate(COLUMN_LABELS):
            b.head(3 + k, text)
        b.r = 1

    def values(row: str) -> None:
        for k, c in enumerate(COLUMNS):
            b.value(3 + k, f"applications.{row}.{c}")
        b.r += 1

    for row in ("new", "carried_over"):
        b.head(0, _LABELS[row], colspan=3)
        values(row)
    results = (*RESULTS[stats.template], "total")
    first = b.r
    b.head(0, "三、本年度办理结果", rowspan=len(results) if merged else 1)
    for i, row in enumerate(results):
        if not merged and i:
            b.head(0, "")
        group, _, item = row.partition(".")
        if not item:
            b.head(1, _LABELS[row], colspan=2)
        else:
            members = [r for r in results if r.startswith(f"{group}.")]
            if row == members[0]:
                b.head(1, _LABELS[group], rowspan=len(members) if merged else 1)
            elif not merged:
                b.head(1, "")
            b.head(2, _LABELS[row])
        values(row)
    assert b.r - first == len(results)
    b.head(0, _LABELS["carried_forward"], colspan=3)
    values("carried_forward")
    return b.grid("applications", 10)


_REVIEW_LABELS = ("结果维持", "结果纠正", "其他结果", "尚未审结", "总计")


def review_grid(stats: Statistics) -> Grid:
    b = _Builder(stats)
    b.head(0, "行政复议", colspan=5)
    b.head(5, "行政诉讼", colspan=10)
    b.r = 1
    for k, text in enumerate(_REVIEW_LABELS):
        b.head(k, text, rowspan=2)
    b.head(5, "未经复议直接起诉", colspan=5)
    b.head(10, "复议后起诉", colspan=5)
    b.r = 2
    for k, text in enumerate(_REVIEW_LABELS * 2):
        b.head(5 + k, text)
    b.r = 3
    for i, block in enumerate(BLOCKS):
        for k, c in enumerate(REVIEW_COLUMNS):
            b.value(5 * i + k, f"review.{block}.{c}")
    return b.grid("review", 15)


def grids(report: Report, header: str = "template", merged: bool = True) -> dict[str, Grid]:
    return {"art20": art20_grid(report.stats), "applications": applications_grid(report.stats, header, merged),
            "review": review_grid(report.stats)}


def full_grid(grid: Grid) -> list[list[str]]:
    """Every position's text, a merged cell's text repeated where it spans (as parsing.document.Table has it)."""
    rows = [[""] * grid.cols for _ in range(grid.rows)]
    for s in grid.spans:
        for r in range(s.row, s.row + s.rowspan):
            for c in range(s.col, s.col + s.colspan):
                rows[r][c] = s.text
    return rows

