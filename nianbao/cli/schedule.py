"""``nianbao schedule``: the service that crawls every site on the spring plan, and its job store."""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import click
from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError

from archive.catalog import Catalog, CatalogError, isoformat
from crawler.registry import Registry, RegistryError, load_registry
from nianbao.config import ConfigError
from scheduler.config import NAMES, load_settings
from scheduler.jobs import TABLE, describe, install, open_jobs
from scheduler.status import status

from .common import EXIT_BUSY, Context, fail, open_archive, parse_setting

_SITES = click.option("--sites", "sites_file", type=click.Path(dir_okay=False),
                      help="Registry YAML (default: national).")


@click.group()
def schedule() -> None:
    """Scheduled crawls: weekly in February–April, then in the first week of May … January.

    Every site gets its own time (taken from its id) so that not all start at once; change the
    plan with NIANBAO_SCHEDULE (cron expressions separated by ';') or a site's `schedule:` field.
    """


@schedule.command("run")
@_SITES
@click.option("-s", "--set", "settings", multiple=True, metavar="NAME=VALUE",
              help="A scheduler setting (NIANBAO_SCHEDULE…, NIANBAO_SHUTDOWN_GRACE) or a crawler setting "
                   "passed on to every crawl.")
@click.pass_obj
def schedule_run(ctx: Context, sites_file: str | None, settings: tuple[str, ...]) -> None:
    """Run the scheduler service until SIGTERM or Ctrl-C (logs on stderr).

    Each crawl runs as `nianbao crawl --site ID`; its output goes to NIANBAO_HOME/logs/schedule/ID.log.
    On SIGTERM running crawls are asked to end (their runs recorded 'cancelled') and then the
    service exits 0; a second signal kills them at once.
    """
    from scheduler.service import Service, ServiceBusy

    try:
        overrides = dict(parse_setting(text) for text in settings)
        options = load_settings(overrides)
        registry = load_registry(sites_file)
    except (RegistryError, ConfigError) as exc:
        fail(str(exc))
    config, _catalog, _store = open_archive(ctx, create=True)  # bad storage or catalog: say so now, not per crawl
    crawl_args = ["--sites", str(Path(sites_file).resolve())] if sites_file else []
    for text in settings:
        if parse_setting(text)[0] not in NAMES:
            crawl_args += ["-s", text]
    _log_to_stderr()
    try:
        code = Service(config, registry, options, crawl_args).run()
    except ServiceBusy as exc:
        fail(str(exc), EXIT_BUSY)
    except (CatalogError, SQLAlchemyError) as exc:
        fail(f"the schedule cannot be kept in the catalog: {getattr(exc, 'orig', None) or exc}")
    sys.exit(code)


@schedule.command("show")
@_SITES
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line.")
@click.pass_obj
def schedule_show(ctx: Context, sites_file: str | None, as_json: bool) -> None:
    """The next run of every site, soonest first (paused ones last).

    What the service keeps in the catalog; for sites it has not installed yet (or with no
    service ever started) the next time the plan gives.
    """
    try:
        options = load_settings()
        config = ctx.config()
    except ConfigError as exc:
        fail(str(exc))
    service = status(config.home)
    running = {c["site"] for c in service.get("crawls", [])} if service and service["alive"] else set()
    try:
        catalog = Catalog(config.catalog, create=False)
    except CatalogError:
        catalog = None  # nothing crawled or scheduled yet: the plan alone
    stored = {}
    try:
        if catalog is not None and inspect(catalog.engine).has_table(TABLE):  # a read: create no table
            with open_jobs(catalog.engine, options.plan.timezone) as scheduler:
                stored = {job.id: job for job in scheduler.get_jobs(jobstore="default")}
    except SQLAlchemyError as exc:
        fail(f"cannot read the schedule from the catalog: {getattr(exc, 'orig', None) or exc}")
    if stored and not sites_file:
        rows = [describe(job, None, job.id, running) for job in stored.values()]
    else:
        registry = _registry(sites_file)
        rows = [describe(stored.get(site.id), options.plan.trigger(site.id, site.schedule), site.id, running)
                for site in registry.sites]
    rows.sort(key=lambda row: (row["next_run"] is None, row["next_run"] or "", row["site"]))
    now = isoformat(datetime.now(UTC))
    for row in rows:
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            state = ("paused" if row["paused"] else "") + (" running" if row["running"] else "")
            overdue = not (service and service["alive"]) and (row["next_run"] or now) < now
            state += " overdue (runs once when the service is up)" if overdue else ""
            state += "" if row["installed"] else " (plan; not installed yet)"
            click.echo(f"{row['site']:<24} {row['next_run'] or '-':<28} {state.strip()}")
    if not as_json:
        click.echo(_service_line(service), err=True)


