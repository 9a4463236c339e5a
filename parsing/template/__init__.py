"""A Document → the template's content under fixed keys (``read_template``); ``keys`` names every key.

Each table is read from the document's grids when they hold it (tables.py: positions kept), else from its linear
text (stream.py: labels anchor the values). The template (2021 or 2019) is decided by what the document prints —
the Art. 20 column headers, then the shape of the applications table's (六)其他处理 — never by its title.
"""

from __future__ import annotations

from parsing.document import Document
from parsing.reading import Cell, Reading
from parsing.template import stream, tables
from parsing.template.found import Found
from parsing.template.keys import (
    APPLICANT_COLUMNS,
    ART20_HEADERS,
    OTHER_SUBROWS,
    REVIEW_BLOCKS,
    REVIEW_COLUMNS,
    art20_items,
    keys,
    normalise_label,
)
from parsing.template.meta import read_agency, read_year
from parsing.template.sections import read_sections

__all__ = ["read_template", "keys"]


def _all_text(document: Document) -> list[str]:
    cells = [c for t in document.tables for row in t.rows for c in row if c]
    return [normalise_label(t) for t in [*document.paragraphs, *cells]]


def _template(document: Document, applications: Found) -> str | None:
    texts = _all_text(document)
    score = {name: sum(1 for t in texts if pattern.search(t)) for name, pattern in ART20_HEADERS.items()}
    if score["2021"] != score["2019"]:
        return max(score, key=score.__getitem__)
    if any(row in applications.rows for row in OTHER_SUBROWS):
        return "2021"
    if "other" in applications.rows:
        return "2019"
    return "2021" if applications else None


def read_template(document: Document) -> Reading:
    grids = [t for t in document.tables if tables.is_grid(t)]
    toks = stream.tokens(document)
    applications = tables.read_applications(grids) or stream.read_applications(toks)
    template = _template(document, applications)
    reading = Reading(
        format=document.format,
        template=template,
        year=read_year(document),
        agency=read_agency(document),
        sections=read_sections(document),
        confidence=document.confidence,
        notes=list(document.notes),
    )
    if template is None:
        return reading
    items = art20_items(template)
    art20 = tables.read_art20(grids, items) or stream.read_art20(toks, items)
    review = tables.read_review(grids) or stream.read_review(toks)
    cells: dict[str, Cell] = dict.fromkeys(keys(template))
    for item, values in art20.rows.items():
        cells.update(zip((f"art20.{item}.{col}" for col in items[item]), values, strict=True))
    for row, values in applications.rows.items():
        cells.update(zip((f"applications.{row}.{col}" for col in APPLICANT_COLUMNS), values, strict=True))
    if template == "2021" and "other" in applications.rows:
        reading.notes.append("applications: (六)其他处理 printed as one row, read as applications.other")
    for values in review.rows.values():
        names = (f"review.{block}.{col}" for block in REVIEW_BLOCKS for col in REVIEW_COLUMNS)
        cells.update(zip(names, values, strict=True))
    reading.cells = cells
    for name, found in (("art20", art20), ("applications", applications), ("review", review)):
        reading.notes.extend(found.notes)
        if found.source:
            reading.sources[name] = found.source
    return reading
