"""Is this a report? The one judge the spider, the tests and the benchmarks share: ``judge()``.

The title proposes (crawler.titles: recall first), the document disposes: an annual report
follows the official template (国办公开办函〔2019〕60号, 〔2021〕30号; older ones the 2008
outline), so its text carries the template's headings and its 统计期限. A page that has them is
a report whatever its title says; a candidate page without them is a report only when it wraps
the document (attachments, images) or its title names report and year (an old free-form report);
otherwise — a title without a year, a loose or cut-short one — it is kept as a ``page`` with the
reason. Files (a directly linked PDF, an attachment) are judged from their text where they have
one; a scan has none and keeps its title's verdict. Year and agency come from the title, else the
document, else (the year) the publication date; ``year_source`` says which.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from crawler.titles import Verdict, agency_kind, classify, normalize, years_in
from parsing.template.meta import COMPILER, PERIODS, REPORT_YEAR
from parsing.template.sections import HEADINGS

#: The template's markers (2019/2021 format, then the 2008 outline), found in the text without spaces: the six
#: sections as parsing.template.sections words their headings (one meaning, one pattern), then what only reports
#: print.
MARKERS = {
    "总体情况": HEADINGS["overview"].pattern,
    "主动公开": HEADINGS["proactive"].pattern,
    "申请": HEADINGS["requests"].pattern,
    "复议诉讼": HEADINGS["review_litigation"].pattern,
    "问题改进": HEADINGS["problems"].pattern,
    "其他事项": HEADINGS["other"].pattern,
    "收费": r"(收费|收取信息处理费)(及减免)?的?情况",
    "统计期限": r"统计期限",
    "第二十条": r"第二十条第[（(]?[一五六八][）)]?项",
    "申请人情况": r"申请人情况|本年新收政府信息公开申请数量",
}
_MARKERS = {name: re.compile(pattern) for name, pattern in MARKERS.items()}
_DATE = re.compile(r"(20[0-4]\d)[-./年](\d{1,2})[-./月](\d{1,2})")
_URL_DATE = re.compile(r"/t(20[0-4]\d)(\d\d)(\d\d)_|/art/(20[0-4]\d)/(\d{1,2})/(\d{1,2})/|/(20[0-4]\d)(\d\d)/")
#: How many markers make a text a report: a notice naming the sections in one sentence has one or two.
MIN_MARKERS = 3


@dataclass(frozen=True)
class Judgement:
    #: report, page (fetched, not a report) or, for a title alone, candidate (fetch it) / other.
    kind: str
    why: str
    year: int | None = None
    year_source: str | None = None  # title / document / published
    agency: str | None = None
    agency_kind: str | None = None
    markers: int = 0

    @property
    def is_report(self) -> bool:
        return self.kind == "report"

    @property
    def worth_fetching(self) -> bool:
        return self.kind in ("report", "candidate")


def judge(title: str, county: str | None = None, text: str | None = None, *, published: date | None = None,
          wraps: int = 0, is_file: bool = False, min_markers: int = MIN_MARKERS) -> Judgement:
    """Judge a title, and with ``text`` (a page's visible text, a file's text) the document.

    ``wraps``: how many attachments or images the page links (the report may be in them);
    ``is_file``: the text is a file's, which may be a scan (no text): its title then decides.
    """
    verdict = classify(title, county)
    if text is None:
        kind = "report" if verdict.is_report else "candidate" if verdict.worth_fetching else "other"
        return _facts(kind, verdict.reason or "title", verdict, None, published)
    if verdict.excluded:  # 解读, 指南, a notice: whatever it quotes of the report
        return _facts("page", f"not a report: {verdict.reason}", verdict, None, published)
    doc = _compact(text)
    found = markers(doc)
    where = "file" if is_file else "page"

    def said(kind: str, why: str) -> Judgement:
        return _facts(kind, why, verdict, doc, published, len(found), is_file)

    if len(found) >= min_markers:
        return said("report", f"document: {len(found)} template markers ({'、'.join(found)})")
    if is_file and not doc.strip():
        return said("report" if verdict.is_report else "page", "title; the file has no text (a scan?)")
    if verdict.is_report and (verdict.year or is_file):  # the title names report and year (or names the file)
        return said("report", f"title; {len(found)} template markers in the {where}")
    if wraps and not is_file:
        return said("report", f"title; the page wraps {wraps} file(s) and has {len(found)} template markers")
    return said("page", f"not a report: {len(found)} template markers in the {where} ({verdict.reason or 'title'})")


def markers(text: str) -> list[str]:
    """The template markers a text carries (text compacted: no spaces, simplified script)."""
    return [name for name, pattern in _MARKERS.items() if pattern.search(text)]


def document_year(text: str) -> int | None:
    """The report's year from its text: its 统计期限, the heading's year, 本年度报告's year (parsing.template.meta's
    patterns: the parser reads the same year from the same words)."""
    for pattern in PERIODS:
        if period := pattern.search(text):
            return int(period["year"])
    if heading := REPORT_YEAR.search(text[:2000]):
        return int(heading["year"])
    years = years_in(text[:600])
    return years[0][0] if years else None


def document_agency(text: str, heading: bool = True) -> str | None:
    """The publisher from the document: a file's heading (``洪泽区人民政府2023年…年度报告``), or 本报告由…编制.

    A page's heading is its title, already judged: what its text begins with is the site's chrome."""
    head = text[:200] if heading else ""
    for end in re.finditer(r"报告|年报", head):  # the heading is what comes before the first report name
        verdict = classify(head[:end.end()])
        if verdict.is_report and verdict.agency and len(verdict.agency) <= 30:
            return verdict.agency
    by = COMPILER.search(text[:3000])
    return by["agency"] if by else None


def published_on(url: str, *texts: str | None) -> date | None:
    """When a page was published: a PubDate-like text (meta, 发布时间), else the date in its URL."""
    for text in texts:
        if text and (m := _DATE.search(text)):
            return _date(*m.groups())
    if m := _URL_DATE.search(url):
        parts = [g for g in m.groups() if g]
        return _date(*(parts + ["1"])[:3])
    return None


def _date(year: str, month: str, day: str) -> date | None:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def _compact(text: str) -> str:
    return normalize(unicodedata.normalize("NFKC", text))


def _facts(kind: str, why: str, verdict: Verdict, doc: str | None, published: date | None,
           found: int = 0, is_file: bool = False) -> Judgement:
    year, source = verdict.year, "title" if verdict.year else None
    if year is None and doc and (year := document_year(doc)):
        source = "document"
    if year is None and published:
        year, source = published.year - 1, "published"  # reports are published the year after
    agency = verdict.agency or (document_agency(doc, heading=is_file) if doc else None)
    kind_of = verdict.agency_kind if verdict.agency else agency_kind(agency, None)
    return Judgement(kind, why, year, source, agency, kind_of, found)
