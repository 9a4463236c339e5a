"""``nianbao parse``: the parser over the archive — the queue's consumer, one file, one URL's result, the dataset,
an agency across years, and the queue itself."""

from __future__ import annotations

import json
import mimetypes
import multiprocessing
import os
import signal
from pathlib import Path
from typing import Any

import click

from archive.catalog import PARSE_STATES, Catalog, CatalogError, ParseResult
from archive.storage import StorageError
from crawler.registry import RegistryError, load_registry
from parsing import PARSER_VERSION
from parsing import compare as comparing
from parsing import export as exporting
from parsing import queue as consumer
from parsing.reading import check_summary
from parsing.template.keys import APPLICANT_COLUMNS, REVIEW_BLOCKS, REVIEW_COLUMNS

from .common import EXIT_FAILED, Context, fail, open_archive, write_file
from .table import Column, table


@click.group()
def parse() -> None:
    """Read archived reports into the official template's keys, checked by its arithmetic."""


@parse.command("run")
@click.option("--once", is_flag=True, help="Parse what is pending, then exit (default: keep polling until stopped).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Worker processes, each with its own catalog connection.")
@click.option("--reparse", is_flag=True, help="First queue again every body this parser version has not read "
              f"(version {PARSER_VERSION}): older versions' results and failures.")
@click.option("--timeout", "seconds", type=click.FloatRange(min=0, min_open=True), default=consumer.DOCUMENT_SECONDS,
              show_default=True, help="Seconds any document may take, before --page-seconds for each page; a "
              "slower one is stopped and recorded failed (final until --reparse).")
@click.option("--page-seconds", type=click.FloatRange(min=0), default=consumer.PAGE_SECONDS, show_default=True,
              help="Seconds more a document may take for each page of a PDF or an image (scanned pages are "
              f"OCRed, 25-60 s each; at most {consumer.BUDGETED_PAGES} pages counted).")
@click.pass_obj
def parse_run(ctx: Context, once: bool, workers: int, reparse: bool, seconds: float, page_seconds: float) -> None:
    """Consume the parse queue: each archived body read back verified, parsed, its result recorded.

    A line per document on stderr; at the end the counts on stdout. SIGINT or SIGTERM stops it (the document
    in hand goes back to the queue). The parser's memory is bounded by NIANBAO_PARSE_MEMORY (default 3G): a
    file that needs more is recorded failed. A body storage will not give back (permission denied) stops the run
    and is failed after 3 attempts."""
    try:
        memory = consumer.memory_limit()
    except ValueError as exc:
        fail(str(exc))
    config, catalog, store = open_archive(ctx, create=True)
    stop = multiprocessing.get_context("spawn").Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        counts = consumer.run(config, catalog, store, stop, workers, once, reparse, seconds,
                              page_seconds=page_seconds, memory=memory)
    except (CatalogError, StorageError, RuntimeError) as exc:
        fail(str(exc), EXIT_FAILED)
    left = catalog.parse_counts()
    click.echo(f"parsed {counts.parsed}, failed {counts.failed} in {counts.seconds:.1f} s; queue: "
               f"{left.get('pending', 0)} pending, {left.get('parsing', 0)} parsing, {left.get('done', 0)} done, "
               f"{left.get('failed', 0)} failed")


@parse.command("file")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="The Reading as one JSON object.")
def parse_file(path: Path, as_json: bool) -> None:
    """Parse a local file as the queue's consumer parses an archived body (its type from its name)."""
    try:
        body = path.read_bytes()
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror or exc}")
    outcome = consumer.parse_bytes(body, mimetypes.guess_type(path.name)[0], path.name)
    if outcome.error is not None:
        fail(f"{path}: {outcome.error}", EXIT_FAILED)
    if as_json:
        click.echo(json.dumps(outcome.reading, ensure_ascii=False, indent=2))
    else:
        for line in describe(outcome.reading or {}):
            click.echo(line)


@parse.command("show")
@click.argument("url")
@click.option("--json", "as_json", is_flag=True,
              help="The capture, its result, and where its tables come from (source, source_capture) as one object.")
