"""One printed cell → a Cell: the number, the exact mark, or None for blank; anything else is not a value.

Why a sentinel and not None: None means "blank cell" (a fact about the report), while ``TEXT`` means "this is a
label or a heading, not a cell of the table" — the readers need to tell the two apart to find where rows begin.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from parsing.reading import Cell

TEXT: Final = object()

_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")
#: Marks reports print in a cell instead of a number: slashes, dashes of every width, 无.
_MARK = re.compile(r"[/\\\-－—–―‐ー一×]+|无")


def parse_cell(text: str | None) -> Cell | object:
    """The Cell a printed cell holds, or ``TEXT`` when it holds words (a label, a header)."""
    if text is None:
        return None
    raw = text.strip().strip("\u200b\ufeff")
    if not raw:
        return None
    flat = re.sub(r"\s+", "", unicodedata.normalize("NFKC", raw)).replace("，", ",")
    if _NUMBER.fullmatch(flat):
        plain = flat.replace(",", "")
        return float(plain) if "." in plain else int(plain)
    if _MARK.fullmatch(flat):
        return re.sub(r"\s+", "", raw)
    return TEXT


def is_value(parsed: Cell | object) -> bool:
    """A printed value (number or mark), not a blank and not text."""
    return parsed is not None and parsed is not TEXT
