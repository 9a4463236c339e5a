"""Grids → template rows: rows are found by their labels, columns by their headers, never by counting.

A grid keeps the blanks where they were, so a missing cell stays missing instead of pulling the next number into
its place — the failure the issue warns about. Column positions come from the applicant headers (自然人 … 总计);
a grid without them (a text extractor's tab layout, a table whose header is on another page of another width) is
read in order, and a short row is then said so in the notes.
"""

from __future__ import annotations

from collections.abc import Sequence

from parsing.document import Table
from parsing.reading import Cell
from parsing.template.cells import TEXT, is_value, parse_cell
from parsing.template.found import Found
from parsing.template.keys import (
    APPLICANT_COLUMNS,
    REVIEW_BLOCKS,
    REVIEW_COLUMNS,
    REVIEW_HEADER,
    applicant_column,
    application_row,
    art20_item,
    normalise_label,
)

#: Longer than any template label: a cell this long is a paragraph that happens to sit in a table.
MAX_LABEL = 80
REVIEW_WIDTH = len(REVIEW_BLOCKS) * len(REVIEW_COLUMNS)


def is_grid(table: Table) -> bool:
    """A real grid; a "table" with at most one filled cell a row is linear text (stream.py reads it)."""
    return any(sum(1 for c in row if c and c.strip()) >= 2 for row in table.rows)


def _source(tables: Sequence[Table], first: tuple[int, int], last: tuple[int, int]) -> dict:
    used = tables[first[0] : last[0] + 1]
    wheres = list(dict.fromkeys(t.where for t in used))
    pages = sorted({p for t in used for p in t.pages})
    return {"where": " + ".join(wheres), "pages": pages, "rows": [first[1], last[1]]}


def _label(parsed: list[Cell | object], row: list[str]) -> tuple[int, bool, str | None]:
    """(index of the label cell, matched, key): the rightmost text cell that is an application label, since the
    cells to its left are the group headings a merged grid repeats (三、本年度办理结果 | (三)不予公开 | 1.…)."""
    for j in range(len(row) - 1, -1, -1):
        if parsed[j] is TEXT and len(normalise_label(row[j])) <= MAX_LABEL:
            matched, key = application_row(row[j])
            if matched:
                return j, True, key
    return -1, False, None


def _header(rows: list[list[str]], upto: int) -> dict[str, int]:
    """Applicant column → its grid index, from the header rows above the first data row (leftmost wins, so a
    merged header repeated across columns still names the right one)."""
    positions: dict[str, int] = {}
    for row in rows[:upto]:
        for j, cell in enumerate(row):
            column = applicant_column(cell or "")
            if column and column not in positions:
                positions[column] = j
    return positions if len(positions) == len(APPLICANT_COLUMNS) else {}


def _shifted(header: dict[str, int], by: int) -> dict[str, int]:
    """The header of a table continued in a grid `by` columns wider or narrower: the applicant columns are the
    rightmost in both, only the label columns differ (a page's part lacks the group heading's merged column)."""
    shifted = {column: j + by for column, j in header.items()}
    return shifted if min(shifted.values()) > 0 else {}


def _place(values: list[tuple[int, Cell]], header: dict[str, int]) -> tuple[list[Cell], bool]:
    """A row's values under the seven columns: by header position when there is one; (cells, read_in_order)."""
    width = len(APPLICANT_COLUMNS)
    if header and len(values) < width:
        by_index = {j: col for col, j in header.items()}
        last = max(by_index)
        placed: dict[str, Cell] = {}
        for j, value in values:
            # Past the header's right edge is the total column: text extractors pad a row by its label's merge.
            column = by_index.get(j) or ("total" if j > last else None)
            if column is None or column in placed:
                break
            placed[column] = value
        else:
            return [placed.get(col) for col in APPLICANT_COLUMNS], False
    cells: list[Cell] = [v for _, v in values[:width]]
    return cells + [None] * (width - len(cells)), True


