"""``nianbao archive``: what the archive holds, and its bytes back."""

from __future__ import annotations

import difflib
import json
import sys
from pathlib import Path

import click

from archive import fixity, versions
from archive.catalog import Capture, Catalog, isoformat, parse_moment
from archive.storage import IntegrityError, ObjectStore, StorageError
from archive.text import visible_text

from .common import EXIT_FAILED, Context, fail, open_archive, write_file
from .table import Column, table


@click.group()
def archive() -> None:
    """What the archive holds."""


@archive.command("list")
@click.option("--site", help="Only this site id.")
@click.option("--year", type=int, help="Only reports and attachments of this report year.")
@click.option("--kind", type=click.Choice(["list", "report", "attachment", "page"]))
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line.")
@click.pass_obj
def archive_list(ctx: Context, site: str | None, year: int | None, kind: str | None, as_json: bool) -> None:
    """Every capture, one a line: time (UTC), kind, site, year, size, URL, title (or file name).

    With --json, every field of every capture (sha256, agency, final URL, run, where the year came from
    and why it is or is not a report: year_source, judgement …)."""
    _config, catalog, _ = open_archive(ctx, store=False)
    captures = catalog.captures(site=site, year=year, kind=kind)
    if as_json:
        for capture in captures:
            click.echo(json.dumps(capture.as_dict(), ensure_ascii=False))
        return
    rows = ((f"{c.fetched_at:%Y-%m-%dT%H:%M:%S}", c.kind, c.site, c.year, c.size, c.url, c.filename or c.title)
            for c in captures)
    for line in table(_LIST_COLUMNS, rows, fit=False):  # streamed: an archive holds millions of captures
        click.echo(line)


_LIST_COLUMNS = [Column("time", 19), Column("kind", 10), Column("site", 12), Column("year", 4),
                 Column("size", 9, right=True), Column("url"), Column("title")]


@archive.command("get")
@click.argument("url")
@click.option("--at", "at", metavar="TIME", help="The version current at TIME (as history prints it), not the latest.")
@click.option("-o", "--output", default="-", show_default=True, help="File to write, or - for stdout.")
@click.pass_obj
def archive_get(ctx: Context, url: str, at: str | None, output: str) -> None:
    """The archived bytes of URL (latest, or current --at a time), verified against their SHA-256."""
    _config, catalog, store = open_archive(ctx)
    if at is None:
        capture = catalog.latest_capture(url)
        if capture is None:
            fail(f"{url} is not in the archive", EXIT_FAILED)
    else:
        capture = _version_at(catalog, url, at)
    data = _body(store, capture)
    if output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    target = Path(output)
    try:
        write_file(target, data)
    except OSError as exc:
        fail(f"cannot write {output!r}: {exc.strerror or exc}", EXIT_FAILED)
    click.echo(f"{target}: {len(data)} bytes, sha256 {capture.sha256}, captured {isoformat(capture.fetched_at)}",
               err=True)


@archive.command("history")
@click.argument("url")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line (the fields of archive list, and more).")
@click.pass_obj
def archive_history(ctx: Context, url: str, as_json: bool) -> None:
    """Every capture of URL, oldest first: its version, and whether it was new, a revisit or gone; then when
    it is next asked after (reports, attachments and pages; lists are read every crawl)."""
    _config, catalog, _ = open_archive(ctx, store=False)
    rows = versions.history(catalog, url)
    if not rows:
        fail(f"{url} is not in the archive", EXIT_FAILED)
    for row in rows:
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            what = "gone" if row["gone"] else "revisit" if row["revisit"] else "new"
            click.echo(f"{row['fetched_at']}  {row['status']:>3}  v{row['version'] or '-':<3} {what:<8} "
                       f"{row['sha256'][:16]}  {row['size']:>9}  run {row['run']}")
    check = catalog.url_check(url)
    if check is not None and not as_json:  # on stderr, as get's summary: stdout stays one line per capture
        click.echo(f"next check {isoformat(check.next_check_at)}  (every {_duration(check.interval)}; "
                   f"last checked {isoformat(check.checked_at)}, last changed {isoformat(check.changed_at) or '-'})",
                   err=True)


