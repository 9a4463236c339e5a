"""``nianbao sites``: the site registry."""

from __future__ import annotations

import json

import click

from crawler.registry import RegistryError, load_registry

from .common import fail
from .table import Column, table


@click.group()
def sites() -> None:
    """The site registry."""


@sites.command("list")
@click.option("--sites", "sites_file", type=click.Path(dir_okay=False), help="Registry YAML (default: national).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object a line.")
def sites_list(sites_file: str | None, as_json: bool) -> None:
    """List (and so validate) a registry: id, name (with province and prefecture), home page."""
    try:
        registry = load_registry(sites_file)
    except RegistryError as exc:
        fail(str(exc))
    if not as_json:
        for line in table([Column("id"), Column("name"), Column("home")],
                          ((site.id, site.full_name, site.home) for site in registry.sites)):
            click.echo(line)
        return
    for site in registry.sites:
        click.echo(json.dumps({"id": site.id, "name": site.name, "province": site.province,
                               "prefecture": site.prefecture, "home": site.home,
                               "report_lists": list(site.report_lists),
                               "attachment_hosts": list(site.attachment_hosts)}, ensure_ascii=False))
