"""The CLI's plain-text tables, aligned by display width: a Chinese character takes two terminal columns.

``str.ljust`` counts characters, so 万载县 (6 columns on screen) would be padded as if it took 3 and every
column after it would slip. Widths here are ``wcwidth``'s, as a terminal draws them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from wcwidth import wcswidth


@dataclass
class Column:
    header: str
    #: The column's width when rows stream through (``fit=False``); a fitted table widens it to its widest cell.
    width: int = 0
    right: bool = False  # numbers


def width(text: str) -> int:
    """Terminal columns ``text`` takes; a character wcwidth cannot measure (a control character) counts as one."""
    measured = wcswidth(text)
    return measured if measured >= 0 else sum(max(wcswidth(c), 1) for c in text)


def _pad(text: str, size: int, right: bool) -> str:
    gap = " " * max(0, size - width(text))
    return gap + text if right else text + gap


def table(columns: Sequence[Column], rows: Iterable[Sequence[object]], *, fit: bool = True,
          gap: str = "  ") -> Iterator[str]:
    """A header line and one line per row; nothing at all when there are no rows (an empty answer stays empty).

    With ``fit`` every column is as wide as its widest cell, so the rows are read first; without, rows stream
    through at the columns' widths (for listings too long to hold) and a wider cell pushes the rest of its line
    along. The last column is never padded: a line has no trailing blanks.
    """
    cells = ([("" if v is None else str(v)) for v in row] for row in rows)
    widths = [max(c.width, width(c.header)) for c in columns]
    if fit:
        cells = list(cells)  # type: ignore[assignment]
        for row in cells:
            widths = [max(w, width(v)) for w, v in zip(widths, row, strict=True)]

    def line(values: Sequence[str]) -> str:
        padded = [_pad(v, w, c.right) for v, w, c in zip(values[:-1], widths, columns, strict=False)]
        last = _pad(values[-1], widths[-1], True) if columns[-1].right else values[-1]
        return gap.join([*padded, last])

    header = [c.header for c in columns]
    for i, row in enumerate(cells):
        if i == 0:
            yield line(header)
        yield line(row)
