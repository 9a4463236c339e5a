"""The report's year and agency, read from the document itself (its title, first lines, compiler's sentence).

Why not the portal's listing title: the judge already has that; the dataset wants what the report says of itself,
so a listing that mislabels a report does not mislabel its numbers.
"""

from __future__ import annotations

import re
import unicodedata

from parsing.document import Document
from parsing.template.stream import tokens

#: Paragraphs the title may run over (a title is often broken over two or three lines).
TITLE_LINES = 4
_TITLE = re.compile(r"^(?P<agency>.{2,40}?)?(?P<year>(?:19|20)\d{2})年度?(?:政府信息公开|政务公开|信息公开)")
_YEAR_ANYWHERE = (
    re.compile(r"统计期限(?:为|是)?自?(?P<year>(?:19|20)\d{2})年1月1日"),
    re.compile(r"(?P<year>(?:19|20)\d{2})年度?(?:政府信息公开|政务公开)(?:工作)?(?:年度)?报告"),
)
_COMPILER = re.compile(r"本(?:年度)?报告由(?P<agency>.{2,30}?)(?:根据|依据|按照|编制|负责|结合)")
_AGENCY_END = re.compile(r"(?:人民政府|办公室|政府|委员会|局|厅|委|办|院|所|中心|街道办事处|街道|乡|镇|处|队|站|会)$")


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _head(document: Document) -> str:
    lines = [_flat(p) for p in tokens(document) if p.strip()]
    return "".join(lines[:TITLE_LINES])


def read_year(document: Document) -> int | None:
    title = _TITLE.search(_head(document))
    if title:
        return int(title["year"])
    text = _flat(document.text)
    for pattern in _YEAR_ANYWHERE:
        match = pattern.search(text)
        if match:
            return int(match["year"])
    return None


def read_agency(document: Document) -> str | None:
    """The agency the title names (淮安市洪泽区人民政府), else the one the report says compiled it."""
    title = _TITLE.search(_head(document))
    if title and title["agency"] and _AGENCY_END.search(title["agency"]):
        return title["agency"]
    match = _COMPILER.search(_flat(document.text))
    return match["agency"] if match else None
