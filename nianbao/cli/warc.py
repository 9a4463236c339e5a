"""``nianbao archive export-warc``: the archive as WARC files for the web-archiving tools."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import click

from archive import warc
from archive.catalog import isoformat, parse_moment

from .common import EXIT_FAILED, Context, fail, open_archive

_UNITS = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


class Moment(click.ParamType):
    """A time as the CLI prints them (``2024-03-01T08:00:00.123456Z``) or a date."""

    name = "TIME"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return parse_moment(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class Size(click.ParamType):
    """Bytes, or with a decimal unit: ``500M``, ``1G``."""

    name = "SIZE"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        match = re.fullmatch(r"\s*(\d+)\s*([KMGT]?)B?\s*", str(value).upper())
        if not match or int(match[1]) == 0:
            self.fail(f"{value!r} is not a size: use bytes or 500M, 1G", param, ctx)
        return int(match[1]) * _UNITS[match[2]]


@click.command("export-warc")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--site", help="Only this site id.")
@click.option("--since", type=Moment(), help="Only captures fetched at or after this time (UTC).")
@click.option("--max-size", type=Size(), default=warc.DEFAULT_MAX_SIZE, show_default=True,
              help="Start a new WARC file once one reaches this size.")
@click.pass_obj
def export_warc(ctx: Context, out: Path, site: str | None, since: datetime | None, max_size: int) -> None:
    """Write the archive as WARC 1.1 files (gzip per record) and a CDXJ index into directory OUT.

    The first capture of each body is a response record, later ones revisit records that
    refer to it; every body is verified against its SHA-256 first. A directory that already
    holds an export is refused. Replay with pywb: point a collection at OUT's WARCs and
    index.cdxj.
    """
    _config, catalog, store = open_archive(ctx)
    try:
        summary = warc.export_warc(catalog, store, out, site=site, since=since, max_size=max_size)
    except warc.ExportError as exc:
        fail(str(exc), EXIT_FAILED)
    except OSError as exc:
        fail(f"cannot write to {out}: {exc.strerror or exc}; export abandoned, nothing written", EXIT_FAILED)
    if not summary.files:
        click.echo("nothing to export: no capture matches", err=True)
        return
    for path in summary.files:
        click.echo(f"{path}: {path.stat().st_size} bytes", err=True)
    selection = ", ".join(f"{name} {value}" for name, value in (("site", site), ("since", isoformat(since))) if value)
    click.echo(f"exported{f' ({selection})' if selection else ''}: {len(summary.files)} WARC file(s), "
               f"{summary.records} records ({summary.responses} responses, {summary.revisits} revisits), "
               f"{summary.bytes} bytes; index {out / warc.INDEX_NAME}", err=True)