@click.pass_obj
def parse_show(ctx: Context, url: str, as_json: bool) -> None:
    """What this parser version read in URL's latest capture (a report page, or an attachment); a page that only
    wraps an attachment shows the attachment's tables, and says which."""
    _config, catalog, _ = open_archive(ctx, store=False)
    capture = catalog.latest_capture(url)
    if capture is None:
        fail(f"{url} is not in the archive")
    report = catalog.parsed_report(capture, PARSER_VERSION)
    result = report.result
    if result is None:
        older = catalog.parse_result(capture.sha256)
        if older is not None:
            fail(f"{url}: read only by parser version {older.parser_version} (this is version {PARSER_VERSION}): "
                 "run `nianbao parse run --reparse`", EXIT_FAILED)
        state = {r["sha256"]: r["state"] for r in catalog.parse_queue(None)}.get(capture.sha256)
        fail(f"{url}: not parsed yet ({'request ' + state if state else 'not on the parse queue'}: "
             "run `nianbao parse run --once`)", EXIT_FAILED)
    source = report.source if report.wrapped else None
    if as_json:
        click.echo(json.dumps({"url": url, "capture": capture.as_dict(), "result": result.as_dict(),
                               "source": source.as_dict() if source else None,
                               "source_capture": report.source_capture.as_dict() if source else None},
                              ensure_ascii=False, indent=2))
        return
    click.echo(f"{capture.url}  ({capture.kind}, {capture.sha256[:12]}, parser version {result.parser_version})")
    if source is not None:
        click.echo(f"  only wraps an attachment; its tables are from {report.source_capture.url} "
                   f"({source.sha256[:12]})")
    for line in _result_lines(source or result):
        click.echo(line)


def _result_lines(result: ParseResult) -> list[str]:
    if result.state == "failed":
        return [f"failed: {result.error}"]
    return describe(result.reading or {})


@parse.command("export")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--site", help="Only this site's reports (its id).")
@click.option("--year", type=int, help="Only reports of this year (as the document says it).")
@click.option("--sites", "sites_file", type=click.Path(dir_okay=False),
              help="Registry YAML naming the sites' provinces and counties (default: national).")
@click.pass_obj
def parse_export(ctx: Context, out: Path, site: str | None, year: int | None, sites_file: str | None) -> None:
    """One row per parsed report into OUT (.csv, .parquet or .jsonl): site, province, county, agency and year (as
    the document says them; the crawl's judgement in crawl_agency, crawl_year), format, source, every template
    key, the checks. This parser version's results only, as the dashboard and compare show."""
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in exporting.FORMATS:
        fail(f"{out}: unknown extension {out.suffix or '(none)'!r}: use .csv, .parquet or .jsonl")
    _writable(out)
    try:
        registry = load_registry(sites_file)
    except RegistryError as exc:
        fail(str(exc))
    _config, catalog, _ = open_archive(ctx, store=False)
    _known_site(catalog, site)
    places = {s.id: exporting.Place(s.province, s.name) for s in registry.sites}
    found = exporting.rows(catalog.parse_results(site=site, year=year, parser_version=PARSER_VERSION, readings=True),
                           places)
    try:
        write_file(out, exporting.render(found, fmt))
    except OSError as exc:
        fail(f"cannot write {out}: {exc.strerror or exc}")
    click.echo(f"{len(found)} report(s) written to {out}", err=True)


