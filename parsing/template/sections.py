"""The six sections, found by what their headings say rather than by their numbers.

Numbering varies (一、 / 1、 / none at all, and the 2019 format's reports often have a seventh heading such as
二、主要采取的措施): a heading that names no template section continues the section before it.
"""

from __future__ import annotations

import re
import unicodedata

from parsing.document import Document, Table
from parsing.reading import SECTIONS
from parsing.template.keys import normalise_label

#: Longest heading line: longer lines are sentences that mention a section (本报告分为总体情况、…).
MAX_HEADING = 40
#: What a heading says, worded as the 2019/2021 template, the 2008 outline (概述, 依申请公开) and portals' rewordings
#: print it. Specific enough for running text: crawler.judge counts them in a whole document as its markers. A
#: phrase too common in prose to mark a section alone (行政复议、行政诉讼; 存在的问题) counts after what it follows
#: in a heading (信息公开…, …及改进), or at the very start of the text — which a heading line is.
_AT_START = r"^(?:第?[一二三四五六七八九十\d]{1,2}[、.]?)?"
_MEANINGS = {
    "overview": r"总体情况|概述",
    "proactive": r"主动公开(?:政府)?信息的?(?:工作)?情况|主动信息公开(?:工作)?情况",
    "requests": r"收到(?:和|及|与|并)处理(?:政府信息)?公开申请|依申请公开(?:政府信息)?的?(?:工作)?情况",
    "review_litigation": rf"(?:信息公开(?:申请)?(?:提起)?|{_AT_START})(?:行政)?复议.{{0,3}}(?:提起)?行政诉讼",
    "problems": rf"存在的?(?:主要)?问题(?:及|和|与)(?:改进|整改)|{_AT_START}(?:工作中)?存在的?(?:主要)?问题",
    "other": r"其[他它]需要报告的(?:事项|情况)",
}
HEADINGS = {key: re.compile(pattern) for key, pattern in _MEANINGS.items()}


def heading(line: str) -> str | None:
    """The section a heading line opens, or None."""
    text = normalise_label(line)
    if len(text) > MAX_HEADING or unicodedata.normalize("NFKC", line).lstrip().startswith("("):
        return None  # (一)… or (1)… is a subheading inside a section
    for key, pattern in HEADINGS.items():
        if pattern.search(text):
            return key
    return None


def read_sections(document: Document) -> dict[str, str]:
    """SECTIONS → their text ("" for a section the document lacks); each heading counts once. A table is part of
    its section's text, a row a line: 二、三、四 are often nothing but their tables, and are there all the same."""
    texts: dict[str, list[str]] = {key: [] for key in SECTIONS}
    current: str | None = None
    for block in document.blocks:
        if isinstance(block, Table):
            if current is not None:
                texts[current].extend(_rows(block))
            continue
        key = heading(block)
        if key is not None and not texts[key] and key != current:
            current = key
            continue
        if current is not None:
            texts[current].append(block)
    return {key: "\n".join(lines) for key, lines in texts.items()}


def _rows(table: Table) -> list[str]:
    """A table's rows as lines, cells tab-separated, a merged cell once (the grid repeats it where it spans)."""
    lines = []
    for row in table.rows:
        cells = [c.strip() for c in row]
        kept = [c for j, c in enumerate(cells) if c and (j == 0 or c != cells[j - 1])]
        if kept:
            lines.append("\t".join(kept))
    return lines
