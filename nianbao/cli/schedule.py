"""``nianbao schedule``: the service that crawls every site on the spring plan, and its job store."""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import click
from sqlalchemy import inspect
from sqlalchemy.exc import SQLAlchemyError

from archive.catalog import Catalog, CatalogError, isoformat, reason_of
from crawler.registry import Registry, RegistryError, Site, load_registry
from nianbao.config import ConfigError, internal_addresses_allowed
from scheduler.config import ScheduleSettings, load_settings
from scheduler.jobs import TABLE, describe, install, open_jobs
from scheduler.status import status

from .common import EXIT_BUSY, EXIT_FAILED, Context, crawl_args, fail, log_to_stderr, open_archive, parse_setting

_SITES = click.option("--sites", "sites_file", type=click.Path(dir_okay=False),
                      help="Registry YAML (default: national).")


@click.group()
def schedule() -> None:
    """Scheduled crawls: weekly in February–April, then in the first week of May … January.

    Sites that come due together are crawled in rounds: a few crawl processes over many sites each.
    Change the plan with NIANBAO_SCHEDULE (cron expressions separated by ';') or a site's `schedule:` field.
    """


@schedule.command("run")
@_SITES
@click.option("-s", "--set", "settings", multiple=True, metavar="NAME=VALUE",
              help="A scheduler setting (NIANBAO_SCHEDULE…, NIANBAO_SHUTDOWN_GRACE) or a crawler setting "
                   "passed on to every crawl.")
