"""``nianbao``: a thin command line over the crawler, the archive and the scheduler.

One module per command group; this one only gathers them under ``main``.
"""

from __future__ import annotations

import click

from .archive import archive
from .common import Context
from .crawl import crawl
from .parse import parse
from .runs import runs
from .schedule import schedule
from .serve import serve
from .sites import sites
from .warc import export_warc
from .worker import worker, workers


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", envvar="NIANBAO_HOME", help="Working directory (default ./var).")
@click.option("--storage", envvar="NIANBAO_STORAGE", help="file:///PATH or s3://BUCKET[/PREFIX].")
@click.option("--catalog", envvar="NIANBAO_CATALOG", help="SQLAlchemy URL of the catalog database.")
@click.pass_context
def main(ctx: click.Context, home: str | None, storage: str | None, catalog: str | None) -> None:
    """Crawl and archive Chinese government information-disclosure annual reports (年报)."""
    ctx.obj = Context({"home": home, "storage": storage, "catalog": catalog})



for command in (crawl, sites, archive, parse, runs, schedule, serve, worker, workers):
    main.add_command(command)
archive.add_command(export_warc)