def _duration(seconds: int) -> str:
    """An interval as people say it: 7d, 1d 12h, 45m."""
    days, rest = divmod(seconds, 86400)
    parts = [f"{days}d" if days else "", f"{rest // 3600}h" if rest // 3600 else "",
             f"{rest % 3600 // 60}m" if rest % 3600 // 60 else ""]
    return " ".join(p for p in parts if p) or f"{seconds}s"


@archive.command("diff")
@click.argument("url")
@click.option("--from", "since", metavar="TIME", help="The version current at TIME (default: the one before --to).")
@click.option("--to", "until", metavar="TIME", help="The version current at TIME (default: the latest).")
@click.pass_obj
def archive_diff(ctx: Context, url: str, since: str | None, until: str | None) -> None:
    """What changed in the visible text between two versions of URL (a unified diff)."""
    _config, catalog, store = open_archive(ctx)
    newer = _version_at(catalog, url, until) if until else catalog.latest_capture(url)
    if newer is None:
        fail(f"{url} is not in the archive", EXIT_FAILED)
    if since:
        older = _version_at(catalog, url, since)
    else:
        earlier = [c for c in catalog.held_captures(url)
                   if c.sha256 != newer.sha256 and c.fetched_at < newer.fetched_at]
        if not earlier:
            fail(f"{url} has one version only (captured {isoformat(newer.fetched_at)})", EXIT_FAILED)
        older = earlier[-1]
    texts = [visible_text(_body(store, c), c.content_type) for c in (older, newer)]
    labels = [f"{url} @ {isoformat(c.fetched_at)} ({c.sha256[:12]})" for c in (older, newer)]
    if older.sha256 == newer.sha256:
        click.echo(f"the same version (sha256 {newer.sha256})", err=True)
    elif None in texts:
        click.echo(f"not text ({older.content_type or '?'}): {labels[0]} {older.size} bytes → "
                   f"{labels[1]} {newer.size} bytes")
    else:
        old, new = ([line + "\n" for line in text.splitlines()] for text in texts)
        click.echo("".join(difflib.unified_diff(old, new, labels[0], labels[1])), nl=False)


@archive.command("documents")
@click.option("--site", required=True, help="Site id.")
@click.option("--year", type=int, help="Only reports of this report year.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line.")
@click.pass_obj
def archive_documents(ctx: Context, site: str, year: int | None, as_json: bool) -> None:
    """A site's reports as documents: one per agency and year: year, versions, title, URLs."""
    _config, catalog, _ = open_archive(ctx, store=False)
    docs = versions.documents(catalog, site, year)
    if as_json:
        for doc in docs:
            click.echo(json.dumps(doc.as_dict(), ensure_ascii=False))
        return
    rows = ((doc.year, "gone" if doc.gone else f"{len(doc.versions)} version(s)", doc.title or doc.agency,
             " ".join(doc.urls)) for doc in docs)
    for line in table([Column("year"), Column("versions"), Column("title"), Column("urls")], rows):
        click.echo(line)


@archive.command("verify")
@click.option("--sample", type=click.IntRange(min=1), help="Check this many objects chosen at random (default: all).")
@click.option("--json", "as_json", is_flag=True, help="The audit as one JSON object.")
@click.pass_obj
def archive_verify(ctx: Context, sample: int | None, as_json: bool) -> None:
    """Fixity audit: re-read stored objects, recompute SHA-256; exit 1 if any is missing or corrupt."""
    _config, catalog, store = open_archive(ctx)
    result = fixity.audit(catalog, store, sample)
    if as_json:
        click.echo(json.dumps({"audit": result.id, "storage": store.location, "checked": result.checked,
                               "problems": result.problems}, ensure_ascii=False, indent=2))
    else:
        click.echo(f"audit {result.id}: {result.checked} object(s) checked in {store.location}: "
                   f"{result.count('missing')} missing, {result.count('corrupt')} corrupt, "
                   f"{result.count('unreadable')} unreadable")
        for problem in result.problems:
            click.echo(f"  {problem['problem']}: {problem['sha256']}: {problem['detail']}")
            for ref in problem["referrers"]:
                click.echo(f"    run {ref['run_log']} log" if "run_log" in ref else
                           f"    capture {ref['capture']} {ref['site']} {ref['fetched_at']} {ref['url']}")
    if not result.ok:
        sys.exit(EXIT_FAILED)


def _version_at(catalog: Catalog, url: str, at: str) -> Capture:
    try:
        return versions.capture_at(catalog, url, parse_moment(at))
    except (ValueError, versions.NoVersion) as exc:
        fail(str(exc), EXIT_FAILED)


def _body(store: ObjectStore, capture: Capture) -> bytes:
    try:
        return store.get(capture.sha256)
    except IntegrityError as exc:
        fail(f"refusing to return {capture.url}: {exc}", EXIT_FAILED)
    except StorageError as exc:
        fail(str(exc), EXIT_FAILED)
