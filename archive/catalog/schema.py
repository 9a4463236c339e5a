"""Bringing a catalog's schema to the one this code reads (``migrations.HEAD``), and only forward.

Three kinds of database are met on open: a new one (no tables: every revision runs, the first
creates the baseline), one made before Alembic (tables but no ``alembic_version``: the legacy step
adds what the baseline has and it lacks, it is stamped at the baseline, then upgraded), and one
Alembic already keeps (upgraded from its revision). The upgrade runs in one transaction under a
lock — SQLite's write lock (``BEGIN IMMEDIATE``, other openers wait on the busy timeout), a
PostgreSQL advisory lock — and looks again once it holds it: two processes opening one catalog at
once upgrade it once, and a failed upgrade leaves the catalog as it was.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import insert, inspect, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from .migrations import BASELINE, HEAD, REVISIONS
from .migrations import baseline as frozen

MIGRATIONS = Path(__file__).with_name("migrations")
#: Arbitrary, fixed: the PostgreSQL advisory lock every nianbao takes to upgrade a catalog.
PG_LOCK = 0x6E69616E62616F  # "nianbao"
VERSION_TABLE = "alembic_version"
#: Whatever revision string a catalog holds, known to this code (newer ones are refused).
KNOWN = REVISIONS

#: No tables of ours yet.
FRESH = "fresh"
#: Tables from before Alembic, no version.
LEGACY = "legacy"


class CatalogError(RuntimeError):
    """The catalog database cannot be opened or written (or its schema is not one this code reads)."""


def reason_of(exc: Exception) -> str:
    """The database's (or the store's) own words, without the SQL and parameters SQLAlchemy wraps around them."""
    return str(getattr(exc, "orig", None) or exc)


def state(conn: Connection) -> str:
    """``FRESH``, ``LEGACY`` or the revision the catalog is at."""
    inspector = inspect(conn)
    if inspector.has_table(VERSION_TABLE):
        revision = conn.scalar(text(f"SELECT version_num FROM {VERSION_TABLE}"))
        if revision is not None:
            return revision
    if inspector.has_table("captures") or inspector.has_table("runs"):
        return LEGACY
    return FRESH


def check(engine: Engine, create: bool, where: str) -> None:
    """Upgrade the catalog to HEAD if ``create``; otherwise (read-only commands) refuse one behind it.

    Read-only commands never write, so they do not upgrade: the operator runs a write command once
    (any crawl) and reads again. A catalog newer than this code is refused either way.
    """
    with engine.connect() as conn:
        found = state(conn)
    if found == HEAD:
        return
    if found not in (FRESH, LEGACY, *KNOWN):
        raise CatalogError(f"catalog schema revision {found!r} ({where}) is newer than this nianbao knows "
                           f"(it reads {HEAD}): upgrade nianbao")
    if not create:
        if found == FRESH and (found := _after_any_upgrade(engine)) == HEAD:
            return
        if found == FRESH:
            raise CatalogError(f"no archive catalog in {where} (nothing was crawled into it)")
        raise CatalogError(f"catalog schema is older than this nianbao ({where}): run any write command, e.g. "
                           "`nianbao crawl`, to upgrade it")
    upgrade(engine)


def _lock(conn: Connection) -> None:
    """The upgrade's lock, held until the transaction ends; waits for whoever holds it."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock now, not at the first write
    else:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK})


def _after_any_upgrade(engine: Engine) -> str:
    """The state once an upgrade in progress (the first crawl creating the catalog) is done: a read-only
    command started at that moment waits for it rather than say there is no catalog. Writes nothing."""
    try:
        with engine.connect() as conn:
            _lock(conn)
            found = state(conn)
            conn.rollback()
            return found
    except OperationalError:  # a read-only file or directory: no upgrade can be running there either
        return FRESH


def upgrade(engine: Engine) -> None:
    with engine.connect() as conn:
        _lock(conn)
        found = state(conn)
        if found == HEAD:
            return  # another process did it while this one waited
        if found == LEGACY:
            legacy_to_baseline(conn)
        _migrate(conn, stamp=BASELINE if found == LEGACY else None)
        conn.commit()


@cache
def _migrations() -> Any:
    """Alembic's view of migrations/ (imported only here: Alembic takes 0.3 s to import)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    script = ScriptDirectory.from_config(config)
    if script.get_current_head() != HEAD:
        raise CatalogError(f"migrations.HEAD is {HEAD} but the newest revision is {script.get_current_head()}")
    return script


def _migrate(conn: Connection, stamp: str | None) -> None:
    """Alembic's upgrade to head, on this connection and in its transaction."""
    from alembic.operations import Operations
    from alembic.runtime.migration import MigrationContext

    script = _migrations()

    def to_head(revision: Any, _context: MigrationContext) -> Any:
        return script._upgrade_revs(HEAD, revision)  # what `alembic upgrade head` does

    context = MigrationContext.configure(conn, opts={"fn": to_head, "script": script})
    if stamp:
        context.stamp(script, stamp)
    with Operations.context(context):
        context.run_migrations()


def legacy_to_baseline(conn: Connection) -> None:
    """A catalog from before Alembic, brought to the baseline: missing tables, then missing columns
    and indexes, then the per-site rows of runs from before run_sites."""
    had_run_sites = inspect(conn).has_table("run_sites")
    frozen.metadata.create_all(conn)
    _add_new_columns(conn)
    if not had_run_sites:  # a catalog from before run_sites: its runs' sites, for the per-site views
        runs, run_sites = frozen.metadata.tables["runs"], frozen.metadata.tables["run_sites"]
        rows = [{"run_id": run_id, "site": site} for run_id, sites in conn.execute(select(runs.c.id, runs.c.sites))
                for site in set(sites or [])]
        if rows:
            conn.execute(insert(run_sites), rows)


def _add_new_columns(conn: Connection) -> None:
    """Columns and indexes of the baseline a catalog lacks, added to it (columns nullable: no data moves)."""
    inspector = inspect(conn)
    for table in frozen.metadata.sorted_tables:
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name not in present and column.nullable:
                kind = column.type.compile(dialect=conn.dialect)  # under the upgrade's lock: no one else adds it
                conn.exec_driver_sql(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}")
        indexed = {index["name"] for index in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in indexed:
                index.create(conn, checkfirst=True)
