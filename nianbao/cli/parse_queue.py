"""``nianbao parse-queue``: the outbox of bodies for the parser."""

from __future__ import annotations

import json

import click

from .common import Context, open_archive


@click.group("parse-queue")
def parse_queue() -> None:
    """Bodies waiting for the parser (an outbox in the catalog)."""


@parse_queue.command("list")
@click.option("--all", "every", is_flag=True, help="Include requests already taken.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line.")
@click.pass_obj
def parse_queue_list(ctx: Context, every: bool, as_json: bool) -> None:
    """Pending parse requests: one per distinct report or attachment body."""
    _config, catalog, _ = open_archive(ctx, store=False)
    for row in catalog.parse_queue(None if every else "pending"):
        if as_json:
            click.echo(json.dumps(row, ensure_ascii=False))
        else:
            click.echo(f"{row['id']:>6} {row['state']:<8} {row['kind']:<10} {row['sha256'][:12]} {row['url']}")
