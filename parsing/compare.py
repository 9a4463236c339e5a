"""One agency's reports across years: which cells changed from the year before, and how each year's checks went
(``nianbao parse compare``; the dashboard's comparison asks the same)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from archive.catalog import ParsedReport
from parsing.reading import Cell


@dataclass
class Year:
    year: int
    url: str
    template: str | None
    cells: dict[str, Cell]
    checks_passed: int
    checks_failed: list[str]
    #: The year this one is compared with (the latest earlier one there is), or None for the first.
    previous: int | None = None
    #: key → (that year's cell, this year's): every key both years have whose cell differs.
    changed: dict[str, tuple[Cell, Cell]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"year": self.year, "url": self.url, "template": self.template, "checks_passed": self.checks_passed,
                "checks_failed": self.checks_failed, "previous": self.previous,
                "changed": {key: {"before": before, "after": after} for key, (before, after) in self.changed.items()},
                "cells": self.cells}


def agencies(reports: Iterable[ParsedReport]) -> list[str]:
    """The agencies these reports are of, as compare() matches them."""
    return sorted({name for report in reports if (name := _agency(report))})


def compare(reports: Iterable[ParsedReport], agency: str) -> list[Year]:
    """``agency``'s parsed reports, a year each (the newest report of a year), oldest first, each compared with
    the year before it."""
    newest: dict[int, ParsedReport] = {}
    for report in reports:
        source = report.source
        year = report.capture.year or (source.year if source else None)
        if _agency(report) == agency and source is not None and source.state == "parsed" and year is not None:
            newest[year] = report  # reports come oldest first
    years: list[Year] = []
    for year in sorted(newest):
        report = newest[year]
        reading = report.source.reading or {}
        checks = reading.get("checks") or []
        this = Year(year, report.capture.url, report.source.template, reading.get("cells") or {},
                    sum(1 for c in checks if c.get("passed")), [c["name"] for c in checks if not c.get("passed")])
        if years:
            before = years[-1]
            this.previous = before.year
            # Only keys both years' templates have: a 2019 report's art20.*.made is not "changed" by a 2021 one.
            this.changed = {key: (before.cells[key], this.cells[key]) for key in before.cells
                            if key in this.cells and before.cells[key] != this.cells[key]}
        years.append(this)
    return years


def _agency(report: ParsedReport) -> str | None:
    return report.capture.agency or (report.source.agency if report.source else None)
