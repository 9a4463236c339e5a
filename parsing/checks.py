"""The template's own arithmetic, applied to a reading's cells: flagged when it does not hold, never corrected.

A check needs every cell it reads to be a number; one that is blank or a mark ("/", "无") makes the check
impossible, so it is recorded as skipped (``passed`` None, ``skipped`` True, the cells named in its detail) rather
than failed — a report that prints "/" has said nothing false — and never dropped: a reader that loses cells then
shows the checks it could not make, and a reading whose every check was skipped is not a passed one. Only a
report that prints nothing at all in a table gets a failed check (``<table>.printed``): a template table left
empty is a reading worth flagging.
"""

from __future__ import annotations

from collections.abc import Iterable

from parsing.reading import Cell, Check
from parsing.template.cells import is_number
from parsing.template.keys import (
    APPLICANT_COLUMNS,
    APPLICANTS,
    OTHER_SUBROWS,
    RESULT_ROWS_2019,
    RESULT_ROWS_2021,
    REVIEW_BLOCKS,
    REVIEW_COLUMNS,
    application_rows,
)


def _unusable(involved: dict[str, Cell]) -> str:
    """Why an equation cannot be made: "blank: a, b; not a number: c ('/')"."""
    blank = [k for k, v in involved.items() if v is None]
    marks = [f"{k} ({v!r})" for k, v in involved.items() if v is not None and not is_number(v)]
    parts = ([f"blank: {', '.join(blank)}"] if blank else []) + ([f"not a number: {', '.join(marks)}"] if marks else [])
    return "; ".join(parts)


def _equation(name: str, cells: dict[str, Cell], left: list[str], right: list[str]) -> Check:
    """sum(left) = sum(right); skipped when a cell is blank or not a number."""
    involved = {k: cells.get(k) for k in [*left, *right]}
    if not all(is_number(v) for v in involved.values()):
        return Check(name, None, involved, _unusable(involved), skipped=True)
    lhs = sum(involved[k] for k in left)  # type: ignore[misc]
    rhs = sum(involved[k] for k in right)  # type: ignore[misc]
    passed = abs(lhs - rhs) < 1e-6
    detail = f"{' + '.join(str(involved[k]) for k in left)} {'=' if passed else '≠'} " + " + ".join(
        str(involved[k]) for k in right
    )
    return Check(name, passed, involved, detail)


def _result_rows(cells: dict[str, Cell], template: str | None) -> tuple[str, ...]:
    """The rows (七)总计 sums: the 2021 sub-rows of (六), or its single row where the report printed one."""
    rows = RESULT_ROWS_2019 if template == "2019" else RESULT_ROWS_2021
    single = any(is_number(cells.get(f"applications.other.{c}")) for c in APPLICANT_COLUMNS)
    if template != "2019" and single and not any(
        is_number(cells.get(f"applications.{r}.{c}")) for r in OTHER_SUBROWS for c in APPLICANT_COLUMNS
    ):
        rows = RESULT_ROWS_2019
    return rows


def _printed(name: str, keys: Iterable[str], cells: dict[str, Cell]) -> Check | None:
    """Fails when a table the template requires was found nowhere: every one of its cells blank."""
    keys = list(keys)
    if any(cells.get(k) is not None for k in keys):
        return None
    return Check(f"{name}.printed", False, {}, f"no cell of the {name} table was printed")


def _app(row: str, column: str) -> str:
    return f"applications.{row}.{column}"


def check(cells: dict[str, Cell], template: str | None) -> list[Check]:
    """Every equation of ``template`` on ``cells``, in a fixed order: computed, or skipped saying why."""
    if template is None:
        return []
    checks: list[Check | None] = []
    app = [f"applications.{r}.{c}" for r in application_rows(template) for c in APPLICANT_COLUMNS]
    checks.append(_printed("applications", app, cells))
    results = _result_rows(cells, template)
    for col in APPLICANT_COLUMNS:
        checks.append(_equation(f"applications.balance.{col}", cells, [_app("new", col), _app("carried_over", col)],
                                [_app("total", col), _app("carried_forward", col)]))
        checks.append(_equation(f"applications.results.{col}", cells, [_app("total", col)],
                                [_app(r, col) for r in results]))
    for row in ("new", "carried_over", *results, "total", "carried_forward"):
        checks.append(_equation(f"applications.row.{row}", cells, [f"applications.{row}.total"],
                                [f"applications.{row}.{c}" for c in APPLICANTS]))
    review = [f"review.{b}.{c}" for b in REVIEW_BLOCKS for c in REVIEW_COLUMNS]
    checks.append(_printed("review", review, cells))
    for block in REVIEW_BLOCKS:
        parts = [f"review.{block}.{c}" for c in REVIEW_COLUMNS[:-1]]
        checks.append(_equation(f"review.{block}", cells, [f"review.{block}.total"], parts))
    return [c for c in checks if c is not None]
