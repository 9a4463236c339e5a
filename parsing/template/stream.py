"""Linear text → template rows: a table that came out one cell a line (the seeds, text converters).

Blanks leave no trace in such text, so positions are lost; what is kept is the anchoring: each row's values are
the value tokens after its own label and before the next label, at most as many as the row has columns. A row
that prints fewer is read in order and said so in the notes — its neighbours do not shift.
"""

from __future__ import annotations

from parsing.document import Document
from parsing.reading import Cell
from parsing.template.cells import TEXT, is_value, parse_cell
from parsing.template.found import Found
from parsing.template.keys import (
    APPLICANT_COLUMNS,
    REVIEW_HEADER,
    REVIEW_WIDTH,
    application_row,
    art20_item,
    normalise_label,
)
from parsing.template.sections import heading
from parsing.template.tables import MAX_LABEL, is_grid

#: How far after 行政复议 its numbers may start (its header is 20 to 45 tokens).
REVIEW_REACH = 60


def tokens(document: Document) -> list[str]:
    """The document's paragraphs and the cells of its linear tables, in reading order (grids are tables.py's)."""
    out: list[str] = []
    for block in document.blocks:
        if isinstance(block, str):
            out.append(block)
        elif not is_grid(block):
            out.extend(c for row in block.rows for c in row if c and c.strip())
    return out


def _label(token: str) -> tuple[bool, str | None]:
    if len(normalise_label(token)) > MAX_LABEL:
        return False, None
    return application_row(token)


def _start(toks: list[str]) -> int | None:
    """The 本年新收 row label: the first one followed by a value or another row label (not a sentence)."""
    for i, tok in enumerate(toks[:-1]):
        if _label(tok) == (True, "new") and (is_value(parse_cell(toks[i + 1])) or _label(toks[i + 1])[0]):
            return i
    return None


def read_applications(toks: list[str]) -> Found:
    found = Found()
    start = _start(toks)
    if start is None:
        return found
    width = len(APPLICANT_COLUMNS)
    current: str | None = None
    last = start
    for i in range(start, len(toks)):
        tok = toks[i]
        parsed = parse_cell(tok)
        if is_value(parsed):
            if current is not None and len(found.rows.setdefault(current, [])) < width:
                found.rows[current].append(parsed)  # type: ignore[arg-type]
                last = i
            continue
        if parsed is None:
            continue
        matched, key = _label(tok)
        if not matched:
            if heading(tok) or REVIEW_HEADER.match(normalise_label(tok)):
                break
            continue  # a label's second line, a bookmark: not a row
        if key == current:
            continue  # 4.无正当理由 / 大量反复申请: one label on two lines
        if current == "carried_forward":
            break
        current = key if key not in found.rows else None
    for key in list(found.rows):
        cells = found.rows[key]
        if key == "other" and not cells:
            del found.rows[key]
            continue
        if len(cells) < width:
            found.notes.append(f"applications.{key}: {len(cells)} values for {width} columns, read in order")
        found.rows[key] = cells + [None] * (width - len(cells))
    found.source = {"where": "text", "pages": [], "rows": [start, last]}
    return found


def read_review(toks: list[str]) -> Found:
    found = Found()
    for i, tok in enumerate(toks):
        if not REVIEW_HEADER.match(normalise_label(tok)):
            continue
        values: list[Cell] = []
        j = i + 1
        while j < len(toks) and j - i <= REVIEW_REACH and not values:
            parsed = parse_cell(toks[j])
            if is_value(parsed):
                values.append(parsed)  # type: ignore[arg-type]
            j += 1
        while values and j < len(toks) and len(values) < REVIEW_WIDTH:
            parsed = parse_cell(toks[j])
            if parsed is TEXT:
                break
            if is_value(parsed):
                values.append(parsed)  # type: ignore[arg-type]
            j += 1
        if not values:
            continue
        if len(values) < REVIEW_WIDTH:
            found.notes.append(f"review: {len(values)} values for {REVIEW_WIDTH} columns, read in order")
        found.rows["review"] = values + [None] * (REVIEW_WIDTH - len(values))
        found.source = {"where": "text", "pages": [], "rows": [i, j - 1]}
        return found
    return found


def read_art20(toks: list[str], items: dict[str, tuple[str, ...]]) -> Found:
    """Each Art. 20 label takes the value tokens right after it, up to its item's column count."""
    found = Found()
    first = last = None
    for i, tok in enumerate(toks):
        item = art20_item(tok)
        if item is None or item not in items or item in found.rows:
            continue
        values: list[Cell] = []
        for nxt in toks[i + 1 : i + 1 + len(items[item])]:
            parsed = parse_cell(nxt)
            if not is_value(parsed):
                break
            values.append(parsed)  # type: ignore[arg-type]
        if not values:
            continue
        found.rows[item] = values + [None] * (len(items[item]) - len(values))
        first = i if first is None else first
        last = i + len(values)
    if first is not None:
        found.source = {"where": "text", "pages": [], "rows": [first, last]}
    return found
