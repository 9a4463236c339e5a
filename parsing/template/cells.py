"""One printed cell → a Cell: the number, the exact mark, or None for blank; anything else is not a value.

Why a sentinel and not None: None means "blank cell" (a fact about the report), while ``TEXT`` means "this is a
label or a heading, not a cell of the table" — the readers need to tell the two apart to find where rows begin.

Why whitespace inside a cell is kept: readers put a space or a line break between figures that share a cell
("12 34", "3\\n4"), so joining them would make one wrong number. Such a cell is a value as printed (a str): it
holds its place in the row, and a check that needs it says it could not use it.
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
#: A thousands separator with a space beside it ("3, 119"): a typesetting of one number, not two numbers.
_SEPARATOR = re.compile(r"(?<=\d)\s*,\s*(?=\d{3}\b)")
#: Figures and signs split by whitespace ("12 34", "- 5"): printed as it is, never joined into one number.
_SPLIT_FIGURES = re.compile(r"[+\-]?\s*\d[\d,.]*(?:\s+[+\-]?\s*\d[\d,.]*)*")


def parse_cell(text: str | None) -> Cell | object:
    """The Cell a printed cell holds, or ``TEXT`` when it holds words (a label, a header)."""
    if text is None:
        return None
    raw = text.strip().strip("\u200b\ufeff").strip()
    if not raw:
        return None
    flat = _SEPARATOR.sub(",", unicodedata.normalize("NFKC", raw).replace("，", ","))
    if _NUMBER.fullmatch(flat):
        plain = flat.replace(",", "")
        return float(plain) if "." in plain else int(plain)
    if _MARK.fullmatch(re.sub(r"\s+", "", flat)):
        return re.sub(r"\s+", "", raw)
    if re.search(r"\s", flat) and _SPLIT_FIGURES.fullmatch(flat):
        return raw
    return TEXT


def is_value(parsed: Cell | object) -> bool:
    """A printed value (number, mark, or figures as printed), not a blank and not text."""
    return parsed is not None and parsed is not TEXT


def is_number(value: Cell | object) -> bool:
    """A number a check can add (a bool is no count)."""
    return isinstance(value, int | float) and not isinstance(value, bool)