@schedule.command("pause")
@click.argument("site")
@_SITES
@click.pass_obj
def schedule_pause(ctx: Context, site: str, sites_file: str | None) -> None:
    """Start no more crawls of SITE (a crawl already running finishes) until `resume`."""
    _toggle(ctx, site, sites_file, pause=True)


@schedule.command("resume")
@click.argument("site")
@_SITES
@click.pass_obj
def schedule_resume(ctx: Context, site: str, sites_file: str | None) -> None:
    """Crawl SITE on its plan again, from its next time."""
    _toggle(ctx, site, sites_file, pause=False)


def _toggle(ctx: Context, key: str, sites_file: str | None, pause: bool) -> None:
    """Pause or resume in the job store itself, so it works whether the service runs or not."""
    verb = "pause" if pause else "resume"
    try:
        options = load_settings()
        config = ctx.config()
    except ConfigError as exc:
        fail(str(exc))
    site = None
    try:
        catalog = Catalog(config.catalog, create=False)
    except CatalogError as exc:  # no schedule yet: the site must be in the registry before anything is created
        site = _site(key, sites_file, verb)
        _config, catalog, _store = open_archive(ctx, store=False, create=True)
        click.echo(f"nianbao: {exc}: made a new one for the schedule (a mistyped NIANBAO_HOME?)", err=True)
    try:
        with open_jobs(catalog.engine, options.plan.timezone) as scheduler:
            job = scheduler.get_job(key, jobstore="default")
            if job is None:  # by name, or a site the service has not installed yet: as the service would
                site = site or _site(key, sites_file, verb)
                job = scheduler.get_job(site.id, jobstore="default") or install(
                    scheduler, site, options.plan, options.misfire_grace)
            if pause:
                scheduler.pause_job(job.id, jobstore="default")
            else:
                scheduler.resume_job(job.id, jobstore="default")
            after = scheduler.get_job(job.id, jobstore="default")
    except (SQLAlchemyError, ConfigError) as exc:
        fail(f"cannot {verb} {key!r}: {getattr(exc, 'orig', None) or exc}")
    if after is None:  # resume_job drops a job whose plan has no time left
        fail(f"{job.id}: its schedule has no more runs; the job was removed")
    row = describe(after, None, job.id, set())
    click.echo(f"{row['site']}: paused" if pause else f"{row['site']}: resumed; next run {row['next_run']}")


def _site(key: str, sites_file: str | None, verb: str):
    registry = _registry(sites_file)
    try:
        (site,) = registry.select([key])
    except RegistryError as exc:
        fail(f"cannot {verb} {key!r}: not in the schedule, and {exc}")
    return site


def _registry(sites_file: str | None) -> Registry:
    try:
        return load_registry(sites_file)
    except RegistryError as exc:
        fail(str(exc))


def _service_line(service: dict | None) -> str:
    if not service or not service.get("alive"):
        return "scheduler: not running (`nianbao schedule run` starts it)"
    crawls = ", ".join(c["site"] for c in service["crawls"]) or "none"
    return (f"scheduler: {service['state']} since {service['started_at']} (pid {service['pid']} on {service['host']}); "
            f"crawling now: {crawls}")


def _log_to_stderr() -> None:
    handler = logging.StreamHandler(sys.stderr)
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%SZ")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
