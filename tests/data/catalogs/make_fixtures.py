"""Write the catalogs of earlier schemas that tests/test_migrations.py upgrades (run from the repo root).

Each ``<rev>.sql`` is the SQLite dump of a catalog made by the models of archive/catalog.py at that
commit (``git show REV:archive/catalog.py``, the classes only), holding a few rows: what a catalog
of that era looked like on disk. Run once per schema era; the output is checked in and small. Eras since Alembic
(``UPGRADED``) are the baseline's catalog as nianbao at that commit upgraded it (``git archive`` of the code then).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import tempfile
import types
from datetime import datetime
from pathlib import Path

from sqlalchemy import create_engine, insert, inspect

#: commit → what it is the last schema before (the file names the tests use)
ERAS = {
    "2fc4954": "the first catalog (no discovered_lists, run_sites, novelty, fixity_audits)",
    "1a726ee": "before run_sites, novelty and the runs' host/pid/log",
    "8f26a27": "before the final_url and site/kind/year indexes",
    "4ac624a": "before protocol and headers as pairs",
    "ca7611c": "before year_source and judgement",
    "88305b2": "the baseline (the schema when Alembic came in)",
}
#: commit → what it is the last Alembic revision of: the baseline's catalog upgraded by nianbao at that commit.
UPGRADED = {
    "acbbcc2": "revision 0002, before parse results and the queue's claims",
}
HEADER = """from __future__ import annotations
from datetime import UTC, datetime
from typing import Any
from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
"""
HERE = Path(__file__).parent


def models(rev: str) -> types.ModuleType:
    source = subprocess.run(["git", "show", f"{rev}:archive/catalog.py"], capture_output=True, text=True,
                            check=True).stdout
    classes = source[source.index("class Base"):source.index("\nclass Catalog:")]
    name = f"catalog_{rev}"
    module = types.ModuleType(name)
    sys.modules[name] = module
    exec(compile(HEADER + classes, name, "exec"), module.__dict__)  # noqa: S102 - our own history
    return module


def rows(columns: dict[str, set[str]]) -> dict[str, list[dict]]:
    """A few rows for the tables this era has, with the columns it has: two runs, a report seen twice
    (one version, then changed), a list, an attachment, a 404, a failure, a queued parse."""
    at = [datetime(2024, 3, day, 8, 0, 0, 123456) for day in (1, 2, 8)]
    old_headers = {"Content-Type": "text/html; charset=gbk", "Server": "nginx"}
    headers = [["Content-Type", "text/html; charset=gbk"], ["Server", "nginx"]]
    pairs = "protocol" in columns["captures"]
    run = {"trigger": "manual", "sites": ["wanzai", "xunwu"], "status": "finished", "stats": {"wanzai/report": 2}}
    runs = [{"id": 1, **run, "started_at": at[0], "finished_at": at[0]},
            {"id": 2, **run, "sites": ["wanzai"], "started_at": at[2], "finished_at": at[2]}]
    base = {"site": "wanzai", "method": "GET", "size": 3, "content_type": "text/html", "referrer": None,
            "headers": headers if pairs else old_headers, "protocol": "HTTP/1.1", "year": 2023,
            "agency": "万载县人民政府", "agency_kind": "county", "title": "万载县2023年政府信息公开工作年度报告",
            "year_source": "title", "judgement": "title: 年度报告"}
    url = "http://www.wanzai.gov.cn/art/2024/1/15/art_1_1.html"
    captures = [
        {**base, "id": 1, "run_id": 1, "kind": "list", "url": "http://www.wanzai.gov.cn/col/col1/",
         "final_url": "http://www.wanzai.gov.cn/col/col1/", "status": 200, "fetched_at": at[0], "sha256": "1" * 64,
         "novelty": "new", "year": None, "title": None},
        {**base, "id": 2, "run_id": 1, "kind": "report", "url": url, "final_url": url, "status": 200,
         "fetched_at": at[0], "sha256": "2" * 64, "novelty": "new"},
        {**base, "id": 3, "run_id": 1, "kind": "attachment", "url": "http://www.wanzai.gov.cn/年报.pdf",
         "final_url": "https://Www.Wanzai.gov.cn/%E5%B9%B4%E6%8A%A5.pdf", "status": 200, "fetched_at": at[1],
         "sha256": "3" * 64, "novelty": "new", "content_type": "application/pdf", "filename": "年报.pdf"},
        {**base, "id": 4, "run_id": 2, "kind": "report", "url": url, "final_url": url, "status": 200,
         "fetched_at": at[2], "sha256": "4" * 64, "novelty": "changed"},
        {**base, "id": 5, "run_id": 2, "kind": "report", "url": "http://www.wanzai.gov.cn/old.html",
         "final_url": "http://www.wanzai.gov.cn/old.html", "status": 404, "fetched_at": at[2], "sha256": "5" * 64,
         "novelty": "gone"},
    ]
    tables = {
        "runs": runs,
        "run_sites": [{"run_id": 1, "site": "wanzai"}, {"run_id": 1, "site": "xunwu"}, {"run_id": 2, "site": "wanzai"}],
        "captures": captures,
        "failures": [{"id": 1, "run_id": 2, "site": "wanzai", "url": "http://www.wanzai.gov.cn/x.html",
                      "kind": "report", "reason": "HTTP 503: busy", "at": at[2]}],
        "parse_queue": [{"id": 1, "capture_id": 2, "sha256": "2" * 64, "state": "pending", "enqueued_at": at[0]},
                        {"id": 2, "capture_id": 4, "sha256": "4" * 64, "state": "done", "enqueued_at": at[2]}],
        "discovered_lists": [{"id": 1, "site": "wanzai", "url": "http://www.wanzai.gov.cn/col/col1/", "run_id": 1,
                              "found_at": at[0]}],
        "fixity_audits": [{"id": 1, "started_at": at[2], "finished_at": at[2], "storage": "file:///srv/objects",
                           "sample": None, "checked": 4, "missing": 0, "corrupt": 0, "unreadable": 0, "problems": []}],
    }
    return {table: [{k: v for k, v in row.items() if k in columns[table]} for row in found]
            for table, found in tables.items() if table in columns}


def make(rev: str) -> Path:
    target = HERE / f"{rev}.sql"
    database = HERE / f"{rev}.sqlite3"
    database.unlink(missing_ok=True)
    engine = create_engine(f"sqlite:///{database}")
    module = models(rev)
    module.Base.metadata.create_all(engine)
    inspector = inspect(engine)
    columns = {t: {c["name"] for c in inspector.get_columns(t)} for t in inspector.get_table_names()}
    with engine.begin() as conn:
        for table, found in rows(columns).items():
            conn.execute(insert(module.Base.metadata.tables[table]), found)
    engine.dispose()
    with sqlite3.connect(database) as db:
        dump = "\n".join(db.iterdump())
    database.unlink()
    target.write_text(f"-- {ERAS[rev]}: archive/catalog.py at {rev}, made by make_fixtures.py\n{dump}\n")
    return target


def make_upgraded(rev: str) -> Path:
    """The baseline's fixture opened (so upgraded) by the whole archive package as it was at ``rev``."""
    target = HERE / f"{rev}.sql"
    with tempfile.TemporaryDirectory() as tmp:
        code = Path(tmp) / "code"
        code.mkdir()
        tree = subprocess.run(["git", "archive", rev, "archive", "nianbao"], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(code)], input=tree, check=True)
        database = Path(tmp) / "catalog.sqlite3"
        with sqlite3.connect(database) as db:
            db.executescript((HERE / "88305b2.sql").read_text("utf-8"))
        subprocess.run([sys.executable, "-c", "import sys; from archive.catalog import Catalog; Catalog(sys.argv[1])",
                        f"sqlite:///{database}"], cwd=code, check=True, env={"PYTHONPATH": str(code)})
        with sqlite3.connect(database) as db:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            dump = "\n".join(db.iterdump())
    target.write_text(f"-- {UPGRADED[rev]}: 88305b2.sql upgraded by nianbao at {rev}, made by make_fixtures.py\n"
                      f"{dump}\n")
    return target


if __name__ == "__main__":
    for rev in sys.argv[1:] or [*ERAS, *UPGRADED]:
        print(make_upgraded(rev) if rev in UPGRADED else make(rev), json.dumps({**ERAS, **UPGRADED}[rev]))