@click.pass_obj
def schedule_run(ctx: Context, sites_file: str | None, settings: tuple[str, ...]) -> None:
    """Run the scheduler service until SIGTERM or Ctrl-C (logs on stderr).

    Due sites are gathered into rounds; each crawl runs as `nianbao crawl --site A --site B …`, its
    output in NIANBAO_HOME/logs/schedule/crawl-….log (logs/schedule/sites/ID.log names a site's).
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
    arguments = crawl_args(sites_file, settings)
    log_to_stderr()
    try:
        code = Service(config, registry, options, arguments).run()
    except ServiceBusy as exc:
        fail(str(exc), EXIT_BUSY)
    except (CatalogError, SQLAlchemyError) as exc:
        fail(f"the schedule cannot be kept in the catalog: {reason_of(exc)}")
    sys.exit(code)


@schedule.command("round")
@_SITES
@click.option("--site", "site_keys", multiple=True, help="Site id or name; repeat for more (default: every site).")
@click.option("-s", "--set", "settings", multiple=True, metavar="NAME=VALUE",
              help="A round setting (NIANBAO_SCHEDULE_MAX_CRAWLS, NIANBAO_ROUND_SITES …) or a crawler setting "
                   "passed on to every crawl.")
@click.option("--json", "as_json", is_flag=True, help="The round's figures as one JSON object on stdout.")
@click.pass_obj
def schedule_round(ctx: Context, sites_file: str | None, site_keys: tuple[str, ...], settings: tuple[str, ...],
                   as_json: bool) -> None:
    """Crawl the sites in one round now, as the service does (the same crawls, split the same way); wait; print
    the round's figures.

    It needs no service, and may run beside one: a site another crawl is working on (the service's
    or anyone's) is left to it. Its crawls count on top of the service's NIANBAO_SCHEDULE_MAX_CRAWLS.
    Exit 0 when the round ran, 1 when a crawl failed or was stopped, 3 when every site was busy.
    """
    from scheduler.crawls import crawl_env
    from scheduler.rounds import Dispatcher, host_groups, round_figures

    try:
        overrides = dict(parse_setting(text) for text in settings)
        options = load_settings(overrides)
        allow_internal = internal_addresses_allowed(overrides.get("NIANBAO_ALLOW_INTERNAL_ADDRESSES"))
        registry = load_registry(sites_file, allow_internal)
        sites = registry.select(list(site_keys)) if site_keys else registry.sites
    except (RegistryError, ConfigError) as exc:
        fail(str(exc))
    config, catalog, _store = open_archive(ctx, create=True)  # bad storage or catalog: said once, not per crawl
    if options.broker:
        _fleet_round(catalog, options, sites, as_json)
        return
    # Every site is due now: nothing to gather. The rest is the service's path.
    dispatcher = Dispatcher(config.home, catalog, replace(options, gather=0, gather_max=0),
                            crawl_args(sites_file, settings), crawl_env(config), together=host_groups(sites))
    log_to_stderr()
    stop, force = threading.Event(), threading.Event()

    def on_signal(_signum: int, _frame: object) -> None:
        if stop.is_set():
            force.set()
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    dispatcher.add(site.id for site in sites)
    dispatching = threading.Thread(target=dispatcher.run, kwargs={"until_idle": True}, name="dispatcher", daemon=True)
    dispatching.start()
    try:
        while dispatching.is_alive():
            if stop.wait(0.5):
                logging.getLogger("nianbao.scheduler").info("stopping the round: its crawls are asked to end")
                dispatcher.stop(options.shutdown_grace, force)
                break
        dispatching.join()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    try:
        figures = round_figures(catalog, dispatcher, len(sites))
    except SQLAlchemyError as exc:
        fail(f"the round ended, but the catalog cannot be read: {reason_of(exc)}", EXIT_FAILED)
    figures["stopped"] = stop.is_set()
    if as_json:
        click.echo(json.dumps(figures, ensure_ascii=False))
    else:
        _print_round(figures)
    ran = [row for row in figures["crawls"] if row["status"] != "busy"]
    if not ran and not figures["not_started"] and not stop.is_set():
        fail("every site asked for is being crawled already", EXIT_BUSY)
    if stop.is_set() or figures["not_started"] or any(row["status"] != "finished" for row in ran):
        sys.exit(EXIT_FAILED)


def _fleet_round(catalog: Catalog, options: ScheduleSettings, sites: list[Site], as_json: bool) -> None:
    """The round handed to the workers (NIANBAO_BROKER), waited for, its figures printed. A stop (Ctrl-C) only
    stops waiting: the dispatches stay queued in the engine, for the workers."""
    from scheduler.handout import Handout, fleet_figures, wait
    from scheduler.rounds import host_groups

    log_to_stderr()
    handout = Handout(catalog, options)
    busy = catalog.site_holders([site.id for site in sites], options.worker_timeout)
    wanted = [site.id for site in sites if site.id not in busy and site.id not in handout.inside()]
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        handed = handout.hand_out(wanted, host_groups(sites))
        figures = fleet_figures(catalog, wait(handout, [d.id for d in handed], stop))
    except SQLAlchemyError as exc:
        fail(f"the round cannot be kept in the catalog: {reason_of(exc)}", EXIT_FAILED)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    figures.update(stopped=stop.is_set(), busy=busy, left=len(sites) - len(wanted) - len(busy))
    if as_json:
        click.echo(json.dumps(figures, ensure_ascii=False))
    else:
        click.echo(f"round of {figures['sites']} site(s) in {len(figures['dispatches'])} dispatch(es) on "
                   f"{len(figures['workers'])} worker(s): {figures['requests']} requests in {figures['seconds']:.1f} s "
                   f"= {figures['requests_per_s']:.1f} requests/s; {figures['moved']} hand-over(s)"
                   + (" (stopped waiting)" if figures["stopped"] else ""))
        for row in figures["dispatches"]:
            click.echo(f"dispatch {row['dispatch']}: {row['state']} on {row['worker'] or '-'} (attempt "
                       f"{row['attempt']}, run {row['run'] or '-'}), {len(row['sites'])} site(s), {row['requests']} "
                       f"requests, {row['errors']} errors")
    if not figures["dispatches"] and busy:
        fail("every site asked for is being crawled already", EXIT_BUSY)
    if figures["stopped"] or any(row["state"] != "done" for row in figures["dispatches"]):
        sys.exit(EXIT_FAILED)


def _print_round(figures: dict[str, Any]) -> None:
    crawls = figures["crawls"]
    click.echo(f"round of {figures['sites']} site(s) in {len(crawls)} crawl(s): {figures['requests']} requests in "
               f"{figures['seconds']:.1f} s = {figures['requests_per_s']:.1f} requests/s"
               + (" (stopped)" if figures["stopped"] else ""))
    head = (f"{'crawl':>5} {'run':>5}  {'status':<10} {'sites':>5} {'requests':>8} {'captures':>8} {'errors':>6} "
            f"{'seconds':>8} {'req/s':>6} {'peak RSS':>9}")
    click.echo(head)
    for row in crawls:
        click.echo(f"{row['crawl']:>5} {row['run'] or '-':>5}  {row['status']:<10} {len(row['sites']):>5} "
                   f"{row['requests']:>8} {row['captures']:>8} {row['errors']:>6} {row['seconds']:>8.1f} "
                   f"{row['requests_per_s']:>6.1f} {row['peak_rss_mb']:>6.0f} MB")
    click.echo(f"{'all':>5} {'':>5}  {'':<10} {sum(len(r['sites']) for r in crawls):>5} {figures['requests']:>8} "
               f"{figures['captures']:>8} {figures['errors']:>6} {figures['seconds']:>8.1f} "
               f"{figures['requests_per_s']:>6.1f}")
    for row in crawls:
        shown = ", ".join(row["sites"][:10]) + (f" … (+{len(row['sites']) - 10})" if len(row["sites"]) > 10 else "")
        click.echo(f"crawl {row['crawl']}: {shown}; log {row['log']}")
    if figures["busy"]:
        busy = figures["busy"].items()
        click.echo("busy, left to their crawls: " + ", ".join(f"{site} ({who})" for site, who in busy))
    if figures["not_started"]:
        click.echo("not started (see the log above): " + ", ".join(figures["not_started"]))


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
    running = {site for crawl in service.get("crawls", []) for site in crawl.get("sites", [])} \
        if service and service["alive"] else set()
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
        fail(f"cannot read the schedule from the catalog: {reason_of(exc)}")
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
        fail(f"cannot {verb} {key!r}: {reason_of(exc)}")
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
    crawls = service.get("crawls", [])
    now = (f"{len(crawls)} crawl(s) of {sum(len(c.get('sites', [])) for c in crawls)} site(s)" if crawls else "none")
    due = f"; {len(service.get('due', []))} site(s) due, gathering" if service.get("due") else ""
    return (f"scheduler: {service['state']} since {service['started_at']} (pid {service['pid']} on {service['host']}); "
            f"crawling now: {now}{due}")
