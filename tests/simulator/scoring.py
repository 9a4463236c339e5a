"""Reading the world's reports back: samples of each format with what a parser should read, and the score.

Shared by tests/test_parse_world.py (which holds the parser to its bar) and bench/parse.py (which prints
the figures): one way to pick the samples and count a cell right.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import pdfs, statistics
from .files import CONTENT_TYPES, Served
from .rendered import rendered
from .world import World

#: The page image holds these two tables only (OCR of the application table's 300 cells takes a minute).
IMAGED = ("art20", "review")
#: Not served by the world: made from its reports' numbers when sampled.
MADE = ("xlsx", "png")


@dataclass
class Score:
    documents: int = 0
    cells: int = 0
    right: int = 0
    seconds: float = 0.0
    wrong: list[tuple[str, str, object, object]] = field(default_factory=list)  # url, key, expected, read
    checks: list[tuple[str, list[str], list[str]]] = field(default_factory=list)  # url, expected, flagged
    meta: list[tuple[str, tuple, tuple]] = field(default_factory=list)  # url, (template, year) expected, read
    agency: list[tuple[str, str, str | None]] = field(default_factory=list)  # url, expected, read

    @property
    def accuracy(self) -> float:
        return self.right / self.cells if self.cells else 0.0

    def summary(self, fmt: str) -> str:
        return (f"{fmt}: {self.documents} documents, {self.right}/{self.cells} cells = {self.accuracy:.2%}, "
                f"checks wrong in {len(self.checks)}, template/year wrong in {len(self.meta)}, "
                f"agency wrong in {len(self.agency)}")

    def add(self, where: str, expected: dict[str, Any], reading: Any, seconds: float) -> None:
        """One reading (a parsing.reading.Reading) against what the simulator printed."""
        self.documents += 1
        self.seconds += seconds
        for key, value in expected["cells"].items():
            self.cells += 1
            got = reading.cells.get(key, "<missing>")
            if same(value, got):
                self.right += 1
            else:
                self.wrong.append((where, key, value, got))
        flagged = sorted(c.name for c in reading.checks if c.passed is False)
        if flagged != sorted(expected["failing"]):
            self.checks.append((where, expected["failing"], flagged))
        if (reading.template, reading.year) != (expected["template"], expected["year"]):
            self.meta.append((where, (expected["template"], expected["year"]), (reading.template, reading.year)))
        if reading.agency != expected["agency"]:
            self.agency.append((where, expected["agency"], reading.agency))


def same(expected: object, read: object) -> bool:
    """A number equal as a number (35 and 35.0 are the same printed amount), anything else exactly."""
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (expected, read))
    return abs(expected - read) < 1e-9 if numbers else type(expected) is type(read) and expected == read  # type: ignore[operator]


def samples(world: World, fmt: str, limit: int) -> list[tuple[str, bytes, str | None, str | None, dict]]:
    """(where, body, content type, file name, expected reading) of up to ``limit`` bodies of ``fmt``: the
    planted inconsistencies first, then the others in URL order."""
    expected = world.expected_readings()
    if fmt in MADE:
        reports = [s.report for s in world.documents.values() if s.format == "html"]
        made = []
        for report in sorted(reports, key=lambda r: (r.stats.planted is None, r.identity))[:limit]:
            body = rendered("xlsx", report) if fmt == "xlsx" else pdfs.make_png(report, IMAGED)
            reading = Served(fmt, report).expected()
            if fmt == "png":  # the image holds no application table: the parser must say so
                reading["cells"] = {k: v for k, v in reading["cells"].items() if k.startswith(IMAGED)}
                failing = statistics.failing(reading["cells"], reading["template"]) | {"applications.printed"}
                reading["failing"] = sorted(failing)
            made.append((f"{report.identity}.{fmt}", body, CONTENT_TYPES.get(fmt, "image/png"), None, reading))
        return made
    names = {a.url: a.filename for a in world.attachments}
    urls = sorted((u for u, e in expected.items() if e["format"] == fmt), key=lambda u: (not expected[u]["planted"], u))
    out = []
    for url in urls[:limit]:
        _status, headers, body = world.resolve("GET", url)
        out.append((url, body, headers.get("Content-Type"), names.get(url), expected[url]))
    return out
