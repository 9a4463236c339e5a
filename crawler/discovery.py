"""Finding a site's annual-report lists from its home page, for sites with no ``report_lists``.

Portals put the reports in a column of their 政府信息公开 / 政务公开 section (政府信息公开年报,
信息公开年报, 年度报告 …), often split into sub-columns per year (2023年度) or per kind of
agency (部门, 乡镇街道). Link texts decide; near names (政府工作报告, 指南, 解读) do not count.
"""

from __future__ import annotations

import posixpath
import re
from urllib.parse import urlsplit

from scrapy.http import TextResponse

from crawler.listings.base import anchors

_SECTION = re.compile(r"^(政府信息公开|政务信息公开|政务公开|信息公开)(目录|专栏|平台)?$")
_COLUMN = re.compile(r"(信息公开|政务公开)?(工作)?(年度报告|年报)$")
_NOT_COLUMN = re.compile(r"政府工作报告|解读|指南|要点|统计")
_SUB_COLUMN = re.compile(r"^(\d{4}\s*年度?|\d{4})$|部门|乡镇|街道|县直|单位|区直|市直")


def sections(response: TextResponse) -> list[str]:
    """Links to the disclosure section (where the annual-report column usually is)."""
    return list(dict.fromkeys(e.url for e in anchors(response.selector, response) if _SECTION.match(e.title)))


def report_columns(response: TextResponse) -> list[str]:
    """Links to annual-report columns (年度报告, 政府信息公开年报 …)."""
    return list(dict.fromkeys(e.url for e in anchors(response.selector, response)
                              if _COLUMN.search(e.title) and not _NOT_COLUMN.search(e.title) and e.url != response.url))


def sub_columns(response: TextResponse) -> list[str]:
    """Sub-columns of an annual-report column: per year, per kind of agency, below its own path."""
    here = urlsplit(response.url)
    base = posixpath.dirname(here.path).rstrip("/") + "/"
    found = []
    for entry in anchors(response.selector, response):
        url, text = entry.url, entry.title
        parts = urlsplit(url)
        if parts.netloc == here.netloc and parts.path.startswith(base) \
                and posixpath.dirname(parts.path).rstrip("/") + "/" != base and _SUB_COLUMN.search(text):
            found.append(url)
    return list(dict.fromkeys(found))