def read_applications(tables: Sequence[Table]) -> Found:
    found = Found()
    first = last = None
    header: dict[str, int] = {}
    width = -1
    for t, table in enumerate(tables):
        parsed_rows = [[parse_cell(c) for c in row] for row in table.rows]
        labels = [_label(p, [c or "" for c in row]) for p, row in zip(parsed_rows, table.rows, strict=True)]
        data = [i for i, (_, matched, key) in enumerate(labels) if matched and key]
        if first is None:  # the table begins at 本年新收: above it, 总计 and 其他 are column names, prose is prose
            data = [i for i in data if i >= next((i for i in data if labels[i][2] == "new"), len(labels))]
        if "carried_forward" in found.rows:
            break
        if not data:
            continue
        own = _header(table.rows, data[0])
        if own:
            header, width = own, len(table.rows[0])
        elif header and width != len(table.rows[0]):
            header, width = _shifted(header, len(table.rows[0]) - width), len(table.rows[0])
        for i in data:
            if "carried_forward" in found.rows:
                break  # the table's last row: what follows is another table or prose
            at, _, key = labels[i]
            row = table.rows[i]
            values = [(j, parsed_rows[i][j]) for j in range(at + 1, len(row)) if is_value(parsed_rows[i][j])]
            if key == "other" and not values:
                continue  # the 2021 format's (六) heading; its three rows follow
            if key in found.rows:
                if values:
                    found.notes.append(f"applications.{key}: printed twice, the second ({table.where}) ignored")
                continue
            cells, in_order = _place(values, header)
            if in_order and len(values) < len(APPLICANT_COLUMNS) and values:
                found.notes.append(
                    f"applications.{key}: {len(values)} values for {len(APPLICANT_COLUMNS)} columns, read in order"
                )
            found.rows[key] = cells
            first = first or (t, i)
            last = (t, i)
    if first and last:
        found.source = _source(tables, first, last)
    return found


def read_review(tables: Sequence[Table]) -> Found:
    """The review/litigation table: the first row under the 行政复议 header that holds no words."""
    found = Found()
    for t, table in enumerate(tables):
        heads = [i for i, row in enumerate(table.rows)
                 if any(REVIEW_HEADER.match(normalise_label(c or "")) for c in row)]
        if not heads:
            continue
        for i in range(heads[0] + 1, len(table.rows)):
            row = table.rows[i]
            parsed = [parse_cell(c) for c in row]
            if any(p is TEXT for p in parsed):
                continue
            if len(row) >= REVIEW_WIDTH:
                cells = list(parsed[len(row) - REVIEW_WIDTH :])
            else:
                cells = [p for p in parsed if is_value(p)]
                found.notes.append(f"review: a {len(row)}-column grid, its {len(cells)} values read in order")
                cells += [None] * (REVIEW_WIDTH - len(cells))
            found.rows["review"] = cells
            found.source = _source(tables, (t, i), (t, i))
            return found
    return found


def read_art20(tables: Sequence[Table], items: dict[str, tuple[str, ...]]) -> Found:
    """Art. 20 rows: a label cell (规章, 行政许可 …), then its columns by position after the label — a value merged
    across the remaining columns (python-docx repeats it) is read once."""
    found = Found()
    first = last = None
    for t, table in enumerate(tables):
        for i, row in enumerate(table.rows):
            cells = [c or "" for c in row]
            filled = [j for j, c in enumerate(cells) if c.strip()]
            if not filled:
                continue
            item = art20_item(cells[filled[0]])
            if item is None or item not in items or item in found.rows:
                continue
            at = filled[0]
            while at + 1 < len(cells) and normalise_label(cells[at + 1]) == normalise_label(cells[filled[0]]):
                at += 1
            parsed = [parse_cell(c) for c in cells[at + 1 : at + 1 + len(items[item])]]
            values: list[Cell] = [None if p is TEXT else p for p in parsed]  # type: ignore[misc]
            found.rows[item] = values + [None] * (len(items[item]) - len(values))
            first = first or (t, i)
            last = (t, i)
    if first and last:
        found.source = _source(tables, first, last)
    return found
