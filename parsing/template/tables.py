"""Grids → template rows: rows are found by their labels, columns by their headers, never by counting.

A grid keeps the blanks where they were, so a missing cell stays missing instead of pulling the next number into
its place — the failure the issue warns about. Column positions come from the applicant headers (自然人 … 总计);
a grid without them (a text extractor's tab layout, a table whose header is on another page of another width) is
read in order, and a short row is then said so in the notes. A header row repeated on a continuation page names
columns, not rows (its 总计 is no (七)总计), and a row printed blank gives way to the same row printed with values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from parsing.document import Table
from parsing.reading import Cell
from parsing.template.cells import TEXT, is_value, parse_cell
from parsing.template.found import Found
from parsing.template.keys import (
    APPLICANT_COLUMNS,
    ART20_HEADERS,
    REVIEW_BLOCKS,
    REVIEW_COLUMNS,
    REVIEW_HEADER,
    REVIEW_WIDTH,
    applicant_column,
    application_row,
    art20_item,
    normalise_label,
    review_block,
    review_column,
)

#: Longer than any template label: a cell this long is a paragraph that happens to sit in a table.
MAX_LABEL = 80

Parsed = Cell | object  # a Cell, or cells.TEXT


def is_grid(table: Table) -> bool:
    """A real grid; a "table" with at most one filled cell a row is linear text (stream.py reads it)."""
    return any(sum(1 for c in row if c and c.strip()) >= 2 for row in table.rows)


def _source(tables: Sequence[Table], first: tuple[int, int], last: tuple[int, int]) -> dict[str, Any]:
    used = tables[first[0] : last[0] + 1]
    wheres = list(dict.fromkeys(t.where for t in used))
    pages = sorted({p for t in used for p in t.pages})
    return {"where": " + ".join(wheres), "pages": pages, "rows": [first[1], last[1]]}


def _label(parsed: list[Parsed], row: list[str]) -> tuple[int, bool, str | None]:
    """(index of the label cell, matched, key): the rightmost text cell that is an application label, since the
    cells to its left are the group headings a merged grid repeats (三、本年度办理结果 | (三)不予公开 | 1.…)."""
    for j in range(len(row) - 1, -1, -1):
        if parsed[j] is TEXT and len(normalise_label(row[j])) <= MAX_LABEL:
            matched, key = application_row(row[j])
            if matched:
                return j, True, key
    return -1, False, None


def _is_header_row(row: list[str]) -> bool:
    """A row of applicant column names (自然人 … 总计), wherever it stands: a continuation page repeats it, and
    its 总计 is a column's name, not the (七)总计 row."""
    return len({applicant_column(c or "") for c in row} - {None}) >= 2


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


def _by_header(values: list[tuple[int, Cell]], header: dict[str, int]) -> tuple[dict[str, Cell], list[Cell]] | None:
    """(column → value, values under no column); None when two values fall under one column."""
    by_index = {j: col for col, j in header.items()}
    last = max(by_index)
    placed: dict[str, Cell] = {}
    stray: list[Cell] = []
    for j, value in values:
        # Past the header's right edge is the total column: text extractors pad a row by its label's merge.
        column = by_index.get(j) or ("total" if j > last else None)
        if column in placed:
            return None
        if column is None:
            stray.append(value)
        else:
            placed[column] = value
    return placed, stray


def _place(key: str, values: list[tuple[int, Cell]], header: dict[str, int]) -> tuple[list[Cell], list[str]]:
    """A row's values under the seven columns, and notes on what could not be placed by position.

    By header position whenever there is a header. A value under no header column is left out (and said) when the
    row has more values than columns — the header says which are the row's; with no more values than columns, the
    header does not fit this row and its values are read in order, as they are without a header."""
    width = len(APPLICANT_COLUMNS)
    by_header = _by_header(values, header) if header else None
    if by_header is not None:
        placed, stray = by_header
        if not stray or len(values) > width:
            notes = [f"applications.{key}: under no header column, left out: {', '.join(map(str, stray))}"]
            return [placed.get(col) for col in APPLICANT_COLUMNS], notes if stray else []
    notes = [f"applications.{key}: values not under the header's columns, read in order"] if header else []
    if len(values) < width and values:
        notes.append(f"applications.{key}: {len(values)} values for {width} columns, read in order")
    if len(values) > width:
        extra = ", ".join(str(v) for _, v in values[width:])
        notes.append(f"applications.{key}: {len(values)} values for {width} columns, the last left out: {extra}")
    cells: list[Cell] = [v for _, v in values[:width]]
    return cells + [None] * (width - len(cells)), notes


