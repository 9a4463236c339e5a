"""Catalogs of every earlier schema, opened by today's nianbao: upgraded to head, every row kept.

The catalogs are tests/data/catalogs/<commit>.sql, made by the models of archive/catalog.py at that
commit (make_fixtures.py there), each with the same few rows as its columns allowed.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, create_engine, insert, inspect, select, text

from archive.catalog import Base, Catalog, CatalogError, utcnow
from archive.catalog.migrations import BASELINE, HEAD
from archive.catalog.migrations import baseline as frozen
from archive.catalog.schema import MIGRATIONS
from tests.conftest import ROOT

DATA = Path(__file__).parent / "data" / "catalogs"
ERAS = sorted(path.stem for path in DATA.glob("*.sql"))
REPORT = "http://www.wanzai.gov.cn/art/2024/1/15/art_1_1.html"
WEEK = timedelta(days=7)


def load(era: str, directory: Path) -> str:
    database = directory / f"{era}.sqlite3"
    with sqlite3.connect(database) as db:
        db.executescript((DATA / f"{era}.sql").read_text("utf-8"))
        db.execute("PRAGMA journal_mode=WAL")  # as nianbao made them
    return f"sqlite:///{database}"


def rows(url: str) -> dict[str, list[dict]]:
    """Every row of every table, as the database gives it back."""
    engine = create_engine(url)
    metadata = MetaData()
    metadata.reflect(engine)
    with engine.connect() as conn:
        found = {name: [dict(row._mapping) for row in conn.execute(select(table).order_by(*table.primary_key))]
                 for name, table in metadata.tables.items() if name != "alembic_version"}
    engine.dispose()
    return found


def revision(engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def differences(engine, compare_type: bool = True) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": compare_type})
        return compare_metadata(context, Base.metadata)


def test_the_head_named_in_code_is_the_newest_revision():
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    script = ScriptDirectory.from_config(config)
    assert script.get_current_head() == HEAD and script.get_base() == BASELINE


def test_the_frozen_baseline_is_the_schema_alembic_came_in_with(tmp_path):
    made = create_engine(load("88305b2", tmp_path))
    fresh = create_engine(f"sqlite:///{tmp_path}/frozen.sqlite3")
    frozen.metadata.create_all(fresh)

    def schema(engine):
        with engine.connect() as conn:
            return sorted(conn.execute(text("SELECT type, name, sql FROM sqlite_master "
                                            "WHERE name NOT LIKE 'sqlite_%'")))
    assert schema(made) == schema(fresh)


def test_a_new_catalog_is_the_models_at_head(tmp_path, catalog_engine_url):
    catalog = Catalog(catalog_engine_url)
    assert revision(catalog.engine) == HEAD and differences(catalog.engine) == []


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog_engine_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.sqlite3'}"
    return request.getfixturevalue("postgres_catalog")


@pytest.mark.parametrize("era", ERAS)
def test_a_catalog_of_each_earlier_schema_is_upgraded_keeping_every_row(era, tmp_path):
    url = load(era, tmp_path)
    before = rows(url)
    catalog = Catalog(url)
    assert revision(catalog.engine) == HEAD
    # old eras' content_type/agency were VARCHAR(255), a length SQLite never held them to
    assert differences(catalog.engine, compare_type=era == "88305b2") == []
    after = rows(url)
    for table, old in before.items():
        assert [{k: row[k] for k in old[0]} for row in after[table]] == old, table
    assert_upgraded(catalog)


def assert_upgraded(catalog: Catalog) -> None:
    """What the upgrade adds, on the fixtures' rows: keys, checks, the runs' sites; then a crawl's record()."""
    assert [r.id for r in catalog.runs(site="xunwu")] == [1]  # from run_sites, backfilled if it was not there
    assert [c.id for c in catalog.captures_of("https://wanzai.gov.cn/art/2024/1/15/art_1_1.html#x")] == [2, 4]
    assert [c.id for c in catalog.captures_of("https://www.wanzai.gov.cn/年报.pdf")] == [3]
    march = datetime(2024, 3, 1, 8, 0, 0, 123456)
    assert catalog.next_checks(["wanzai"]) == {  # replayed: report new then changed, the pdf new, old.html gone
        REPORT: march + WEEK + WEEK, "http://www.wanzai.gov.cn/年报.pdf": march + timedelta(days=1) + WEEK,
        "http://www.wanzai.gov.cn/old.html": march + WEEK + WEEK}
    run = catalog.start_run(["wanzai"])
    now = utcnow()
    counts = catalog.record([
        {"run_id": run, "site": "wanzai", "kind": "report", "url": REPORT, "final_url": REPORT, "status": 200,
         "headers": [["Server", "nginx"]], "fetched_at": now, "sha256": "4" * 64, "size": 3},
        {"run_id": run, "site": "wanzai", "kind": "report", "url": REPORT + "?new", "final_url": REPORT + "?new",
         "status": 200, "headers": [], "fetched_at": now, "sha256": "6" * 64, "size": 3}])
    assert counts["new/report"] == 1 and catalog.latest_capture(REPORT).novelty == "same"
    assert catalog.url_check(REPORT).interval == 14 * 24 * 3600  # doubled from the replayed week
    assert len(catalog.parse_queue()) == 2  # the one pending before, and the new report
    claimed = catalog.claim_parses("test:1", limit=5)  # revision 0003: the queue's claims, and results
    assert [r.sha256 for r in claimed] == ["2" * 64, "6" * 64] and catalog.claim_parses("test:2") == []
    assert [r.attempts for r in claimed] == [1, 1]  # the requests from before the upgrade start at none
    catalog.record_parse("2" * 64, 1, state="failed", error="unreadable", seconds=0.5)
    assert catalog.parse_result("2" * 64).error == "unreadable" and catalog.parse_counts()["failed"] == 1


