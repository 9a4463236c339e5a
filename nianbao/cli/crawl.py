"""``nianbao crawl``: a crawl by hand, recorded as a run like a scheduled one."""

from __future__ import annotations

import sys

import click
from sqlalchemy.exc import SQLAlchemyError

from archive.catalog import Catalog, reason_of
from archive.runlogs import store_logs
from crawler.registry import RegistryError, load_registry
from nianbao.config import ConfigError, internal_addresses_allowed, reach_proxy, redact
from scheduler.config import load_settings
from scheduler.locks import SiteLocks

from .common import EXIT_BUSY, EXIT_FAILED, Context, fail, open_archive, parse_setting
from .runs import busiest_second

#: Seconds the proxy is given to accept a connection before the crawl is refused.
PROXY_TIMEOUT = 10


@click.command()
@click.option("--sites", "sites_file", type=click.Path(dir_okay=False), help="Registry YAML (default: national).")
@click.option("--site", "site_keys", multiple=True, help="Site id or name; repeat for more (default: all).")
@click.option("--proxy", envvar="NIANBAO_PROXY", help="HTTP proxy for every fetch (http://[user:pass@]host:port).")
@click.option("-s", "--set", "settings", multiple=True, metavar="NAME=VALUE",
              help="A crawler setting (see crawler/settings.py), e.g. -s CONCURRENT_REQUESTS_PER_DOMAIN=1.")
@click.option("--log-level", default="WARNING", show_default=True, help="Scrapy's log level on stderr.",
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
@click.option("--trigger", default="manual", hidden=True, type=click.Choice(["manual", "schedule"]),
              help="Who started the run (the scheduler says so).")
@click.pass_obj
def crawl(ctx: Context, sites_file: str | None, site_keys: tuple[str, ...], proxy: str | None,
          settings: tuple[str, ...], log_level: str, trigger: str) -> None:
    """Crawl the sites' report lists and archive every report and attachment.

    Progress (a line per report and attachment) goes to stderr, the summary table to stdout.
    A site another crawl is working on is left to it (exit 3 when that leaves nothing).
    """
    ctx.overrides["proxy"] = proxy
    try:
        overrides = dict(parse_setting(text) for text in settings)
        # The registry accepts what the crawl will fetch: the same NIANBAO_ALLOW_INTERNAL_ADDRESSES, -s first.
        allow_internal = internal_addresses_allowed(overrides.get("NIANBAO_ALLOW_INTERNAL_ADDRESSES"))
        registry = load_registry(sites_file, allow_internal)
        if not site_keys and sites_file is None:
            raise RegistryError("name the sites to crawl with --site ID (or give a registry with --sites FILE): "
                                f"the national registry has {len(registry)} sites")
        sites = registry.select(list(site_keys)) if site_keys else registry.sites
        if proxy:
            reach_proxy(proxy, PROXY_TIMEOUT)
        fleet = load_settings(overrides)
    except (RegistryError, ConfigError) as exc:
        fail(str(exc))
    ctx.overrides["archive_timeout"] = overrides.get("NIANBAO_ARCHIVE_TIMEOUT")  # the crawl's -s, checked here too
    config, catalog, store = open_archive(ctx, create=True)  # fails here, before any fetch, on bad storage or catalog
    locks = SiteLocks(catalog, fleet.site_lease, fleet.worker_timeout)
    try:
        busy = locks.acquire([s.id for s in sites])
    except SQLAlchemyError as exc:
        fail(f"the sites' leases cannot be taken in the catalog: {reason_of(exc)}", EXIT_FAILED)
    try:
        for site_id, holder in busy.items():
            click.echo(f"nianbao: {site_id} is being crawled by {holder}; left to that crawl", err=True)
        sites = [s for s in sites if s.id not in busy]
        if not sites:
            fail("every site asked for is being crawled already", EXIT_BUSY)

        from crawler.runner import run_crawl

        click.echo(f"crawling {len(sites)} site(s) from {registry.source}"
                   + (f" through proxy {redact(config.proxy)}" if config.proxy else ""), err=True)
        overrides["NIANBAO_RUN_TRIGGER"] = trigger
        run_id = run_crawl(config, [s.id for s in sites], sites_file, log_level, overrides)
        try:
            catalog.close_open_run(run_id, "interrupted before the crawl could close its run")
            if run_id:  # stopped too hard for the crawl to store its log (a second Ctrl-C, a signal while starting)
                store_logs(catalog, config.home, store, [run_id])
            print_summary(catalog, run_id, [s.id for s in sites])
        except SQLAlchemyError as exc:
            fail(f"the crawl ended, but the catalog cannot be read: {reason_of(exc)}", EXIT_FAILED)
    finally:
        locks.release()


def print_summary(catalog: Catalog, run_id: int | None, site_ids: list[str]) -> None:
    """The table a person reads after a crawl; exits 1 when the run did not finish."""
    run = catalog.run(run_id) if run_id else None
    if run is None:
        fail("the crawl did not start; see the log above", EXIT_FAILED)
    summary = catalog.site_summary(run_id)
    click.echo(f"\nrun {run_id} {run.status}" + (f": {run.stats['stopped']}" if run.stats.get("stopped") else ""))
    click.echo(f"{'site':<24} {'reports':>8} {'attachments':>12} {'list pages':>11} {'errors':>7}")
    for site_id in site_ids:
        row = summary.get(site_id, {})
        click.echo(f"{site_id:<24} {row.get('report', 0):>8} {row.get('attachment', 0):>12} "
                   f"{row.get('list', 0):>11} {row.get('errors', 0):>7}")
    if "busiest_second" in run.stats:
        click.echo(f"busiest second: {busiest_second(run.stats)}")
    failures = catalog.failures(run=run_id)
    if failures:
        click.echo(f"\n{len(failures)} error(s); first ones:")
        for failure in failures[:10]:
            click.echo(f"  {failure.site}: {failure.reason}: {failure.url}")
    if run.status != "finished":
        sys.exit(EXIT_FAILED)
