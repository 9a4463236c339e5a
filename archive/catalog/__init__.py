"""The catalog: what was fetched, when, from where, and where its bytes are.

SQLAlchemy, so the embedded default (SQLite) and a shared PostgreSQL behave alike. A capture
row is written only after its body was stored and verified, and its parse request (the outbox)
is written in the same transaction: the queue never names a capture that is not committed.

``models`` holds the tables, ``write`` the write path, ``queries`` the reads, ``schema`` and
``migrations`` how a database is brought to the schema the models describe.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import sessionmaker

from nianbao.config import ARCHIVE_TIMEOUT, redact

from . import schema
from .fleet import SITE_LEASE, WORKER_TIMEOUT, Fleet, Holder
from .models import (
    DISPATCH_STATES,
    GONE_STATUSES,
    PARSE_STATES,
    PARSED_KINDS,
    RUN_STATUSES,
    Base,
    Capture,
    DiscoveredList,
    Dispatch,
    Failure,
    FixityAudit,
    ParseRequest,
    ParseResult,
    Run,
    RunSite,
    SiteLease,
    UrlCheck,
    Worker,
    isoformat,
    parse_moment,
    utcnow,
)
from .queries import ParsedReport, Queries
from .recheck import RecheckPolicy
from .schema import CatalogError, reason_of
from .write import PARSE_LEASE, Writes

__all__ = [
    "GONE_STATUSES", "PARSED_KINDS", "PARSE_LEASE", "PARSE_STATES", "RUN_STATUSES", "Base", "Capture", "Catalog",
    "CatalogError", "DiscoveredList", "Failure", "FixityAudit", "ParseRequest", "ParseResult", "ParsedReport",
    "RecheckPolicy", "Run", "RunSite", "UrlCheck", "isoformat", "parse_moment", "utcnow",
    "DISPATCH_STATES", "Dispatch", "Holder", "SITE_LEASE", "SiteLease", "WORKER_TIMEOUT", "Worker", "reason_of",
]


class Catalog(Writes, Queries, Fleet):
    def __init__(self, url: str, create: bool = True, timeout: float = ARCHIVE_TIMEOUT) -> None:
        """Open the catalog at ``url``, its schema brought to this code's (``create``); ``create=False``
        (read-only commands) refuses to make a new one or to upgrade an old one (see schema.check).

        A database server is given ``timeout`` seconds to accept and answer a connection (libpq's
        connect_timeout covers the whole start-up), and a connection whose packets go unacknowledged
        that long is dropped: a port that accepts and never answers is an error, not a hang.
        """
        self.url, self.timeout = url, timeout
        try:
            options: dict[str, Any] = {}
            if make_url(url).get_backend_name() == "postgresql":
                options["connect_args"] = {"connect_timeout": max(1, round(timeout)),
                                           "tcp_user_timeout": int(timeout * 1000)}
            # hide_parameters: bodies' metadata stays out of errors
            self.engine: Engine = create_engine(url, hide_parameters=True, **options)
        except (ArgumentError, ImportError, ValueError) as exc:
            raise CatalogError(f"NIANBAO_CATALOG: cannot use {_safe(url)!r}: {exc}") from exc
        if self.engine.dialect.name == "sqlite":
            database = self.engine.url.database
            if not database or database == ":memory:":
                raise CatalogError(f"NIANBAO_CATALOG={url!r}: an in-memory SQLite catalog would keep nothing")
            if not create and not Path(database).is_file():
                raise CatalogError(f"no archive catalog at {database} (is NIANBAO_HOME right?)")
            event.listen(self.engine, "connect", _sqlite_pragmas)
            _ensure_dir(Path(database).parent)
        elif self.engine.dialect.name != "postgresql":
            raise CatalogError(f"NIANBAO_CATALOG: {_safe(url)!r}: the catalog is SQLite or PostgreSQL")
        try:
            schema.check(self.engine, create, _safe(url))
        except SQLAlchemyError as exc:
            if "timeout expired" in str(exc):  # libpq's words for connect_timeout
                where = f"{self.engine.url.host}:{self.engine.url.port or 5432}"
                raise CatalogError(f"catalog database {where} did not answer within {timeout:g} s "
                                   "(NIANBAO_ARCHIVE_TIMEOUT)") from None
            raise CatalogError(f"cannot open catalog {_safe(url)}: {reason_of(exc)}") from exc
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _ensure_dir(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CatalogError(f"cannot create the catalog directory {directory}: {exc.strerror}") from exc


def _safe(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return redact(url)