def read_applications(tables: Sequence[Table]) -> Found:
    found = Found()
    first = last = None
    header: dict[str, int] = {}
    width = -1
    for t, table in enumerate(tables):
        parsed_rows = [[parse_cell(c) for c in row] for row in table.rows]
        labels = [(-1, False, None) if _is_header_row(row) else _label(p, [c or "" for c in row])
                  for p, row in zip(parsed_rows, table.rows, strict=True)]
        data = [(i, at, key) for i, (at, matched, key) in enumerate(labels) if matched and key]
        if first is None:  # the table begins at 本年新收: above it, 总计 and 其他 are column names, prose is prose
            start = next((i for i, _, key in data if key == "new"), len(labels))
            data = [d for d in data if d[0] >= start]
        if "carried_forward" in found.rows:
            break
        if not data:
            continue
        own = _header(table.rows, data[0][0])
        if own:
            header, width = own, len(table.rows[0])
        elif header and width != len(table.rows[0]):
            header, width = _shifted(header, len(table.rows[0]) - width), len(table.rows[0])
        for i, at, key in data:
            if "carried_forward" in found.rows:
                break  # the table's last row: what follows is another table or prose
            row = table.rows[i]
            values = [(j, parsed_rows[i][j]) for j in range(at + 1, len(row)) if is_value(parsed_rows[i][j])]
            if key == "other" and not values:
                continue  # the 2021 format's (六) heading; its three rows follow
            if any(v is not None for v in found.rows.get(key, ())):
                if values:
                    found.notes.append(f"applications.{key}: printed twice, the second ({table.where}) ignored")
                continue
            if key in found.rows and not values:
                continue  # a row printed blank, then again: the first stands until one with values comes
            cells, notes = _place(key, values, header)  # type: ignore[arg-type]
            found.notes.extend(notes)
            found.rows[key] = cells
            first = first or (t, i)
            last = (t, i)
    if first and last:
        found.source = _source(tables, first, last)
    return found


def _review_positions(rows: list[list[str]]) -> dict[int, int]:
    """Grid index → index in the 15 review cells, from the sub-headers (行政复议 / 未经复议直接起诉 / 复议后起诉
    over 结果维持 … 总计); {} when they do not name all fifteen."""
    keys = [(b, c) for b in REVIEW_BLOCKS for c in REVIEW_COLUMNS]
    positions: dict[int, int] = {}
    for j in range(max((len(r) for r in rows), default=0)):
        column_cells = [row[j] if j < len(row) else "" for row in rows]
        block = next((b for c in column_cells if (b := review_block(c or ""))), None)
        column = next((k for c in column_cells if (k := review_column(c or ""))), None)
        if block and column and (block, column) in keys and keys.index((block, column)) not in positions.values():
            positions[j] = keys.index((block, column))
    return positions if len(positions) == REVIEW_WIDTH else {}


def _review_row(parsed: list[Parsed], positions: dict[int, int]) -> tuple[list[Cell], str | None]:
    """A data row's 15 cells: by the sub-headers' positions when known, else its values in order (with why)."""
    if positions:
        cells: list[Cell] = [None] * REVIEW_WIDTH
        for j, at in positions.items():
            if j < len(parsed):
                cells[at] = parsed[j]  # type: ignore[assignment]
        return cells, None
    values: list[Cell] = [p for p in parsed if is_value(p)]  # type: ignore[misc]
    note = f"review: {len(values)} values for {REVIEW_WIDTH} columns, read in order"
    return (values + [None] * REVIEW_WIDTH)[:REVIEW_WIDTH], None if len(values) == REVIEW_WIDTH else note


