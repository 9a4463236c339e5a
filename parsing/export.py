"""The parsed reports as one dataset: a row per report, every template key a column (``nianbao parse export``).

Columns are the same in every format and every export, whatever the reports hold, so exports of different
sites or years stack: the report's facts, then every key of both templates in the templates' order (2021's,
then what only 2019's has), then the checks. ``year`` and ``agency`` are the document's (what the parser read),
the crawl's judgement only where the document says nothing; the crawl's own are ``crawl_year`` and
``crawl_agency``. A key's column holds numbers only; a mark printed where a number would be ("/", "—", "无") is
kept in ``marks`` (key → mark), so a numeric column never mixes in text and no printed character is lost. Where
the report has no such cell the column is empty.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from archive.catalog import ParsedReport
from parsing.template.keys import all_keys

FORMATS = ("csv", "parquet", "jsonl")
FACTS = ("site", "province", "county", "agency", "agency_kind", "year", "crawl_agency", "crawl_year", "format",
         "template", "url", "source_url", "sha256")
CHECKS = ("checks_passed", "checks_failed", "checks_skipped", "marks")
#: Whole-number facts (the rest are text).
_YEARS = ("year", "crawl_year")


@dataclass(frozen=True)
class Place:
    """Where a site is, as the registry names it (the parser does not read the registry itself)."""

    province: str | None
    county: str | None


def columns() -> list[str]:
    return [*FACTS, *all_keys(), *CHECKS]


def rows(reports: Iterable[ParsedReport], places: Mapping[str, Place]) -> list[dict]:
    """One row per report whose tables were read (its own result or the attachment's it wraps, ``parsed``);
    the reports with their readings (``Queries.parse_results(readings=True)``)."""
    found = []
    cells_of = all_keys()
    for report in reports:
        source, capture = report.source, report.capture
        if source is None or source.state != "parsed":
            continue
        cells = (source.reading or {}).get("cells") or {}
        place = places.get(capture.site) or Place(None, None)
        row: dict[str, Any] = {
            "site": capture.site, "province": place.province, "county": place.county, "agency": report.agency,
            "agency_kind": capture.agency_kind, "year": report.year, "crawl_agency": capture.agency,
            "crawl_year": capture.year, "format": source.format, "template": source.template, "url": capture.url,
            "source_url": report.source_capture.url, "sha256": source.sha256,
        }
        for key in cells_of:
            value = cells.get(key)
            row[key] = value if isinstance(value, int | float) and not isinstance(value, bool) else None
        row["checks_passed"], row["checks_failed"], row["checks_skipped"] = (
            source.checks_passed, source.checks_failed or [], source.checks_skipped)
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
    fields = [pa.field(name, whole if name in _YEARS else text) for name in FACTS]
    fields += [pa.field(key, pa.float64()) for key in all_keys()]  # counts, and 万元 with decimals
    fields += [pa.field("checks_passed", whole), pa.field("checks_failed", pa.list_(text)),
               pa.field("checks_skipped", whole), pa.field("marks", text)]
    schema = pa.schema(fields)
    data = [{**row, "marks": json.dumps(row["marks"], ensure_ascii=False) if row["marks"] else None}
            for row in found]
    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pylist(data, schema=schema), sink)
    return sink.getvalue().to_pybytes()