def _writable(out: Path) -> None:
    parent = out.parent.resolve()
    if out.is_dir():
        fail(f"{out} is a directory; give a file name")
    if not parent.is_dir():
        fail(f"cannot write {out}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK) or (out.exists() and not os.access(out, os.W_OK)):
        fail(f"cannot write {out}: permission denied")


def _known_site(catalog: Catalog, site: str | None) -> None:
    if site is not None and next(catalog.captures(site=site), None) is None:
        fail(f"no site {site!r} in the archive (nothing of it was crawled)")


@parse.command("compare")
@click.option("--site", required=True, help="Site id.")
@click.option("--agency", required=True, help="The agency, as the archive names it (e.g. 万载县人民政府).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a year.")
@click.pass_obj
def parse_compare(ctx: Context, site: str, agency: str, as_json: bool) -> None:
    """An agency's reports across years: the cells that changed from the year before, and each year's checks."""
    _config, catalog, _ = open_archive(ctx, store=False)
    _known_site(catalog, site)
    reports = catalog.parse_results(site=site, parser_version=PARSER_VERSION, readings=True)
    years = comparing.compare(reports, agency)
    if not years:
        known = comparing.agencies(r for r in reports if r.source and r.source.state == "parsed")
        fail(f"no parsed report of {agency!r} in site {site!r}"
             + (f"; its agencies: {', '.join(known)}" if known else " (nothing of it is parsed yet)"))
    for year in years:
        if as_json:
            click.echo(json.dumps(year.as_dict(), ensure_ascii=False))
            continue
        failed = f" (failed: {', '.join(year.checks_failed)})" if year.checks_failed else ""
        click.echo(f"{year.year}  template {year.template or '-'}  checks {year.checks_passed}/"
                   f"{year.checks_passed + len(year.checks_failed)} passed, {year.checks_skipped} skipped{failed}  "
                   f"{year.url}")
        if year.previous is not None:
            click.echo(f"  {len(year.changed)} cell(s) changed from {year.previous}")
            for key, (before, after) in year.changed.items():
                click.echo(f"    {key}  {_cell(before)} → {_cell(after)}")


@parse.command("queue")
@click.option("--all", "every", is_flag=True, help="Include requests already taken, parsed or failed.")
@click.option("--state", type=click.Choice(PARSE_STATES), help="Only this state.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line.")
@click.pass_obj
def parse_queue(ctx: Context, every: bool, state: str | None, as_json: bool) -> None:
    """The parse queue: pending requests, one per distinct report or attachment body."""
    _config, catalog, _ = open_archive(ctx, store=False)
    for row in catalog.parse_queue(state or (None if every else "pending")):
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            click.echo(f"{row['id']:>6} {row['state']:<8} {row['kind']:<10} {row['sha256'][:12]} {row['url']}")


# -- a Reading for people ---------------------------------------------------------------------
def describe(reading: dict[str, Any]) -> list[str]:
    """Format, template, year, agency; the applications and review tables as grids; the checks, failed ones
    with their numbers."""
    cells = reading.get("cells") or {}
    checks = reading.get("checks") or []
    passed, failed, skipped = check_summary(checks)
    lines = [f"format    {reading.get('format') or '-'}", f"template  {reading.get('template') or '-'}",
             f"year      {reading.get('year') or '-'}", f"agency    {reading.get('agency') or '-'}",
             f"checks    {passed} passed, {len(failed)} failed, {skipped} skipped (cells blank)"]
    lines += [f"  FAILED {c['name']}: {c.get('detail') or ''}".rstrip() for c in checks if c["name"] in failed]
    for notes in reading.get("notes") or []:
        lines.append(f"note      {notes}")
    applications = _grid(cells, "applications", APPLICANT_COLUMNS)
    if applications:
        lines += ["", *table([Column("applications"), *(Column(c, right=True) for c in APPLICANT_COLUMNS)],
                             applications)]
    review = [[block, *(_cell(cells.get(f"review.{block}.{col}")) for col in REVIEW_COLUMNS)]
              for block in REVIEW_BLOCKS if any(f"review.{block}.{col}" in cells for col in REVIEW_COLUMNS)]
    if review:
        lines += ["", *table([Column("review"), *(Column(c, right=True) for c in REVIEW_COLUMNS)], review)]
    return lines


def _grid(cells: dict[str, Any], prefix: str, columns: tuple[str, ...]) -> list[list[str]]:
    """``prefix.ROW.COL`` cells as rows (in the order the keys come) of the columns."""
    rows: dict[str, dict[str, Any]] = {}
    for key, value in cells.items():
        if key.startswith(prefix + "."):
            row, _, col = key[len(prefix) + 1:].rpartition(".")
            rows.setdefault(row, {})[col] = value
    return [[row, *(_cell(values.get(col)) for col in columns)] for row, values in rows.items()]


def _cell(value: Any) -> str:
    return "" if value is None else str(value)
