"""``nianbao``: a thin command line over the crawler and the archive."""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import click
from sqlalchemy.exc import SQLAlchemyError

from archive.catalog import Catalog, CatalogError
from archive.storage import IntegrityError, StorageError, open_store
from crawler.registry import RegistryError, load_registry
from nianbao.config import Config, ConfigError, check_proxy_url, redact

#: Exit status for configuration that cannot work (registry, storage, catalog, proxy).
EXIT_CONFIG = 2
EXIT_FAILED = 1


class Context:
    def __init__(self, overrides: dict[str, str | None]) -> None:
        self.overrides = overrides

    def config(self) -> Config:
        return Config.from_env(**self.overrides)


def fail(message: str, code: int = EXIT_CONFIG) -> None:
    click.echo(f"nianbao: error: {message}", err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--home", envvar="NIANBAO_HOME", help="Working directory (default ./var).")
@click.option("--storage", envvar="NIANBAO_STORAGE", help="file:///PATH or s3://BUCKET[/PREFIX].")
@click.option("--catalog", envvar="NIANBAO_CATALOG", help="SQLAlchemy URL of the catalog database.")
@click.pass_context
def main(ctx: click.Context, home: str | None, storage: str | None, catalog: str | None) -> None:
    """Crawl and archive Chinese government information-disclosure annual reports (年报)."""
    ctx.obj = Context({"home": home, "storage": storage, "catalog": catalog})


def _open(ctx: Context, *, store: bool = True, create: bool = False):
    """Config, catalog and store; read-only commands never create an archive where there is none."""
    try:
        config = ctx.config()
        catalog = Catalog(config.catalog, create=create)
        return config, catalog, (open_store(config, create=create) if store else None)
    except (ConfigError, CatalogError, StorageError) as exc:
        fail(str(exc))


def _setting(text: str) -> tuple[str, str]:
    name, sep, value = text.partition("=")
    if not sep or not name.strip().isidentifier() or name.strip().upper() != name.strip():
        raise ConfigError(f"-s {text!r}: expected NAME=VALUE with an upper-case setting name")
    return name.strip(), value


def _check_proxy(proxy: str) -> None:
    """A proxy that is not there would turn every site into an error: say so before crawling."""
    check_proxy_url(proxy)
    parts = urlsplit(proxy)
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=10).close()
    except OSError as exc:
        raise ConfigError(f"proxy {redact(proxy)!r} is unreachable: {exc.strerror or exc}") from None


# -- crawl --------------------------------------------------------------------------------------
@main.command()
@click.option("--sites", "sites_file", type=click.Path(dir_okay=False), help="Registry YAML (default: national).")
@click.option("--site", "site_keys", multiple=True, help="Site id or name; repeat for more (default: all).")
@click.option("--proxy", envvar="NIANBAO_PROXY", help="HTTP proxy for every fetch (http://[user:pass@]host:port).")
@click.option("-s", "--set", "settings", multiple=True, metavar="NAME=VALUE",
              help="A crawler setting (see crawler/settings.py), e.g. -s CONCURRENT_REQUESTS_PER_DOMAIN=1.")
@click.option("--log-level", default="WARNING", show_default=True, help="Scrapy's log level on stderr.",
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
@click.pass_obj
def crawl(ctx: Context, sites_file: str | None, site_keys: tuple[str, ...], proxy: str | None,
          settings: tuple[str, ...], log_level: str) -> None:
    """Crawl the sites' report lists and archive every report and attachment.

    Progress (a line per report and attachment) goes to stderr, the summary table to stdout.
    """
    ctx.overrides["proxy"] = proxy
    try:
        registry = load_registry(sites_file)
        if not site_keys and sites_file is None:
            raise RegistryError("name the sites to crawl with --site ID (or give a registry with --sites FILE): "
                                f"the national registry has {len(registry)} sites")
        sites = registry.select(list(site_keys)) if site_keys else registry.sites
        if proxy:
            _check_proxy(proxy)
        overrides = dict(_setting(text) for text in settings)
    except (RegistryError, ConfigError) as exc:
        fail(str(exc))
    config, catalog, _store = _open(ctx, create=True)  # fails here, before any fetch, on bad storage or catalog

    from crawler.runner import run_crawl

    click.echo(f"crawling {len(sites)} site(s) from {registry.source}"
               + (f" through proxy {redact(config.proxy)}" if config.proxy else ""), err=True)
    run_id = run_crawl(config, [s.id for s in sites], sites_file, log_level, overrides)
    try:
        print_summary(catalog, run_id, [s.id for s in sites])
    except SQLAlchemyError as exc:
        fail(f"the crawl ended, but the catalog cannot be read: {getattr(exc, 'orig', None) or exc}", EXIT_FAILED)


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
    failures = catalog.failures(run=run_id)
    if failures:
        click.echo(f"\n{len(failures)} error(s); first ones:")
        for failure in failures[:10]:
            click.echo(f"  {failure.site}: {failure.reason}: {failure.url}")
    if run.status != "finished":
        sys.exit(EXIT_FAILED)


# -- sites --------------------------------------------------------------------------------------
@main.group()
def sites() -> None:
    """The site registry."""


@sites.command("list")
@click.option("--sites", "sites_file", type=click.Path(dir_okay=False), help="Registry YAML (default: national).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line.")
def sites_list(sites_file: str | None, as_json: bool) -> None:
    """List (and so validate) a registry."""
    try:
        registry = load_registry(sites_file)
    except RegistryError as exc:
        fail(str(exc))
    for site in registry.sites:
        if as_json:
            click.echo(json.dumps({"id": site.id, "name": site.name, "province": site.province,
                                   "prefecture": site.prefecture, "home": site.home,
                                   "report_lists": list(site.report_lists),
                                   "attachment_hosts": list(site.attachment_hosts)}, ensure_ascii=False))
        else:
            click.echo(f"{site.id:<20} {(site.province or '') + (site.prefecture or '') + site.name:<24} {site.home}")


# -- archive ------------------------------------------------------------------------------------
@main.group()
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
    _config, catalog, _ = _open(ctx, store=False)
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
    _config, catalog, store = _open(ctx)
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


def write_file(target: Path, data: bytes) -> None:
    """Write beside the target and rename, so an interrupted get never leaves a partial file."""
    if target.is_dir() or not target.name:
        raise IsADirectoryError(21, "is a directory; give a file name")
    if not target.parent.is_dir():
        raise FileNotFoundError(2, f"directory {target.parent} does not exist")
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        umask = os.umask(0o022)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# -- parse queue --------------------------------------------------------------------------------
@main.group("parse-queue")
def parse_queue() -> None:
    """Bodies waiting for the parser (an outbox in the catalog)."""


@parse_queue.command("list")
@click.option("--all", "every", is_flag=True, help="Include requests already taken.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line.")
@click.pass_obj
def parse_queue_list(ctx: Context, every: bool, as_json: bool) -> None:
    """Pending parse requests: one per distinct report or attachment body."""
    _config, catalog, _ = _open(ctx, store=False)
    for row in catalog.parse_queue(None if every else "pending"):
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            click.echo(f"{row['id']:>6} {row['state']:<8} {row['kind']:<10} {row['sha256'][:12]} {row['url']}")


if __name__ == "__main__":  # pragma: no cover
    main()
