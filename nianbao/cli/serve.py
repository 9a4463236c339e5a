"""``nianbao serve``: the dashboard, its JSON API and /metrics over an existing archive.

The token comes from ``--token-file`` or ``NIANBAO_TOKEN``; without either, one is generated
once into ``NIANBAO_HOME/dashboard-token`` (mode 0600) and only that file's path is printed.
Listening beyond loopback needs a token chosen on purpose (not the generated one): exposing
the dashboard is a deployment decision, and it should come with TLS (``--ssl-certfile``, or a
reverse proxy) since the token otherwise crosses the network in clear.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import secrets
import stat
from datetime import datetime
from pathlib import Path

import click

from archive.catalog import CatalogError
from archive.storage import StorageError
from crawler.registry import RegistryError, load_registry

from .common import Context, fail, open_archive

TOKEN_FILE = "dashboard-token"


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option("--sites", "sites_file", type=click.Path(dir_okay=False), help="Registry YAML (default: national).")
@click.option("--token-file", type=click.Path(dir_okay=False, exists=True), help="File holding the token.")
@click.option("--ssl-certfile", type=click.Path(dir_okay=False, exists=True), help="Serve HTTPS with this certificate.")
@click.option("--ssl-keyfile", type=click.Path(dir_okay=False, exists=True), help="… and this key.")
@click.option("--lockout-delay", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="How long an address is locked out after 5 wrong tokens in a row (default 1); "
                   "doubled with each more.")
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), hidden=True,
              help="Judge report deadlines as of this date (the flags of a past spring).")
@click.pass_obj
def serve(ctx: Context, host: str, port: int, sites_file: str | None, token_file: str | None,
          ssl_certfile: str | None, ssl_keyfile: str | None, lockout_delay: float | None,
          as_of: datetime | None) -> None:
    """Serve the dashboard and the JSON API (token required) and /metrics, /healthz (open).

    \b
    The token: --token-file, else NIANBAO_TOKEN, else one generated once into
    NIANBAO_HOME/dashboard-token (mode 0600; only its path is printed). A --host beyond
    loopback needs NIANBAO_TOKEN or --token-file, and TLS (--ssl-certfile or a reverse proxy).
    """
    try:
        registry = load_registry(sites_file)
    except RegistryError as exc:
        fail(str(exc))
    config, catalog, store = open_archive(ctx, create=False)
    explicit = _configured_token(token_file)
    if not _loopback(host) and explicit is None:
        fail(f"--host {host} is reachable from other machines: set NIANBAO_TOKEN or --token-file "
             "(a token generated for this machine is not for the network)")
    if not _loopback(host) and not ssl_certfile:
        click.echo("nianbao: warning: plain HTTP beyond loopback: the token and the pages cross the network "
                   "unencrypted; use --ssl-certfile/--ssl-keyfile or a TLS reverse proxy", err=True)
    token = explicit or _generated_token(config.home)

    import uvicorn

    from web.app import create_app

    try:
        app = create_app(config, registry, token, catalog=catalog, store=store,
                         as_of=as_of.date() if as_of else None, lockout_delay=lockout_delay)
    except (CatalogError, StorageError, ValueError) as exc:
        fail(str(exc))
    click.echo(f"nianbao: dashboard on http{'s' if ssl_certfile else ''}://{host}:{port}/ for {len(registry)} "
               f"site(s) from {registry.source}", err=True)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="info", server_header=False,
                                           ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile))
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # configured by uvicorn.Config just above
        logging.getLogger(name).addFilter(Redact(token))
    server.run()


class Redact(logging.Filter):
    """The token out of every log line, even from a client that put it in a URL (it is refused there)."""

    def __init__(self, secret: str) -> None:
        super().__init__()
        self.secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        """Redacted in place: uvicorn's access formatter needs the arguments, not a formatted message."""
        if isinstance(record.msg, str):
            record.msg = record.msg.replace(self.secret, "***")
        if isinstance(record.args, tuple):
            record.args = tuple(a.replace(self.secret, "***") if isinstance(a, str) else a for a in record.args)
        return True


def _configured_token(token_file: str | None) -> str | None:
    if token_file:
        return _read_token(Path(token_file))
    return os.environ.get("NIANBAO_TOKEN") or None


def _read_token(path: Path) -> str:
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        click.echo(f"nianbao: warning: {path} can be read by others (chmod 600 it)", err=True)
    token = path.read_text("utf-8").strip()
    if not token:
        fail(f"the token file {path} is empty")
    return token


def _generated_token(home: Path) -> str:
    """The token kept in NIANBAO_HOME (made on first use): the same one across restarts."""
    path = home / TOKEN_FILE
    try:
        home.mkdir(parents=True, exist_ok=True)  # the catalog may live elsewhere (NIANBAO_CATALOG)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        click.echo(f"nianbao: the dashboard token is in {path}", err=True)
        return _read_token(path)
    except OSError as exc:
        fail(f"cannot write a dashboard token into {path} ({exc.strerror}): set NIANBAO_TOKEN or --token-file")
    token = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(token + "\n")
    click.echo(f"nianbao: generated a dashboard token into {path} (readable only by you)", err=True)
    return token


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
