"""``nianbao parse-queue list``: what ``nianbao parse queue`` was called before, kept (hidden) for the scripts
and the tests that use it."""

from __future__ import annotations

import click

from .common import Context
from .parse import list_queue


@click.group("parse-queue", hidden=True)
def parse_queue() -> None:
    """Bodies waiting for the parser: now ``nianbao parse queue``."""


@parse_queue.command("list")
@click.option("--all", "every", is_flag=True, help="Include requests already taken.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line.")
@click.pass_obj
def parse_queue_list(ctx: Context, every: bool, as_json: bool) -> None:
    """Pending parse requests: one per distinct report or attachment body."""
    list_queue(ctx, None if every else "pending", as_json)