def read_review(tables: Sequence[Table]) -> Found:
    """The review/litigation table: the first row under the 行政复议 header that holds values and no words — in
    its table, else at the top of the next (a header at a page's foot) — placed by the sub-headers' positions."""
    found = Found()
    for t, table in enumerate(tables):
        heads = [i for i, row in enumerate(table.rows)
                 if any(REVIEW_HEADER.match(normalise_label(c or "")) for c in row)]
        if not heads:
            continue
        following = [(t, i) for i in range(heads[0] + 1, len(table.rows))]
        if t + 1 < len(tables):
            following += [(t + 1, i) for i in range(len(tables[t + 1].rows))]
        for u, i in following:
            row = tables[u].rows[i]
            parsed = [parse_cell(c) for c in row]
            if any(p is TEXT for p in parsed):
                continue
            if not any(is_value(p) for p in parsed):
                continue  # a spacer row, or the blank template's
            header_rows = table.rows[heads[0] : i] if u == t else table.rows[heads[0] :]
            same_width = len(row) == len(table.rows[heads[0]])
            cells, note = _review_row(parsed, _review_positions(header_rows) if same_width else {})
            found.rows["review"] = cells
            found.notes.extend([note] if note else [])
            found.source = _source(tables, (u, i), (u, i))
            return found
    return found


def _art20_header(row: list[str]) -> bool:
    """A row of Art. 20 column names (本年制发件数 …, 上一年项目数量 …): the row the items below are placed by."""
    return any(pattern.search(normalise_label(c or "")) for c in row for pattern in ART20_HEADERS.values())


def _spans(header: list[str], start: int) -> list[list[int]]:
    """The header's columns from ``start`` on, a column a run of equal cells: python-docx and the HTML reader repeat
    a merged header (本年处理决定数量 over three grid columns) in every column it covers."""
    spans: list[list[int]] = []
    label = normalise_label(next((c for c in header if c and c.strip()), ""))
    previous = None
    for j in range(start, len(header)):
        text = normalise_label(header[j] or "")
        if not text or text == label:
            previous = None
            continue
        if text == previous:
            spans[-1].append(j)
        else:
            spans.append([j])
        previous = text
    return spans


def _span_value(parsed: list[Parsed], span: list[int], where: str, notes: list[str]) -> Cell:
    """The one value printed under a header column however many grid columns it covers (a merged value repeated,
    or printed in one of them); when they differ, the first, said so."""
    values = list(dict.fromkeys(p for j in span if j < len(parsed) and is_value(p := parsed[j])))
    if len(values) > 1:
        notes.append(f"{where}: {len(values)} different values under one header column, the first read")
    return values[0] if values else None  # type: ignore[return-value]


def read_art20(tables: Sequence[Table], items: dict[str, tuple[str, ...]]) -> Found:
    """Art. 20 rows: a label cell (规章, 行政许可 …), then its columns — by the header row above it, where each header
    column is one value however many grid columns it spans (本年处理决定数量 merged across three is read once); by
    position after the label where there is no header whose columns the item's count matches."""
    found = Found()
    first = last = None
    for t, table in enumerate(tables):
        header: list[str] | None = None
        for i, row in enumerate(table.rows):
            cells = [c or "" for c in row]
            if _art20_header(cells):
                header = cells
                continue
            filled = [j for j, c in enumerate(cells) if c.strip()]
            if not filled:
                continue
            item = art20_item(cells[filled[0]])
            if item is None or item not in items or item in found.rows:
                continue
            at = filled[0]
            while at + 1 < len(cells) and normalise_label(cells[at + 1]) == normalise_label(cells[filled[0]]):
                at += 1
            width = len(items[item])
            parsed = [parse_cell(c) for c in cells]
            spans = _spans(header, at + 1) if header and len(header) == len(cells) else []
            if len(spans) == width:
                values = [_span_value(parsed, span, f"art20.{item}", found.notes) for span in spans]
            else:
                values = [None if p is TEXT else p for p in parsed[at + 1 : at + 1 + width]]  # type: ignore[misc]
            found.rows[item] = values + [None] * (width - len(values))
            first = first or (t, i)
            last = (t, i)
    if first and last:
        found.source = _source(tables, first, last)
    return found