def test_a_read_only_open_does_not_upgrade_and_says_why(tmp_path):
    url = load("ca7611c", tmp_path)
    before = rows(url)
    with pytest.raises(CatalogError, match=r"catalog schema is older than this nianbao .*nianbao crawl"):
        Catalog(url, create=False)
    assert rows(url) == before and "alembic_version" not in inspect(create_engine(url)).get_table_names()
    Catalog(url)
    Catalog(url, create=False)  # upgraded: read-only opens work again


def test_a_catalog_newer_than_this_code_is_refused(tmp_path):
    url = f"sqlite:///{tmp_path}/catalog.sqlite3"
    catalog = Catalog(url)
    with catalog.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    for create in (True, False):
        with pytest.raises(CatalogError, match="'0099'.* newer than this nianbao"):
            Catalog(url, create=create)


def open_at_once(url: str, processes: int = 3) -> None:
    """Several processes open one catalog at the same moment (after a shared start signal)."""
    code = ("import sys, time; from archive.catalog import Catalog; start = float(sys.argv[2]);"
            "time.sleep(max(0, start - time.time())); Catalog(sys.argv[1])")
    import time

    start = str(time.time() + 2.5)  # past every child's imports
    children = [subprocess.Popen([sys.executable, "-c", code, url, start], cwd=ROOT, stderr=subprocess.PIPE)
                for _ in range(processes)]
    for child in children:
        _, err = child.communicate(timeout=120)
        assert child.returncode == 0, err.decode()


def test_processes_opening_an_old_catalog_at_once_upgrade_it_once(tmp_path):
    url = load("1a726ee", tmp_path)
    open_at_once(url)
    catalog = Catalog(url)
    assert revision(catalog.engine) == HEAD
    assert_upgraded(catalog)  # run_sites backfilled once (its primary key would refuse twice)


def test_a_postgresql_catalog_from_before_alembic_is_upgraded(tmp_path, postgres_catalog):
    """The baseline's tables and the fixture's rows, on PostgreSQL, opened by several processes at once."""
    engine = create_engine(postgres_catalog)
    frozen.metadata.create_all(engine)
    old = rows(load("88305b2", tmp_path))
    with engine.begin() as conn:
        for table in frozen.metadata.sorted_tables:
            if old.get(table.name):
                conn.execute(insert(table), [{k: _value(v) for k, v in row.items()} for row in old[table.name]])
        for table in frozen.metadata.sorted_tables:
            if "id" in table.c and old.get(table.name):  # rows given their ids: the sequences go on after them
                conn.execute(text(f"SELECT setval('{table.name}_id_seq', (SELECT max(id) FROM {table.name}))"))
    engine.dispose()
    open_at_once(postgres_catalog)
    catalog = Catalog(postgres_catalog)
    assert revision(catalog.engine) == HEAD and differences(catalog.engine) == []
    assert_upgraded(catalog)


def _value(value):
    """SQLite's text back to what PostgreSQL's columns take."""
    if isinstance(value, str) and len(value) == 26 and value[10] == " ":
        return datetime.fromisoformat(value)
    return value
