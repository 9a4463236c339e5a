"""The report's year and agency, read from the document itself (its title, first lines, compiler's sentence).

Why not the portal's listing title: the judge already has that; the dataset wants what the report says of itself,
so a listing that mislabels a report does not mislabel its numbers.
"""

from __future__ import annotations

import re
import unicodedata

from parsing.document import Document, Table
from parsing.template.stream import tokens
from parsing.template.tables import is_grid

#: Paragraphs the title may run over (a title is often broken over two or three lines).
TITLE_LINES = 4
#: An agency's name holds no sentence punctuation: a match running past the title into its first sentence is none.
_NAME = r"[^，,。；;：:《》（）()、]"
_YEAR = r"(?P<year>(?:19|20)\d{2})年度?"
_REPORT = r"(?:政府信息公开|政务公开|信息公开)"
_TITLE = re.compile(rf"^(?P<agency>{_NAME}{{2,40}}?)?{_YEAR}{_REPORT}")
#: "2021年长城镇人民政府政府信息公开工作年度报告": the year first, then the agency.
_YEAR_FIRST = re.compile(rf"^{_YEAR}(?P<agency>{_NAME}{{2,40}}?){_REPORT}")
#: The year the report covers, said anywhere in it: its 统计期限 (自2021年1月1日起至2021年12月31日止, 为2021年1月1日至
#: 12月31日, 为2021年度), then a report's name after its year. Shared with crawler.judge, which reads the same text.
PERIODS = (
    re.compile(r"(?P<year>(?:19|20)\d{2})年1月1日(?:起)?(?:至|到|—|–|-|~|～)(?:(?:19|20)\d{2}年)?12月31日"),
    re.compile(r"统计期限(?:为|是)?(?:自|从)?(?P<year>(?:19|20)\d{2})年(?:度|1月1日)"),
)
REPORT_YEAR = re.compile(rf"(?P<year>(?:19|20)\d{{2}})年度?{_REPORT}(?:工作)?(?:年度)?(?:报告|年报)")
_YEAR_ANYWHERE = (*PERIODS, REPORT_YEAR)
#: 本报告由…编制, and its longer form 本报告根据《条例》…要求，由…编制: the agency that compiled the report.
COMPILER = re.compile(
    r"本(?:年度)?报告.{0,160}?由(?P<agency>[^，,。、《》()（）]{2,30}?)(?:根据|依据|按照|结合|编制|负责)"
)
_AGENCY_END = re.compile(
    r"(?:人民政府|办公室|政府|委员会|局|厅|委|办|院|所|中心|街道办事处|街道|乡|镇|处|队|站|会|县|市|区|旗|盟|州)$"
)


def _flat(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def _head(document: Document) -> str:
    lines = [_flat(p) for p in [*_title_rows(document), *tokens(document)] if p.strip()]
    return "".join(lines[:TITLE_LINES])


def _title_rows(document: Document) -> list[str]:
    """A workbook's title: the rows merged across the first grid before its first row of several cells —
    when the document starts with that grid (a sheet has no paragraphs)."""
    if not document.blocks or not isinstance(document.blocks[0], Table) or not is_grid(document.blocks[0]):
        return []
    rows = []
    for row in document.blocks[0].rows:
        texts = {c.strip() for c in row if c and c.strip()}
        if len(texts) > 1:
            break
        rows.extend(texts)
    return rows


def _title(document: Document) -> re.Match[str] | None:
    head = _head(document)
    return _YEAR_FIRST.search(head) or _TITLE.search(head)


def read_year(document: Document) -> int | None:
    title = _title(document)
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
    title = _title(document)
    if title and title["agency"] and _AGENCY_END.search(title["agency"]):
        return title["agency"]
    match = COMPILER.search(_flat(document.text))
    return match["agency"] if match else None
