"""``nianbao worker`` (one machine's share of the rounds and of the parse queue) and ``nianbao workers``."""

from __future__ import annotations

import json
import sys

import click
from sqlalchemy.exc import SQLAlchemyError

from archive.catalog import reason_of
from crawler.registry import RegistryError, load_registry
from nianbao.config import ConfigError

from .common import EXIT_FAILED, Context, crawl_args, fail, log_to_stderr, open_archive, parse_setting
from .table import Column, table


@click.command()
@click.option("--sites", "sites_file", type=click.Path(dir_okay=False), help="Registry YAML (default: national).")
@click.option("--name", help="The worker's name in the catalog and on the dashboard (default: HOST:PID).")
@click.option("--crawls", type=click.IntRange(min=1), help="Crawls at once (default NIANBAO_WORKER_CRAWLS, 2).")
@click.option("--parsers", type=click.IntRange(min=0), default=0, show_default=True,
              help="Parse processes consuming the parse queue beside the crawls.")
@click.option("-s", "--set", "settings", multiple=True, metavar="NAME=VALUE",
              help="A worker setting (NIANBAO_WORKER_…, NIANBAO_SITE_LEASE) or a crawler setting for its crawls.")
@click.pass_obj
def worker(ctx: Context, sites_file: str | None, name: str | None, crawls: int | None, parsers: int,
           settings: tuple[str, ...]) -> None:
    """Take crawls from the scheduler's rounds (NIANBAO_BROKER) until SIGTERM; logs on stderr.

    It crawls with this machine's NIANBAO_PROXY, storage and catalog (the catalog and storage shared
    by every machine), and stops taking work while its storage or proxy does not answer.
    """
    from dataclasses import replace

    from scheduler.config import load_settings
    from scheduler.worker import FleetWorker, WorkerNameTaken

    try:
        overrides = dict(parse_setting(text) for text in settings)
        options = load_settings(overrides)
        load_registry(sites_file)  # refused now, not in every crawl
        if not options.broker:
            raise ConfigError("NIANBAO_BROKER is not set: a worker takes its crawls from the broker "
                              "(redis://host:6379/0), as the scheduler hands them out")
    except (RegistryError, ConfigError) as exc:
        fail(str(exc))
    if crawls:
        options = replace(options, worker_crawls=crawls)
    config, _catalog, _store = open_archive(ctx, create=True)
    log_to_stderr()
    try:
        code = FleetWorker(config, options, crawl_args(sites_file, settings), name, parsers).run()
    except WorkerNameTaken as exc:
        fail(str(exc))
    except SQLAlchemyError as exc:
        fail(f"the worker cannot record itself in the catalog: {reason_of(exc)}", EXIT_FAILED)
    sys.exit(code)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object a worker, a line each.")
@click.pass_obj
def workers(ctx: Context, as_json: bool) -> None:
    """The fleet: each worker's host, state, heartbeat, current sites, requests/s and errors; then hand-overs."""
    from scheduler.config import load_settings

    try:
        timeout = load_settings().worker_timeout
    except ConfigError as exc:
        fail(str(exc))
    _config, catalog, _store = open_archive(ctx, store=False)
    fleet, moved = catalog.fleet(timeout), catalog.handovers(10)
    if as_json:
        for row in fleet:
            click.echo(json.dumps(row, ensure_ascii=False))
        return
    if not fleet:
        click.echo("no workers have reported to this catalog (start one with `nianbao worker`)")
        return
    columns = [Column("worker"), Column("host"), Column("state"), Column("heartbeat"), Column("crawls", right=True),
               Column("sites", right=True), Column("requests", right=True), Column("req/s", right=True),
               Column("errors", right=True), Column("note")]
    rows = [(w["name"], w["host"], w["state"], f"{w['heartbeat_age']:.0f} s ago", len(w["crawls"]), len(w["sites"]),
             w["requests"], f"{w['requests_per_s']:.1f}", w["errors"], w["reason"] or "") for w in fleet]
    for line in table(columns, rows):
        click.echo(line)
    if moved:
        click.echo("\nhanded on:")
        for move in moved:
            click.echo(f"  {move['at']}  dispatch {move['dispatch']} ({len(move['sites'])} site(s)) from "
                       f"{move['from']}: {move['why']}; now {move['state']}"
                       + (f" on {move['now_on']}" if move["now_on"] else ""))
