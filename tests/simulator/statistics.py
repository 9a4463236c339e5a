"""The numbers a simulated report prints in the template's three tables, and which of its checks they fail.

Keys are the parser's (parsing.template.keys): ``applications.ROW.COL``, ``review.BLOCK.COL``, ``art20.*``;
2021 reports use the 2021 format (国办公开办函〔2021〕30号), earlier ones the 2019 format (〔2019〕60号).
The numbers obey the template's arithmetic, except in about one report in twelve, which prints one cell
off as real agencies do: the simulator knows that cell and every check it makes fail. Cells are what is
printed: int/float, a mark ("/", "—" …) or None for a blank, never a 0 that was not printed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

Cell = int | float | str | None

COLUMNS = ("natural_person", "business", "research", "social_org", "legal_service", "other_org", "total")
APPLICANTS = COLUMNS[:6]
_RESULTS_COMMON = (
    "granted", "partly_granted",
    "refused.state_secret", "refused.prohibited_by_law", "refused.three_safeties", "refused.third_party",
    "refused.internal_affairs", "refused.process_info", "refused.enforcement_files", "refused.query_items",
    "unavailable.not_held", "unavailable.needs_creation", "unavailable.unclear",
    "not_handled.petition", "not_handled.repeated", "not_handled.publication", "not_handled.massive_repeated",
    "not_handled.confirmation",
)
RESULTS = {"2021": (*_RESULTS_COMMON, "other.overdue_correction", "other.unpaid_fee", "other.other"),
           "2019": (*_RESULTS_COMMON, "other")}
ROWS = {t: ("new", "carried_over", *results, "total", "carried_forward") for t, results in RESULTS.items()}
BLOCKS = ("reconsideration", "litigation_direct", "litigation_after_reconsideration")
REVIEW_COLUMNS = ("upheld", "corrected", "other", "pending", "total")
ART20 = {
    "2021": ("regulations.issued", "regulations.repealed", "regulations.in_force",
             "normative_documents.issued", "normative_documents.repealed", "normative_documents.in_force",
             "licensing.decisions", "punishment.decisions", "enforcement.decisions", "fees.amount"),
    "2019": ("regulations.made", "regulations.published", "regulations.total",
             "normative_documents.made", "normative_documents.published", "normative_documents.total",
             "licensing.previous", "licensing.change", "licensing.decisions",
             "other_services.previous", "other_services.change", "other_services.decisions",
             "punishment.previous", "punishment.change", "punishment.decisions",
             "enforcement.previous", "enforcement.change", "enforcement.decisions",
             "fees.previous", "fees.change", "procurement.projects", "procurement.amount"),
}
MARKS = ("/", "—", "-", "无", "——")
#: About one report in this many prints a cell that breaks the arithmetic.
INCONSISTENT_ONE_IN = 12


def template_of(year: int) -> str:
    return "2021" if year >= 2021 else "2019"


def keys(template: str) -> list[str]:
    """Every key of a template, in the order the tables print them (art20, applications, review)."""
    return ([f"art20.{k}" for k in ART20[template]]
            + [f"applications.{r}.{c}" for r in ROWS[template] for c in COLUMNS]
            + [f"review.{b}.{c}" for b in BLOCKS for c in REVIEW_COLUMNS])


@dataclass(frozen=True)
class Statistics:
    template: str
    cells: dict[str, Cell]
    #: Names of the checks (parsing.checks) the printed cells fail; empty for a consistent report.
    failing: frozenset[str]
    #: The key printed off (planted inconsistency), or None.
    planted: str | None = None
    #: Print numbers of 1000 and more with thousands separators (12,345).
    thousands: bool = False

    def text(self, key: str) -> str:
        """The cell as the report prints it."""
        value = self.cells[key]
        if value is None:
            return ""
        if isinstance(value, float):
            return f"{value:.2f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:.1f}"
        if isinstance(value, int):
            return f"{value:,}" if self.thousands else str(value)
        return value


def _num(v: Cell) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _equation(cells: dict[str, Cell], left: list[str], right: list[str]) -> bool | None:
    """True/False for an equation of printed cells, None when a cell is missing or not a number."""
    values = [cells.get(k) for k in left + right]
    if not all(_num(v) for v in values):
        return None
    lhs = sum(values[: len(left)])  # type: ignore[arg-type]
    rhs = sum(values[len(left):])  # type: ignore[arg-type]
    return abs(lhs - rhs) < 1e-6


def checks(cells: dict[str, Cell], template: str) -> dict[str, bool]:
    """Every applicable check of the template (name → passed), as parsing.checks names them."""
    out: dict[str, bool | None] = {}
    a = "applications"
    for c in COLUMNS:
        out[f"{a}.balance.{c}"] = _equation(cells, [f"{a}.new.{c}", f"{a}.carried_over.{c}"],
                                            [f"{a}.total.{c}", f"{a}.carried_forward.{c}"])
        out[f"{a}.results.{c}"] = _equation(cells, [f"{a}.total.{c}"], [f"{a}.{r}.{c}" for r in RESULTS[template]])
    for r in ROWS[template]:
        out[f"{a}.row.{r}"] = _equation(cells, [f"{a}.{r}.total"], [f"{a}.{r}.{c}" for c in APPLICANTS])
    for b in BLOCKS:
        out[f"review.{b}"] = _equation(cells, [f"review.{b}.total"], [f"review.{b}.{c}" for c in REVIEW_COLUMNS[:4]])
    return {name: ok for name, ok in out.items() if ok is not None}


def failing(cells: dict[str, Cell], template: str) -> frozenset[str]:
    return frozenset(name for name, ok in checks(cells, template).items() if not ok)


#: Per kind of agency: mean requests of natural persons a year, and the size of its art. 20 figures.
_SIZE = {"county": (40, 1.0), "department": (8, 0.3), "township": (2, 0.02)}


def _split(rng: random.Random, total: int, rows: tuple[str, ...], weights: list[float]) -> dict[str, int]:
    out = dict.fromkeys(rows, 0)
    for _ in range(total):
        out[rng.choices(rows, weights)[0]] += 1
    return out


def _applications(rng: random.Random, template: str, kind: str) -> dict[str, int]:
    scale = _SIZE[kind][0]
    results = RESULTS[template]
    weights = [10 if r == "granted" else 2 if r in ("partly_granted", "unavailable.not_held") else
               0.6 if r.startswith(("not_handled", "other")) else 0.3 for r in results]
    cells: dict[str, int] = {}
    quiet = rng.random() < (0.5 if kind == "township" else 0.15)  # a year without a single request
    for c in APPLICANTS:
        share = 1.0 if c == "natural_person" else 0.25 if c == "business" else 0.05
        new = 0 if quiet else round(rng.expovariate(1 / (scale * share)) if rng.random() < 0.3 + share / 2 else 0)
        carried_over = rng.choice([0] * 6 + [1, 2]) if new else 0
        carried_forward = rng.randint(0, min(2, new + carried_over))
        total = new + carried_over - carried_forward
        row = {"new": new, "carried_over": carried_over, "total": total, "carried_forward": carried_forward}
        row |= _split(rng, total, results, weights)
        cells |= {f"applications.{r}.{c}": v for r, v in row.items()}
    for r in ROWS[template]:
        cells[f"applications.{r}.total"] = sum(cells[f"applications.{r}.{c}"] for c in APPLICANTS)
    return cells


def _review(rng: random.Random, kind: str) -> dict[str, int]:
    cells: dict[str, int] = {}
    busy = 0.5 if kind == "county" else 0.1
    for b in BLOCKS:
        parts = [rng.choice([0, 0, 0, 1, 2]) if rng.random() < busy else 0 for _ in REVIEW_COLUMNS[:4]]
        cells |= {f"review.{b}.{c}": v for c, v in zip(REVIEW_COLUMNS, [*parts, sum(parts)], strict=True)}
    return cells


def _art20(rng: random.Random, template: str, kind: str) -> dict[str, Cell]:
    big = _SIZE[kind][1]

    def count(mean: float) -> int:
        return round(rng.expovariate(1 / max(mean * big, 0.3))) if rng.random() < 0.7 else 0

    issued, repealed = count(8), count(3)
    in_force = issued + count(30)
    fees = round(rng.uniform(0, 80 * big), 2) if rng.random() < 0.3 else 0
    if template == "2021":
        values: list[Cell] = [0, 0, 0, issued, repealed, in_force, count(3000), count(800), count(40), fees]
    else:
        values = [0, 0, 0, issued, issued, in_force]
        for mean in (60, 30, 40, 10):  # licensing, other services, punishment, enforcement: items, change, decisions
            previous = count(mean)
            values += [previous, rng.choice([0, 0, 0, 1, -1, 2]) if previous else 0, count(mean * 30)]
        values += [count(5), 0, count(4), round(rng.uniform(10, 900) * big, 2) if rng.random() < 0.4 else 0]
    return {f"art20.{k}": v for k, v in zip(ART20[template], values, strict=True)}


def _print_marks(rng: random.Random, cells: dict[str, Cell], template: str) -> None:
    """Where real reports print no 0: a mark or a blank instead (the 2019 seed prints only the totals)."""
    if rng.random() < 0.2:
        mark = rng.choice(MARKS)
        for k in [k for k in cells if k.startswith("art20.")]:
            if cells[k] == 0 and (k.startswith("art20.regulations") or rng.random() < 0.3):
                cells[k] = mark
    if template == "2019" and rng.random() < 0.35:
        for k in [k for k in cells if k.startswith("applications.") and not k.endswith(".total")]:
            cells[k] = None
    elif rng.random() < 0.08:
        mark = rng.choice([None, "/", "—"])
        for k in [k for k in cells if k.startswith("applications.") and not k.endswith(".total")]:
            if cells[k] == 0 and rng.random() < 0.5:
                cells[k] = mark


def _plant(rng: random.Random, cells: dict[str, Cell], template: str) -> str | None:
    """Print one cell off by a little, as agencies do (a total not updated); returns its key."""
    candidates = ([f"applications.{r}.total" for r in ROWS[template]]
                  + [f"applications.{r}.{c}" for r in ("granted", "total", "new") for c in APPLICANTS[:2]]
                  + [f"review.{b}.total" for b in BLOCKS])
    rng.shuffle(candidates)
    for key in candidates:
        value = cells[key]
        if not _num(value):
            continue
        cells[key] = value + 1 if value == 0 or rng.random() < 0.6 else value - 1  # type: ignore[operator]
        if failing(cells, template):
            return key
        cells[key] = value
    return None


def make_statistics(identity: str, year: int, kind: str) -> Statistics:
    """The statistics of one report, the same for the same identity (world seed, site, agency, year)."""
    rng = random.Random(f"statistics:{identity}")
    template = template_of(year)
    cells: dict[str, Cell] = {**_art20(rng, template, kind), **_applications(rng, template, kind),
                              **_review(rng, kind)}
    _print_marks(rng, cells, template)
    planted = _plant(rng, cells, template) if rng.random() < 1 / INCONSISTENT_ONE_IN else None
    ordered = {k: cells[k] for k in keys(template)}
    return Statistics(template, ordered, failing(ordered, template), planted, thousands=rng.random() < 0.3)
