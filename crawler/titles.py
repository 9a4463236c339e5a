"""Is a list entry an annual report, and whose, for which year? Decided from its title.

Titles vary (year first or last, 年度, （图片版）, truncated with …) and near-duplicates abound
(the report's 解读, the 公开指南, 工作要点, 政府工作报告, notices about compiling the report),
so a title is accepted only when it names the report itself and nothing about it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

#: What the report itself is called (older ones: 政府信息公开工作报告); 政务公开 appears too.
_REPORT = re.compile(
    r"(政府信息公开|政务信息公开|信息公开|政务公开)(工作)?(年度)?(工作)?(情况)?(年度报告|年报|年度工作报告|工作报告|报告)"
)
#: Words that make a title about a report rather than the report.
_ABOUT = re.compile(
    r"解读|图解|图说|一图|读懂|指南|要点|通知|编制|发布工作|报送|提交|督查|考核|评估|评议|目录|说明|意见|"
    r"方案|公示|征求|统计表|情况的报告|工作总结|问答|视频"
)
#: Agencies whose names contain those words (every county has a 编办).
_AGENCY_WORDS = re.compile(r"机构编制委员会|编制委员会|编委办|督查室|考核办|考评办|评估中心")
_TRUNCATED = re.compile(r"(…|\.\.\.|。。。)$")
_YEAR = re.compile(r"(?<!\d)(19[89]\d|20[0-4]\d)\s*年")
_VARIANT = re.compile(r"（[^（）]*(版|附件|全文|修订|更新|图片|图文|pdf|PDF|doc|word|Word)[^（）]*）$")
#: What list templates put after the title: a date, a file type.
_TRAILER = re.compile(r"(\[?\d{4}[-./年]\d{1,2}[-./月]\d{1,2}日?\]?|\.(pdf|docx?|wps|ofd|xlsx?)|（(pdf|PDF)）)$")
_QUOTES = "《》“”\"'「」"
_TOWNSHIP = re.compile(r"(乡|镇|街道|苏木)(人民政府|政府|办事处|办)?$")
_COUNTY = re.compile(r"(县|区|市|旗)((人民)?政府)?$")
_NOT_COUNTY = re.compile(r"开发区|园区|新区|管理区|管委会|景区|示范区")


@dataclass(frozen=True)
class Verdict:
    is_report: bool
    year: int | None = None
    agency: str | None = None
    agency_kind: str | None = None  # county / department / township
    #: A truncated title we cannot judge yet: fetch the page and decide from its full title.
    needs_full_title: bool = False
    reason: str = ""


def normalize(title: str) -> str:
    """NFKC (full-width digits and brackets), no spaces or line breaks."""
    title = unicodedata.normalize("NFKC", title or "")
    title = re.sub(r"\s+", "", title.replace("(", "（").replace(")", "）"))
    while (trimmed := _TRAILER.sub("", title)) != title:
        title = trimmed
    return title


def is_truncated(title: str) -> bool:
    return bool(_TRUNCATED.search(normalize(title)))


def classify(title: str, county: str | None = None) -> Verdict:
    """Judge a title; ``county`` (e.g. 万载县) tells the county government from its departments."""
    text = normalize(title).strip(_QUOTES)
    truncated = bool(_TRUNCATED.search(text))
    if truncated:
        text = _TRUNCATED.sub("", text)
    match = _REPORT.search(text)
    if match is None:
        if truncated and _could_continue(text):
            return Verdict(False, needs_full_title=True, reason="truncated")
        return Verdict(False, reason="not an annual report title")
    about = _ABOUT.search(_AGENCY_WORDS.sub("", text))
    if about:
        return Verdict(False, reason=f"about a report ({about.group()})")
    head, rest = text[: match.start()], _VARIANT.sub("", text[match.end():]).strip(_QUOTES)
    bracketed = re.fullmatch(r"（([^（）]+)）", rest)  # …年度报告（2023年度） or …年度报告（万载县教育局）
    if bracketed and _YEAR.fullmatch(bracketed[1].removesuffix("度")):
        head, rest = head + bracketed[1], ""
    elif bracketed and not _YEAR.search(bracketed[1]):
        head, rest = bracketed[1] + head, ""
    if rest:  # the title goes on: 《…年度报告》解读, …年度报告的说明 — or, cut short, it may
        if truncated:
            return Verdict(False, needs_full_title=True, reason="truncated after the report name")
        return Verdict(False, reason=f"title goes on after the report name ({rest[:12]})")
    year = _year(head)
    if year is None:
        return Verdict(False, needs_full_title=truncated, reason="no year in title")
    agency = _agency(head)
    return Verdict(True, year=year, agency=agency, agency_kind=agency_kind(agency, county))


def _could_continue(text: str) -> bool:
    """A title cut short with a year in it may still be a report: recall first, the page decides."""
    return bool(_YEAR.search(text)) and not _ABOUT.search(text)


def _year(prefix: str) -> int | None:
    """The report's year: the last year named before the report name (``2022年…2021年度`` → 2021)."""
    years = _YEAR.findall(prefix)
    return int(years[-1]) if years else None


def _agency(prefix: str) -> str | None:
    """The publisher, from what stands around the year: ``万载县教育体育局2023年`` or ``2022年万载县财政局``."""
    pieces = [re.sub(r"^度|^关于|关于$|的$", "", p.strip(_QUOTES + "（）:：-—_ ")) for p in _YEAR.split(prefix)[::2]]
    pieces = [p for p in pieces if p]
    return pieces[0] if pieces else None


def agency_kind(agency: str | None, county: str | None) -> str | None:
    if not agency:
        return None
    if _TOWNSHIP.search(agency):
        return "township"
    if county and agency.startswith(county):
        return "county" if agency[len(county):] in {"", "人民政府", "政府"} else "department"
    if _COUNTY.search(agency) and not _NOT_COUNTY.search(agency):
        return "county"
    return "department"
