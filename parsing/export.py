"""The parsed reports as one dataset: a row per report, every template key a column (``nianbao parse export``).

Columns are the same in every format and every export, whatever the reports hold, so exports of different
sites or years stack: the report's facts, then every key of both templates in the templates' order (2021's,
then what only 2019's has), then the checks. A key's column holds numbers only; a mark printed where a number
would be ("/", "—", "无") is kept in ``marks`` (key → mark), so a numeric column never mixes in text and no
printed character is lost. Where the report has no such cell the column is empty.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from archive.catalog import ParsedReport
from parsing.template.keys import keys

FORMATS = ("csv", "parquet", "jsonl")
FACTS = ("site", "province", "county", "agency", "agency_kind", "year", "format", "template", "url",
         "source_url", "sha256")
CHECKS = ("checks_passed", "checks_failed", "marks")


@dataclass(frozen=True)
class Place:
    """Where a site is, as the registry names it (the parser does not read the registry itself)."""

    province: str | None
    county: str | None


def key_columns() -> list[str]:
    """Every key of both templates, 2021's order first."""
    first = keys("2021")
    return first + [k for k in keys("2019") if k not in set(first)]


def columns() -> list[str]:
    return [*FACTS, *key_columns(), *CHECKS]


def rows(reports: Iterable[ParsedReport], places: Mapping[str, Place], year: int | None = None) -> list[dict]:
    """One row per report whose tables were read (its own result or the attachment's it wraps, ``parsed``).

    ``year``: only reports of that year — the crawl's judgement of it, else what the parser read."""
    found = []
    cells_of = key_columns()
    for report in reports:
        source = report.source
        if source is None or source.state != "parsed":
            continue
        report_year = report.capture.year or source.year
        if year is not None and report_year != year:
            continue
        reading = source.reading or {}
        cells = reading.get("cells") or {}
        checks = reading.get("checks") or []
        place = places.get(report.capture.site) or Place(None, None)
        row: dict[str, Any] = {
            "site": report.capture.site, "province": place.province, "county": place.county,
            "agency": report.capture.agency or source.agency, "agency_kind": report.capture.agency_kind,
            "year": report_year, "format": source.format, "template": source.template, "url": report.capture.url,
            "source_url": report.source_capture.url, "sha256": source.sha256,
        }
        for key in cells_of:
            value = cells.get(key)
            row[key] = value if isinstance(value, int | float) and not isinstance(value, bool) else None
        row["checks_passed"] = sum(1 for c in checks if c.get("passed"))
        row["checks_failed"] = [c["name"] for c in checks if not c.get("passed")]
        row["marks"] = {k: v for k, v in cells.items() if isinstance(v, str)}
        found.append(row)
    return found


def render(found: list[dict], fmt: str) -> bytes:
    """The rows as a file of ``fmt`` (csv, parquet, jsonl)."""
    if fmt == "jsonl":
        return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in found).encode("utf-8")
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, columns(), lineterminator="\n")
        writer.writeheader()
        for row in found:
            writer.writerow({**row, "checks_failed": " ".join(row["checks_failed"]),
                             "marks": json.dumps(row["marks"], ensure_ascii=False) if row["marks"] else ""})
        return out.getvalue().encode("utf-8-sig")  # the BOM: spreadsheet programs then read the Chinese right
    if fmt == "parquet":
        return _parquet(found)
    raise ValueError(f"no export format {fmt!r}: {', '.join(FORMATS)}")


def _parquet(found: list[dict]) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    text, whole = pa.string(), pa.int64()
    fields = [pa.field(name, whole if name == "year" else text) for name in FACTS]
    fields += [pa.field(key, pa.float64()) for key in key_columns()]  # counts, and 万元 with decimals
    fields += [pa.field("checks_passed", whole), pa.field("checks_failed", pa.list_(text)), pa.field("marks", text)]
    schema = pa.schema(fields)
    data = [{**row, "marks": json.dumps(row["marks"], ensure_ascii=False) if row["marks"] else None}
            for row in found]
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(data, schema=schema), sink)
    return sink.getvalue().to_pybytes()
