"""One agency's reports across years: which cells changed from the year before, and how each year's checks went
(``nianbao parse compare``; the dashboard's comparison asks the same). Years and agencies are the documents'
(ParsedReport.year, .agency: the crawl's judgement only where a document says nothing)."""

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
    checks_skipped: int
    #: The year this one is compared with (the latest earlier one there is), or None for the first.
    previous: int | None = None
    #: key → (that year's cell, this year's): every key both years have whose cell differs.
    changed: dict[str, tuple[Cell, Cell]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"year": self.year, "url": self.url, "template": self.template, "checks_passed": self.checks_passed,
                "checks_failed": self.checks_failed, "checks_skipped": self.checks_skipped, "previous": self.previous,
                "changed": {key: {"before": before, "after": after} for key, (before, after) in self.changed.items()},
                "cells": self.cells}


def agencies(reports: Iterable[ParsedReport]) -> list[str]:
    """The agencies these reports are of, as compare() matches them."""
    return sorted({name for report in reports if (name := report.agency)})


def compare(reports: Iterable[ParsedReport], agency: str) -> list[Year]:
    """``agency``'s parsed reports (with their readings), a year each (the newest report of a year), oldest
    first, each compared with the year before it."""
    newest: dict[int, ParsedReport] = {}
    for report in reports:
        source, year = report.source, report.year
        if report.agency == agency and source is not None and source.state == "parsed" and year is not None:
            newest[year] = report  # reports come oldest first
    years: list[Year] = []
    for year in sorted(newest):
        report = newest[year]
        source = report.source
        this = Year(year, report.capture.url, source.template, source.cells, source.checks_passed or 0,
                    source.checks_failed or [], source.checks_skipped or 0)
        if years:
            before = years[-1]
            this.previous = before.year
            # Only keys both years' templates have: a 2019 report's art20.*.made is not "changed" by a 2021 one.
            this.changed = {key: (before.cells[key], this.cells[key]) for key in before.cells
                            if key in this.cells and before.cells[key] != this.cells[key]}
        years.append(this)
    return years

