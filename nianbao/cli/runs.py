"""``nianbao runs``: every crawl, scheduled or by hand, with its figures and its log."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import click

from archive import runlogs
from archive.catalog import RUN_STATUSES, Catalog, Run
from archive.runlogs import LEVELS, at_least, log_path, parse_lines, read_log
from archive.storage import ObjectStore, StorageError, open_store
from nianbao.config import Config

from .common import EXIT_FAILED, Context, fail, open_archive


@click.group()
def runs() -> None:
    """Runs (crawls) and their logs."""


@runs.command("list")
@click.option("--site", help="Only runs that crawled this site id.")
@click.option("--status", type=click.Choice(RUN_STATUSES))
@click.option("--limit", type=int, default=50, show_default=True, help="At most this many, newest first.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line.")
@click.pass_obj
def runs_list(ctx: Context, site: str | None, status: str | None, limit: int, as_json: bool) -> None:
    """Runs, newest first: id, status, trigger, start, duration, sites, reports, errors."""
    config, catalog, _ = open_archive(ctx, store=False)
    end_dead_runs(config, catalog)
    rows = catalog.runs(site=site, status=status, limit=limit)
    if as_json:
        for run in rows:
            click.echo(json.dumps(run.as_dict(), ensure_ascii=False))
        return
    click.echo(f"{'run':>5} {'status':<9} {'trigger':<8} {'started':<20} {'time':>8} {'reports':>7} {'new':>5} "
               f"{'errors':>6}  sites")
    for run in rows:
        stats = run.stats or {}
        click.echo(f"{run.id:>5} {run.status:<9} {run.trigger:<8} {run.started_at.isoformat(timespec='seconds'):<20} "
                   f"{_duration(run):>8} {stats.get('reports', 0):>7} {stats.get('new_reports', 0):>5} "
                   f"{stats.get('errors', 0):>6}  {_sites(run.sites)}")


@runs.command("show")
@click.argument("run_id", metavar="RUN", type=int)
@click.option("--json", "as_json", is_flag=True, help="The run as one JSON object.")
@click.pass_obj
def runs_show(ctx: Context, run_id: int, as_json: bool) -> None:
    """A run's figures: requests, responses by status, reports (new), versions, bytes, errors by reason."""
    config, catalog, _ = open_archive(ctx, store=False)
    end_dead_runs(config, catalog)
    run = _get(catalog, run_id)
    if as_json:
        click.echo(json.dumps(run.as_dict(), ensure_ascii=False, indent=2))
        return
    stats, row = run.stats or {}, run.as_dict()
    for name in ("id", "status", "trigger", "started_at", "finished_at", "updated_at", "host", "pid", "log_sha256"):
        click.echo(f"{name:<16} {row[name] if row[name] is not None else '-'}")
    click.echo(f"{'sites':<16} {', '.join(run.sites)}")
    if stats.get("stopped"):
        click.echo(f"{'stopped':<16} {stats['stopped']}")
    for name in ("requests", "not_modified", "fresh_skipped", "replayed", "rendered", "reports", "new_reports",
                 "new_versions", "gone", "attachments", "list_pages", "objects_stored", "bytes_stored", "errors"):
        click.echo(f"{name:<16} {stats.get(name, 0)}")
    if "busiest_second" in stats:  # runs recorded before it was counted have none
        click.echo(f"{'busiest second':<16} {busiest_second(stats)}")
    for title, key in (("responses", "responses"), ("errors by reason", "errors_by_reason")):
        if stats.get(key):
            click.echo(f"{title}:")
            for name, count in stats[key].items():
                click.echo(f"  {name:<40} {count:>7}")
    for outage in stats.get("outages") or []:  # storage or catalog away: what was spooled meanwhile
        click.echo(f"outage: {outage.get('what')} from {outage.get('from')} for {outage.get('seconds')} s, "
                   f"{outage.get('bodies', 0)} bodies ({outage.get('bytes', 0)} bytes) spooled"
                   + ("" if outage.get("drained", True) else ", not drained yet"))
    if by_host := stats.get("busiest_second_by_host"):
        click.echo("busiest second per host:")
        for host, count in list(by_host.items())[:_HOSTS_SHOWN]:
            click.echo(f"  {host:<40} {count:>7}")
        if len(by_host) > _HOSTS_SHOWN:
            click.echo(f"  … and {len(by_host) - _HOSTS_SHOWN} more hosts (--json shows every one)")
    if stats.get("sites"):
        click.echo(f"{'site':<24} {'reports':>8} {'attachments':>12} {'list pages':>11} {'errors':>7}")
        for site, counts in sorted(stats["sites"].items()):
            click.echo(f"{site:<24} {counts.get('reports', 0):>8} {counts.get('attachments', 0):>12} "
                       f"{counts.get('list_pages', 0):>11} {counts.get('errors', 0):>7}")


