"""The parser (parsing.parse) judged on the simulated world: every format it serves, against the numbers it knows.

The world (tests/simulator) renders each report's own numbers into its page and files — HTML grids, the
official DOCX template, PDFs with a text layer, LibreOffice's DOC/WPS/XLS, spreadsheets, page images — and
plants a cell off in about one report in twelve, knowing which checks that breaks. Here each format's bodies
are parsed and compared cell by cell: text formats must be read right to 99 % of cells, and the checks must
flag exactly the planted inconsistencies (a misread cell shows up as a check failed that should not have).
Run with ``-s`` to see the accuracy of every format.
"""

from __future__ import annotations

import time

import pytest

from parsing import parse
from tests.simulator.scoring import Score, samples
from tests.simulator.world import World, build_world

#: Bodies parsed per format: every planted inconsistency of the sample first, then the others in URL order.
#: LibreOffice (doc, wps, xls) and OCR (png) take seconds a body, so they get few.
SAMPLE = {"html": 16, "pdf": 5, "docx": 6, "xlsx": 4, "doc": 2, "wps": 1, "xls": 1, "png": 1}
TEXT_FORMATS = ("html", "pdf", "docx", "xlsx", "doc", "wps", "xls")
ACCURACY = 0.99


@pytest.fixture(scope="module")
def world() -> World:
    return build_world(counties=3)


@pytest.fixture(scope="module")
def scores() -> dict[str, Score]:
    """Each format's sample is parsed once: both tests of a format share it."""
    return {}


def score(world: World, scores: dict[str, Score], fmt: str) -> Score:
    if fmt in scores:
        return scores[fmt]
    s = scores[fmt] = Score()
    for where, body, ctype, name, expected in samples(world, fmt, SAMPLE[fmt]):
        started = time.perf_counter()
        reading = parse(body, ctype, name)
        s.add(where, expected, reading, time.perf_counter() - started)
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
    planted = {fmt: sum(bool(e[4]["planted"]) for e in samples(world, fmt, SAMPLE[fmt]))
               for fmt in ("html", "pdf", "docx")}
    assert all(planted.values()), planted


def test_page_images_are_read(world, scores):
    """OCR (not held to the text formats' bar): a scanned art. 20 and review table still give most cells."""
    s = score(world, scores, "png")
    assert s.documents == 1 and s.accuracy >= 0.9, f"{s.summary('png')}: {s.wrong[:8]}"
