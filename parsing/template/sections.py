"""The six sections, found by what their headings say rather than by their numbers.

Numbering varies (一、 / 1、 / none at all, and the 2019 format's reports often have a seventh heading such as
二、主要采取的措施): a heading that names no template section continues the section before it.
"""

from __future__ import annotations

import re

from parsing.document import Document, Table
from parsing.reading import SECTIONS
from parsing.template.keys import normalise_label

#: Longest heading line: longer lines are sentences that mention a section (本报告分为总体情况、…).
MAX_HEADING = 40
_MEANINGS = {
    "overview": r"总体情况",
    "proactive": r"主动公开政府信息|主动信息公开",
    "requests": r"收到和处理政府信息公开申请",
    "review_litigation": r"行政复议.{0,2}行政诉讼",
    "problems": r"存在的主要问题",
    "other": r"其他需要报告的事项",
}
HEADINGS = {key: re.compile(pattern) for key, pattern in _MEANINGS.items()}


def heading(line: str) -> str | None:
    """The section a heading line opens, or None."""
    text = normalise_label(line)
    if len(text) > MAX_HEADING or text.startswith("("):  # (一)… is a subheading inside a section
        return None
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