#: Hosts listed by ``runs show`` under "busiest second per host", the busiest first.
_HOSTS_SHOWN = 10


def busiest_second(stats: dict[str, Any]) -> str:
    """The politeness figure in words: the most requests one host got in one second, and which host."""
    count, by_host = stats.get("busiest_second", 0), stats.get("busiest_second_by_host") or {}
    if not count:
        return "no request sent"
    hosts = [host for host, n in by_host.items() if n == count]
    where = f" ({hosts[0]}" + (f" and {len(hosts) - 1} more" if len(hosts) > 1 else "") + ")" if hosts else ""
    return f"{count} request{'s' if count != 1 else ''} to one host{where}"


@runs.command("log")
@click.argument("run_id", metavar="RUN", type=int)
@click.option("--level", type=click.Choice([level.lower() for level in LEVELS], case_sensitive=False),
              default="info", show_default=True, help="Lowest level shown.")
@click.option("--site", help="Only lines about this site id.")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new lines until the run ends.")
@click.option("--json", "as_json", is_flag=True, help="The JSON lines as stored.")
@click.pass_obj
def runs_log(ctx: Context, run_id: int, level: str, site: str | None, follow: bool, as_json: bool) -> None:
    """A run's structured log (time, level, site, URL, event, reason), from disk or object storage."""
    config, catalog, store = open_archive(ctx)
    end_dead_runs(config, catalog, store)
    run = _get(catalog, run_id)
    wanted = at_least(level)
    try:
        lines = _follow(catalog, run, config.home) if follow else read_log(config.home, store, run.id, run.log_sha256)
        for line in lines:
            if wanted(line) and (site is None or line.get("site") == site):
                click.echo(json.dumps(line, ensure_ascii=False) if as_json else _format(line))
    except FileNotFoundError as exc:
        fail(str(exc), EXIT_FAILED)
    except StorageError as exc:
        fail(f"run {run_id}'s log cannot be read from storage: {exc}", EXIT_FAILED)


def _follow(catalog: Catalog, run: Run, home: Any, poll: float = 0.5) -> Iterator[dict[str, Any]]:
    """``tail -f`` the log file until the run is over and everything it wrote was read."""
    path = log_path(home, run.id)
    while not path.exists():
        if catalog.run(run.id).status != "running":
            raise FileNotFoundError(f"run {run.id} has no log here ({path})")
        time.sleep(poll)
    with path.open(encoding="utf-8", errors="replace") as fh:
        pending = ""
        while True:
            chunk = fh.read()
            if chunk:
                pending += chunk
                complete, _, pending = pending.rpartition("\n")
                yield from parse_lines(complete.splitlines())
                continue
            if catalog.run(run.id).status != "running":
                yield from parse_lines([pending])
                return
            time.sleep(poll)


def _format(line: dict[str, Any]) -> str:
    where = " ".join(part for part in (line.get("site"), line.get("url")) if part)
    return f"{line.get('time', '')[:23]} {line.get('level', ''):<7} {line.get('event', ''):<12} " \
           f"{line.get('message', '')}" + (f"  [{where}]" if where and where not in line.get("message", "") else "")


def end_dead_runs(config: Config, catalog: Catalog, store: ObjectStore | None = None) -> None:
    runlogs.end_dead_runs(catalog, config.home, lambda: store or open_store(config, create=False))


def _get(catalog: Catalog, run_id: int) -> Run:
    run = catalog.run(run_id)
    if run is None:
        fail(f"no run {run_id} in the catalog (see nianbao runs list)", EXIT_FAILED)
    return run


def _duration(run: Run) -> str:
    end = run.finished_at or run.updated_at
    if end is None:
        return "-"
    seconds = int((end - run.started_at).total_seconds())
    return f"{seconds // 3600}:{seconds // 60 % 60:02}:{seconds % 60:02}"


def _sites(sites: list[str]) -> str:
    return ", ".join(sites[:4]) + (f" … (+{len(sites) - 4})" if len(sites) > 4 else "")
