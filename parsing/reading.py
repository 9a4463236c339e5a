"""The result of parsing one body: the template's content under fixed keys, and its checks."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

#: A cell: the number printed, the exact mark printed where no number is ("/", "-", "—", "无"),
#: or None where the cell is blank. Never a 0 that was not printed.
Cell = int | float | str | None

SECTIONS = ("overview", "proactive", "requests", "review_litigation", "problems", "other")


@dataclass
class Check:
    """One equation of the template, e.g. ``new + carried_over = total + carried_forward`` for a column.

    An equation whose cells are not all numbers is kept, as skipped (``passed`` None): a reader that dropped a
    cell then shows a check it could not make, instead of losing the check and counting the report as passed."""

    name: str  # e.g. "applications.balance.natural_person"
    #: True or False when the equation was computed; None when it was skipped.
    passed: bool | None
    #: The cells the equation reads (key → value), so a reader sees what did not add up.
    cells: dict[str, Cell]
    #: "3 + 1 ≠ 2 + 1": the equation with the numbers put in; for a skipped check, why ("blank: key, key").
    detail: str = ""
    skipped: bool = False


@dataclass
class Reading:
    format: str
    #: "2021", "2019", or None when the document does not follow the template (then cells is empty).
    template: str | None = None
    year: int | None = None
    agency: str | None = None
    #: SECTIONS → text ("" for a section the document lacks).
    sections: dict[str, str] = field(default_factory=dict)
    #: "applications.new.natural_person" → Cell; see parsing.template.keys for every key.
    cells: dict[str, Cell] = field(default_factory=dict)
    #: table name ("art20", "applications", "review") → where in the document it was read from.
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    checks: list[Check] = field(default_factory=list)
    confidence: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool | None:
        """False when a check failed; True when checks ran and all held; None when no check could be made."""
        if any(c.passed is False for c in self.checks):
            return False
        return True if any(c.passed for c in self.checks) else None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "passed": self.passed}


def check_summary(checks: list[dict[str, Any]]) -> tuple[int, list[str], int]:
    """(checks passed, names of the checks failed, checks skipped) of a reading's checks as recorded (JSON).

    A check that could not be computed (a cell blank or a mark: ``"skipped": true``, or ``passed`` null) is
    skipped, never counted as passed nor as failed. The one count every listing, export and line shows."""
    passed, failed, skipped = 0, [], 0
    for check in checks:
        if check.get("skipped") or check.get("passed") is None:
            skipped += 1
        elif check["passed"]:
            passed += 1
        else:
            failed.append(check["name"])
    return passed, failed, skipped
