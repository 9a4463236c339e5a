"""How fast and how well the parser reads reports: documents/s per format and cell accuracy.

Two sets of documents, each with what must be read from it:

* **real** — the corpus beside the project (`../shared/corpus`): the five seed texts, the three real PDFs
  and the official blank template, against the expectations typed by hand from them
  (tests/data/parsing/expected/*.json);
* **world** — the simulated world's reports in every format it serves (HTML grids, DOCX from the
  template, PDF with a text layer, DOC/WPS/XLS made by LibreOffice, XLSX) and page images read by OCR,
  against the numbers the simulator printed (tests/simulator/scoring.py), one report in twelve printed
  with a cell off.

A document is parsed in this process, one at a time (`nianbao parse run` does the same per worker), and
timed from bytes to checked Reading. Documents/s is per core: `--workers N` gives about N times as many
until the cores run out. Cells are right when equal to what was printed (a mark as printed, a blank as
None); checks are right when the failed checks are exactly those the printed numbers fail.

Run from the repository root: ``python bench/parse.py [--counties 3] [--per-format 12] [--ocr 1] [--json]``.
This is a benchmark: it prints figures and exits 0 whatever they are.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from parsing import parse  # noqa: E402
from tests.simulator.files import shared_corpus  # noqa: E402
from tests.simulator.scoring import Score, samples  # noqa: E402
from tests.simulator.world import build_world  # noqa: E402

EXPECTED = ROOT / "tests" / "data" / "parsing" / "expected"
WORLD_FORMATS = ("html", "docx", "pdf", "xlsx", "doc", "wps", "xls")


def real_scores() -> dict[str, Score]:
    """The hand-verified corpus, by format (text, pdf, docx)."""
    corpus = shared_corpus()
    scores: dict[str, Score] = {}
    if corpus is None:
        return scores
    for path in sorted(EXPECTED.glob("*.json")):
        expected = json.loads(path.read_text(encoding="utf-8"))
        source = corpus / expected["source"]
        fmt = {".txt": "text"}.get(source.suffix, source.suffix.lstrip("."))
        truth = {**expected, "failing": expected["failed_checks"]}
        _timed(scores.setdefault(fmt, Score()), path.stem, source.read_bytes(), None, source.name, truth)
    return scores


def world_scores(counties: int, per_format: int, ocr: int) -> dict[str, Score]:
    world = build_world(counties=counties)
    scores: dict[str, Score] = {}
    for fmt, limit in [*((f, per_format) for f in WORLD_FORMATS), ("png", ocr)]:
        for where, body, ctype, name, expected in samples(world, fmt, limit):
            _timed(scores.setdefault(fmt, Score()), where, body, ctype, name, expected)
    return scores


def _timed(score: Score, where: str, body: bytes, ctype: str | None, name: str | None, expected: dict) -> None:
    started = time.perf_counter()
    reading = parse(body, ctype, name)
    score.add(where, expected, reading, time.perf_counter() - started)


def rows(label: str, scores: dict[str, Score]) -> list[dict]:
    return [{"set": label, "format": fmt, "documents": s.documents, "cells": s.cells, "right": s.right,
             "accuracy": round(s.accuracy, 4), "checks_right": s.documents - len(s.checks),
             "documents_per_s": round(s.documents / s.seconds, 2) if s.seconds else None,
             "seconds_per_document": round(s.seconds / s.documents, 3) if s.documents else None,
             "wrong": [list(map(str, w)) for w in s.wrong[:5]]} for fmt, s in scores.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counties", type=int, default=3, help="counties of the simulated world (default 3)")
    parser.add_argument("--per-format", type=int, default=12, help="world documents per format (default 12)")
    parser.add_argument("--ocr", type=int, default=1, help="page images through OCR (~25 s each; default 1)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()
    table = rows("real", real_scores()) + rows("world", world_scores(args.counties, args.per_format, args.ocr))
    print(f"{'set':6} {'format':7} {'docs':>5} {'cells right':>15} {'accuracy':>9} {'checks right':>13} "
          f"{'docs/s':>7} {'s/doc':>7}")
    for row in table:
        print(f"{row['set']:6} {row['format']:7} {row['documents']:>5} {row['right']:>7}/{row['cells']:<7} "
              f"{row['accuracy']:>9.2%} {row['checks_right']:>6}/{row['documents']:<6} "
              f"{row['documents_per_s'] or 0:>7.2f} {row['seconds_per_document'] or 0:>7.3f}")
        for wrong in row["wrong"]:
            print("       misread:", " | ".join(wrong))
    if args.json:
        print(json.dumps(table, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
