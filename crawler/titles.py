"""Is a title an annual report's, and whose, for which year? The title half of crawler.judge.

Recall first: real titles put the year anywhere (or nowhere: the page has it), write it without
年, in traditional script, with the site's name or a column name as a tail, in short forms
(``2020年报_审计局``). So the title is folded (NFKC, traditional → simplified by OpenCC, no
spaces), its years are lifted out wherever they stand, and what is left must name the report:
信息公开 … 报告/年报. Near-misses name it too (its 解读, the notice about compiling it, the
格式(试行), news that a province 发布 its report), so words about a report exclude a title.
A title that names the report loosely (the report name, then words we cannot place) is only a
candidate: the document decides (crawler.judge).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

from opencc import OpenCC

#: What the report itself is called, once its years are lifted out (older ones: …工作报告).
_REPORT = re.compile(
    r"(政府|政务)?信息公开(工作)?(年度)?(工作)?(情况)?的?(年度报告|年报|年度工作报告|工作报告|报告)|政务公开(工作)?(年度报告|年报)"
)
#: A loose naming of the report, in any order: enough to look at the document.
_LOOSE = re.compile(r"(信息公开|政务公开).*(报告|年报)|(报告|年报).*(信息公开|政务公开)")
#: Words that make a title about a report (or something else) rather than the report.
_ABOUT = re.compile(
    r"解读|图解|图说|一图|读懂|指南|要点|通知|编制|发布|报送|提交|督查|考核|考评|评估|评议|目录|说明|意见|"
    r"方案|公示|征求|统计表|报表|工作总结|自查|问答|视频|汇总|制度|格式|试行|规定|办法|细则|规范|机制|的函|解释|填报|"
    r"培训|会议|推进会|召开|通报|抽查|检查|测评|排名|整改|政府工作报告|预算|决算|统计公报|审计工作报告"
)
#: Agencies whose names contain those words (every county has a 编办).
_AGENCY_WORDS = re.compile(
    r"机构编制委员会|编制委员会|编委办|督查室|督查局|考核办|考评办|评估中心|新闻发布中心|政府工作部门")
_TRUNCATED = re.compile(r"(…|\.\.\.|。。。)$")
_DIGIT_YEAR = r"(?<![\d.])((?:19[89]|20[0-4])\d)(?![\d.])"
#: A year as titles write it, lifted out with its 年 / 年度 (but not the 年 of 年报).
_YEAR = re.compile(_DIGIT_YEAR + r"(年度|年(?!报)|度)?")
_CN_YEAR = re.compile(r"([一二][〇零○O一二三四五六七八九]{3})(年度|年(?!报))")
_CN_DIGITS = str.maketrans("〇零○O一二三四五六七八九", "000012345678" + "9")
#: What list templates put after the title: a date, a file type.
_TRAILER = re.compile(r"(（?\d{4}[-./年]\d{1,2}[-./月]\d{1,2}日?）?|\.(pdf|docx?|wps|ofd|xlsx?)|（(pdf|PDF)）)$")
_SEPARATORS = re.compile(r"\s*[-_|—–]+\s*")
_BRACKETS = {"(": "（", ")": "）", "[": "（", "]": "）", "【": "（", "】": "）", "〔": "（", "〕": "）"}
_QUOTES = "《》“”\"'「」〈〉"
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
    #: Names the report loosely (no template to the wording): the document decides.
    candidate: bool = False
    #: About a report, or something else that names one (解读, 指南, a notice): whatever its document quotes.
    excluded: bool = False

    @property
    def worth_fetching(self) -> bool:
        return self.is_report or self.needs_full_title or self.candidate


@cache
def _t2s() -> OpenCC:
    return OpenCC("t2s")  # its dictionaries ship in the wheel: nothing is downloaded


def normalize(title: str) -> str:
    """NFKC (full-width digits and brackets), simplified script, no spaces, no list trailers."""
    title = unicodedata.normalize("NFKC", title or "")
    for bracket, full_width in _BRACKETS.items():  # str.translate looks up every character: 50× slower on a page
        if bracket in title:
            title = title.replace(bracket, full_width)
    title = _t2s().convert(re.sub(r"\s+", "", title))
    while (trimmed := _TRAILER.sub("", title)) != title:
        title = trimmed
    return title


def is_truncated(title: str) -> bool:
    return bool(_TRUNCATED.search(normalize(title)))


def years_in(text: str) -> list[tuple[int, int, int]]:
    """Every year a text names, as (year, start, end): ``2021年度``, ``2014`` before 政府, ``二〇二三年``."""
    found = [(int(m[1]), m.start(), m.end()) for m in _YEAR.finditer(text)]
    found += [(int(m[1].translate(_CN_DIGITS)), m.start(), m.end()) for m in _CN_YEAR.finditer(text)]
    return sorted(y for y in found if 1980 <= y[0] <= 2049)


def classify(title: str, county: str | None = None) -> Verdict:
    """Judge a title; ``county`` (e.g. 万载县) tells the county government from its departments."""
    text = normalize(title).strip(_QUOTES)
    truncated = bool(_TRUNCATED.search(text))
    if truncated:
        text = _TRUNCATED.sub("", text)
    segments = [s.strip(_QUOTES) for s in _SEPARATORS.split(text) if s.strip(_QUOTES)]
    if not segments:
        return Verdict(False, reason="no title")
    about = _ABOUT.search(_AGENCY_WORDS.sub("", text))
    if about:
        return Verdict(False, reason=f"about a report ({about.group()})", excluded=True)
    main = next((s for s in segments if _REPORT.search(_lift_years(s)[0])), None)
    if main is None:
        return _short_or_loose(segments, text, truncated, county)
    tails = segments[segments.index(main) + 1:]
    core, years = _lift_years(main)
    match = _REPORT.search(core)
    head = core[: match.start()]
    if head.endswith("人民") and match[1] == "政府":  # 永嘉县桥下镇人民政府信息公开年度报告
        head += "政府"
    rest = core[match.end():]
    for group in re.findall(r"（([^（）]*)）", rest):  # （图片版）, （机关）, （2023年度）, （万载县教育局）
        if group and not _VARIANT_WORD.search(group) and not _agency(head):
            head = group
    rest = re.sub(r"（[^（）]*）", "", rest).strip(_QUOTES + _JUNK + "（）")
    if rest:  # the title goes on: 《…年度报告》全文, …年度报告附件 — or, cut short, it may
        if truncated:
            return Verdict(False, needs_full_title=True, reason="truncated after the report name")
        return Verdict(False, candidate=True, reason=f"title goes on after the report name ({rest[:12]})")
    before = [y for y, at in years if at <= match.end()]
    after = [y for y, at in years if at > match.end()]
    year = before[-1] if before else after[0] if after else None
    agency = _agency(head) or (_agency(tails[0]) if len(tails) == 1 else None)
    return Verdict(True, year=year, agency=agency, agency_kind=agency_kind(agency, county),
                   reason="" if year else "no year in title", needs_full_title=truncated and year is None)


#: What a bracket after the report name says of the copy (not whose it is): （图片版）, （机关）, （修订）.
_VARIANT_WORD = re.compile(r"版$|稿$|附件|全文|正文|^(机关|本级|修订|更新|图片|图文|pdf|PDF|docx?|word|Word)$")
_JUNK = ":：-—_ ，,、。"


def _lift_years(text: str) -> tuple[str, list[tuple[int, int]]]:
    """The text without its years, and each year with where it stood in what is left."""
    out, years, last = [], [], 0
    for year, start, end in years_in(text):
        if start < last:
            continue
        out.append(text[last:start])
        years.append((year, sum(map(len, out))))
        last = end
    out.append(text[last:])
    return "".join(out), years


def _short_or_loose(segments: list[str], text: str, truncated: bool, county: str | None) -> Verdict:
    """``2020年报_审计局``: the short form, its agency in another segment; else maybe a loose naming."""
    for i, segment in enumerate(segments):
        core, years = _lift_years(segment)
        if core == "年报" and years and len(segments) > 1:
            agency = _agency(segments[1 - i] if i < 2 else segments[0])
            return Verdict(True, year=years[0][0], agency=agency, agency_kind=agency_kind(agency, county))
    if _LOOSE.search(_lift_years(text)[0]):
        return Verdict(False, candidate=True, needs_full_title=truncated, reason="names the report loosely")
    if truncated and years_in(text):  # cut short with a year in it: recall first, the page decides
        return Verdict(False, needs_full_title=True, reason="truncated")
    return Verdict(False, reason="not an annual report title")


def _agency(text: str) -> str | None:
    """The publisher, from what stands before the report name once the years are out."""
    text = re.sub(r"^度|^关于|关于$|的$", "", text.strip(_QUOTES + _JUNK)).strip(_QUOTES + _JUNK)
    text = re.sub(r"^（[^（）]*）(?=.)", "", text).strip(_QUOTES + _JUNK)  # （甘霖镇）甘霖镇
    if text.startswith("（") and text.endswith("）") and text.count("（") == 1:
        text = text[1:-1]
    return text or None


#: A place name that leads an agency's name: 宜春市…, 铜鼓县…, 江西省…, 随县… (one character before 县 only:
#: 城市管理局 names no 城市).
_LEADING_PLACE = re.compile(r"^(\D{2,14}?(省|自治区|市|县|区|旗|州|盟)|\D县)")
#: … but a zone of the county's own (高新区, 工业园区) is no other place.
_ZONE = re.compile(r"(高新|合作|试验|保护|林|矿|城|社|片|辖|库|景|园|新|管理|示范|开发)区$")


def agency_kind(agency: str | None, county: str | None) -> str | None:
    """county / department / township of the site's ``county``, or ``other``: another place's agency.

    Report columns re-post the city's or a neighbour county's report; naming its place and not the
    county's, it is kept with its own agency but never counted as the county's own.
    """
    if not agency:
        return None
    if county and county not in agency and (place := _LEADING_PLACE.match(agency)) \
            and not _NOT_COUNTY.search(place[0]) and not _ZONE.search(place[0]) and not county.startswith(place[0]):
        return "other"
    if _TOWNSHIP.search(agency):
        return "township"
    if county and agency.startswith(county):
        return "county" if agency[len(county):] in {"", "人民政府", "政府"} else "department"
    if _COUNTY.search(agency) and not _NOT_COUNTY.search(agency):
        return "county"
    return "department"
