"""The parser (parsing.parse) judged on the simulated world: every format it serves, against the numbers it knows.

The world (tests/simulator) renders each report's own numbers into its page and files — HTML grids, the
official DOCX template, PDFs with a text layer, LibreOffice's DOC/WPS/XLS, spreadsheets, page images — and
plants a cell off in about one report in twelve, knowing which checks that breaks. Here each format's bodies
are parsed and compared cell by cell: text formats must be read right to 99 % of cells, and the checks must
flag exactly the planted inconsistencies (a misread cell shows up as a check failed that should not have).
Run with ``-s`` to see the accuracy of every format.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from parsing import parse
from tests.simulator import pdfs, statistics
from tests.simulator.files import CONTENT_TYPES, Served
from tests.simulator.rendered import rendered
from tests.simulator.world import World, build_world

#: Bodies parsed per format: every planted inconsistency of the sample first, then the others in URL order.
#: LibreOffice (doc, wps, xls) and OCR (png) take seconds a body, so they get few.
SAMPLE = {"html": 16, "pdf": 5, "docx": 6, "xlsx": 4, "doc": 2, "wps": 1, "xls": 1, "png": 1}
#: The page image holds these two tables only (OCR of the application table's 300 cells takes a minute).
IMAGED = ("art20", "review")
TEXT_FORMATS = ("html", "pdf", "docx", "xlsx", "doc", "wps", "xls")
ACCURACY = 0.99


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(counties=3)


@dataclass
class Score:
    documents: int = 0
    cells: int = 0
    right: int = 0
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


def same(expected: object, read: object) -> bool:
    """A number equal as a number (35 and 35.0 are the same printed amount), anything else exactly."""
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (expected, read))
    return abs(expected - read) < 1e-9 if numbers else type(expected) is type(read) and expected == read  # type: ignore[operator]


def bodies(world: World, fmt: str) -> list[tuple[str, bytes, str | None, str | None, dict]]:
    """(where, body, content type, name, expected reading) of the sample of `fmt`."""
    expected = world.expected_readings()
    names = {a.url: a.filename for a in world.attachments}
    if fmt in ("xlsx", "png"):  # not served by the world: made from its reports here
        reports = [s.report for s in world.documents.values() if s.format == "html"]
        made = []
        for report in sorted(reports, key=lambda r: (r.stats.planted is None, r.identity))[: SAMPLE[fmt]]:
            body = rendered("xlsx", report) if fmt == "xlsx" else pdfs.make_png(report, IMAGED)
            reading = Served(fmt, report).expected()
            if fmt == "png":  # the image holds no application table: the parser must say so
                reading["cells"] = {k: v for k, v in reading["cells"].items() if k.startswith(IMAGED)}
                failing = statistics.failing(reading["cells"], reading["template"]) | {"applications.printed"}
                reading["failing"] = sorted(failing)
            made.append((f"{report.identity}.{fmt}", body, CONTENT_TYPES.get(fmt, "image/png"), None, reading))
        return made
    urls = sorted((u for u, e in expected.items() if e["format"] == fmt), key=lambda u: (not expected[u]["planted"], u))
    out = []
    for url in urls[: SAMPLE[fmt]]:
        status, headers, body = world.resolve("GET", url)
        out.append((url, body, headers.get("Content-Type"), names.get(url), expected[url]))
    return out


@pytest.fixture(scope="module")
def scores() -> dict[str, Score]:
    """Each format's sample is parsed once: both tests of a format share it."""
    return {}


def score(world: World, scores: dict[str, Score], fmt: str) -> Score:
    if fmt in scores:
        return scores[fmt]
    s = scores[fmt] = Score()
    for where, body, ctype, name, expected in bodies(world, fmt):
        reading = parse(body, ctype, name)
        s.documents += 1
        for key, value in expected["cells"].items():
            s.cells += 1
            got = reading.cells.get(key, "<missing>")
            if same(value, got):
                s.right += 1
            else:
                s.wrong.append((where, key, value, got))
        flagged = sorted(c.name for c in reading.checks if not c.passed)
        if flagged != expected["failing"]:
            s.checks.append((where, expected["failing"], flagged))
        if (reading.template, reading.year) != (expected["template"], expected["year"]):
            s.meta.append((where, (expected["template"], expected["year"]), (reading.template, reading.year)))
        if reading.agency != expected["agency"]:
            s.agency.append((where, expected["agency"], reading.agency))
    print("\n" + s.summary(fmt))
    for wrong in s.wrong[:5]:
        print("   cell", wrong)
    for wrong in s.checks[:3] + s.meta[:2] + s.agency[:2]:
        print("   ", wrong)
    return s


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
def test_cells_read_right(world, scores, fmt):
    s = score(world, scores, fmt)
    if s.documents == 0 and fmt in ("doc", "wps", "xls"):
        pytest.skip("needs LibreOffice (soffice): the world serves OLE2 stand-ins without it")
    assert s.documents > 0
    assert s.accuracy >= ACCURACY, f"{s.summary(fmt)}; first misread: {s.wrong[:8]}"


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
def test_template_and_year_read(world, scores, fmt):
    s = score(world, scores, fmt)
    if s.documents == 0:
        pytest.skip(f"no {fmt} bodies in this world")
    assert not s.meta, f"{len(s.meta)} of {s.documents}: {s.meta[:5]}"


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
def test_agency_read(world, scores, fmt):
    """The agency as the report's heading names it (a page's heading is its <h1>; a file's, its first line)."""
    s = score(world, scores, fmt)
    if s.documents == 0:
        pytest.skip(f"no {fmt} bodies in this world")
    assert not s.agency, f"{len(s.agency)} of {s.documents}: {s.agency[:5]}"


@pytest.mark.parametrize("fmt", TEXT_FORMATS)
def test_checks_flag_exactly_the_planted_inconsistencies(world, scores, fmt):
    s = score(world, scores, fmt)
    if s.documents == 0:
        pytest.skip(f"no {fmt} bodies in this world")
    assert not s.checks, f"{len(s.checks)} of {s.documents} {fmt} readings flag other checks: {s.checks[:5]}"


def test_planted_inconsistencies_are_in_the_samples(world):
    """The check test above means something only if the samples hold inconsistent reports."""
    planted = {fmt: sum(bool(e[4]["planted"]) for e in bodies(world, fmt)) for fmt in ("html", "pdf", "docx")}
    assert all(planted.values()), planted


def test_page_images_are_read(world, scores):
    """OCR (not held to the text formats' bar): a scanned art. 20 and review table still give most cells."""
    s = score(world, scores, "png")
    assert s.documents == 1 and s.accuracy >= 0.9, f"{s.summary('png')}: {s.wrong[:8]}"
