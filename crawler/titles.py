"""Is a list entry an annual report, and whose, for which year? Decided from its title.

Titles vary (year first or last, 年度, （图片版）, truncated with …) and near-duplicates abound
(the report's 解读, the 公开指南, 工作要点, 政府工作报告, notices about compiling the report),
so a title is accepted only when it names the report itself and nothing about it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

#: What the report itself is called; 政务公开 appears in some county titles too.
_REPORT = re.compile(r"(政府信息公开|政务信息公开|信息公开|政务公开)(工作)?(年度)?(工作)?(年度报告|年报)")
#: Words that make a title about a report rather than the report.
_ABOUT = re.compile(
    r"解读|图解|图说|一图|读懂|指南|要点|通知|编制|发布工作|报送|提交|督查|考核|评估|评议|目录|说明|意见|"
    r"方案|公示|征求|统计表|情况的报告|工作总结|问答|视频|H5|更正"
)
_TRUNCATED = re.compile(r"(…|\.\.\.|。。。)$")
_YEAR = re.compile(r"(?<!\d)(19[89]\d|20[0-4]\d)\s*年")
_VARIANT = re.compile(r"[（(][^（()）]*(版|附件|全文|修订|更新)[)）]$")
_QUOTES = "《》“”\"'「」"
_TOWNSHIP = re.compile(r"(乡|镇|街道|街道办事处|苏木|民族乡)(人民政府|办事处)?$")
_COUNTY = re.compile(r"(县|区|市|旗|自治县|自治旗|特区|林区)((人民)?政府)?$")


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
    title = title.replace("(", "（").replace(")", "）")
    return re.sub(r"\s+", "", title)


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
    about = _ABOUT.search(text)
    if about:
        return Verdict(False, reason=f"about a report ({about.group()})")
    rest = text[match.end():]
    rest = _VARIANT.sub("", rest).strip(_QUOTES + "（）")
    if rest and not truncated:
        return Verdict(False, reason=f"title goes on after the report name ({rest[:12]})")
    year = _year(text[: match.start()])
    if year is None:
        return Verdict(False, needs_full_title=truncated, reason="no year in title")
    agency = _agency(text[: match.start()])
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
    prefix = re.sub(r"^关于", "", prefix)
    pieces = [p.strip(_QUOTES + "（）:：-—_ ") for p in _YEAR.split(prefix)[::2]]
    pieces = [re.sub(r"^度", "", p) for p in pieces]
    pieces = [p for p in pieces if p and p not in {"度", "的"}]
    return pieces[0] if pieces else None


def agency_kind(agency: str | None, county: str | None) -> str | None:
    if not agency:
        return None
    if _TOWNSHIP.search(agency):
        return "township"
    if _COUNTY.search(agency) and (county is None or agency.startswith(county) or len(agency) <= 8):
        return "county"
    return "department"
