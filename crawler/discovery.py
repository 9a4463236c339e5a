"""Finding a site's annual-report lists: from its home page (sites with no ``report_lists``), and below each column.

Portals put the reports in a column of their 政府信息公开 / 政务公开 section (政府信息公开年报,
信息公开年报, 年度报告 …), often split into sub-columns per year (2023年度) or per agency (部门,
乡镇街道, 教育体育局) whose paths say nothing (``2024n78/`` holds 2025's reports): a sub-column is
judged by its link text and by standing under the column (or beside it, as Hanweb's ``/col/colN/``
do). Link texts decide; near names (政府工作报告, 指南, 解读) do not count. Annual-report modules
(Hanweb's ``xxgkAnnualReport.jsp``, Anhui's ``/OpennessAnnualReport/``) are lists whatever their text.
"""

from __future__ import annotations

import posixpath
import re
from urllib.parse import urlsplit

from scrapy.http import TextResponse

from crawler.listings.base import anchors
from crawler.titles import classify

_SECTION = re.compile(r"^(政府信息公开|政务信息公开|政务公开|信息公开)(目录|专栏|平台)?$")
_COLUMN = re.compile(r"(信息公开|政务公开)?(工作)?(年度报告|年报)$")
_NOT_COLUMN = re.compile(r"政府工作报告|解读|指南|要点|统计")
#: A year (2024, 2024年度, 2024年报), a kind of agency (部门, 乡镇街道, 本级), or an agency's name (教育体育局)
#: Per-year and per-kind sub-columns: short names (a news headline that mentions 街道 is not one).
_SUB_COLUMN = re.compile(r"^\d{4}\s*(年度?)?(年报|报告|年度报告)?$"
                         r"|^[^，。、]{0,6}(部门|乡镇|街道|县直|单位|区直|市直|本级)[^，。、]{0,6}$")
_AGENCY_ENDS = "局|委|委员会|办|办公室|中心|院|政府|乡|镇|街道|办事处|部|所|站|队|处|署|馆|厅|县|区|旗"
_AGENCY = re.compile(rf"^\D{{1,24}}?({_AGENCY_ENDS})$")
#: Near names a sub-column may not have (统计局 is an agency; 统计年报 is not this report).
_NOT_SUB_COLUMN = re.compile(r"政府工作报告|解读|指南|要点|统计(公报|年报|数据|信息|年鉴)")
#: Annual-report modules: one list per agency (and year), linked by the agency's name alone.
_MODULE = re.compile(r"/module/xxgk/xxgkannualreport\.jsp$|/(opennessannualreport|xxgkannualreport)"
                     r"(/(index|list)[^/]*)?/?$", re.I)


def sections(response: TextResponse) -> list[str]:
    """Links to the disclosure section (where the annual-report column usually is)."""
    return list(dict.fromkeys(e.url for e in anchors(response.selector, response) if _SECTION.match(e.title)))


def report_columns(response: TextResponse) -> list[str]:
    """Links to annual-report columns (年度报告, 政府信息公开年报 …)."""
    return list(dict.fromkeys(e.url for e in anchors(response.selector, response)
                              if _COLUMN.search(e.title) and not _NOT_COLUMN.search(e.title) and e.url != response.url))


def sub_columns(response: TextResponse) -> list[str]:
    """Sub-columns of an annual-report column: per year or agency, under (or beside) it, and its modules.

    The column's own directory holds its pages and articles, so a sub-column is in another
    directory below the column's parent; a link named like a report is an entry, not a column.
    """
    here = urlsplit(response.url)
    base = posixpath.dirname(here.path).rstrip("/") + "/"
    parent = posixpath.dirname(base.rstrip("/")).rstrip("/") + "/"
    found = []
    for entry in anchors(response.selector, response):
        parts = urlsplit(entry.url)
        if parts.netloc != here.netloc or entry.url == response.url:
            continue
        beside = parts.path.startswith(parent) and posixpath.dirname(parts.path).rstrip("/") + "/" != base
        if _MODULE.search(parts.path) or (beside and _is_sub_column(entry.title)):
            found.append(entry.url)
    return list(dict.fromkeys(found))


def _is_sub_column(text: str) -> bool:
    text = text.strip()
    if _NOT_SUB_COLUMN.search(text) or not (_SUB_COLUMN.search(text) or _AGENCY.match(text)):
        return False
    return not classify(text).worth_fetching  # what the spider fetches as a report is an entry
