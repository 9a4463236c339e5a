"""What every command shares: configuration from the group's options, errors, exit statuses."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from functools import cache
from pathlib import Path
from typing import NoReturn

import click
from scrapy.settings import Settings

from archive.catalog import Catalog, CatalogError
from archive.storage import StorageError, open_store
from nianbao.config import Config, ConfigError

#: Exit status for configuration that cannot work (registry, storage, catalog, proxy).
EXIT_CONFIG = 2
EXIT_FAILED = 1
#: Exit status when every site asked for is being crawled by another run.
EXIT_BUSY = 3


class Context:
    def __init__(self, overrides: dict[str, str | None]) -> None:
        self.overrides = overrides

    def config(self) -> Config:
        return Config.from_env(**self.overrides)


def fail(message: str, code: int = EXIT_CONFIG) -> NoReturn:
    click.echo(f"nianbao: error: {message}", err=True)
    sys.exit(code)


def open_archive(ctx: Context, *, store: bool = True, create: bool = False):
    """Config, catalog and store; read-only commands never create an archive where there is none."""
    try:
        config = ctx.config()
        if not create:  # reading: "no catalog (is NIANBAO_HOME right?)" says more than "no storage"
            return (config, Catalog(config.catalog, create=False, timeout=config.timeout),
                    open_store(config, create=False) if store else None)
        objects = open_store(config) if store else None  # first: an unreachable store leaves no empty catalog
        return config, Catalog(config.catalog, timeout=config.timeout), objects
    except (ConfigError, CatalogError, StorageError) as exc:
        fail(str(exc))


def parse_setting(text: str) -> tuple[str, str]:
    """``NAME=VALUE`` for a setting that exists (Scrapy's or crawler/settings.py), its value of the right kind."""
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier() or name.upper() != name:
        raise ConfigError(f"-s {text!r}: expected NAME=VALUE with an upper-case setting name")
    defaults = _defaults()
    if name not in defaults:  # a misspelling, or an add-on's setting (PLAYWRIGHT_…): said, then passed on
        click.echo(f"nianbao: warning: -s {name}: not a setting of nianbao or Scrapy (crawler/settings.py); "
                   "passed on as given", err=True)
        return name, value
    default = defaults[name]
    try:
        if isinstance(default, bool) and value.strip().lower() not in _BOOLEANS:
            raise ValueError("true or false")
        if isinstance(default, int | float) and not isinstance(default, bool):
            float(value)
    except ValueError:
        what = "true or false" if isinstance(default, bool) else "a number"
        raise ConfigError(f"-s {name}={value!r}: expected {what}, like the default {default!r}") from None
    return name, value


_BOOLEANS = {"1", "0", "true", "false", "yes", "no", "on", "off"}


@cache
def _defaults() -> Settings:
    from crawler.runner import project_settings  # Scrapy's crawler machinery: only commands given -s need it

    return project_settings()


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


def crawl_args(sites_file: str | None, settings: tuple[str, ...]) -> list[str]:
    """What every crawl of the service or a round gets before its sites: the registry, and the crawler's -s."""
    from scheduler.config import NAMES  # Scrapy's settings under it: only commands that crawl need it

    args = ["--sites", str(Path(sites_file).resolve())] if sites_file else []
    for text in settings:
        if parse_setting(text)[0] not in NAMES:
            args += ["-s", text]
    return args


def log_to_stderr() -> None:
    """The services' log lines (scheduler, worker), in UTC."""
    handler = logging.StreamHandler(sys.stderr)
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%dT%H:%M:%SZ")
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
