"""``nianbao archive``: what the archive holds, and its bytes back."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from archive.storage import IntegrityError, StorageError

from .common import EXIT_FAILED, Context, fail, open_archive, write_file


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
    """Every capture: URL, digest, size, kind, site, year, agency, title, time."""
    _config, catalog, _ = open_archive(ctx, store=False)
    for capture in catalog.captures(site=site, year=year, kind=kind):
        row = capture.as_dict()
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            click.echo(f"{row['fetched_at'][:19]} {row['kind']:<10} {row['site']:<12} {row['year'] or '':<4} "
                       f"{row['size']:>9} {row['url']}  {row['filename'] or row['title'] or ''}")


@archive.command("get")
@click.argument("url")
@click.option("-o", "--output", default="-", show_default=True, help="File to write, or - for stdout.")
@click.pass_obj
def archive_get(ctx: Context, url: str, output: str) -> None:
    """The archived bytes of URL's latest capture, verified against its SHA-256."""
    _config, catalog, store = open_archive(ctx)
    capture = catalog.latest_capture(url)
    if capture is None:
        fail(f"{url} is not in the archive", EXIT_FAILED)
    try:
        data = store.get(capture.sha256)
    except IntegrityError as exc:
        fail(f"refusing to return {url}: {exc}", EXIT_FAILED)
    except StorageError as exc:
        fail(str(exc), EXIT_FAILED)
    if output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    target = Path(output)
    try:
        write_file(target, data)
    except OSError as exc:
        fail(f"cannot write {output!r}: {exc.strerror or exc}", EXIT_FAILED)
    click.echo(f"{target}: {len(data)} bytes, sha256 {capture.sha256}", err=True)
