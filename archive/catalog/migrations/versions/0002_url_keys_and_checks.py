"""SURT keys on captures (lookups across http/https, ``www.``, case and port variants), and url_checks
(when each known report, attachment and page is asked after next).

Old rows get their keys, and every (site, URL) of a capture not of kind ``list`` its check row,
replayed from its captures in order under the default RecheckPolicy (the crawl's settings are not
known here; the next capture of each URL applies them). Rows from before ``novelty`` was kept are
judged by their bodies as the write path would have.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from alembic import op

from archive.catalog.recheck import RecheckPolicy
from archive.urlkey import url_key

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BATCH = 5000


def upgrade() -> None:
    conn = op.get_bind()
    op.add_column("captures", sa.Column("url_key", sa.Text()))
    op.add_column("captures", sa.Column("final_url_key", sa.Text()))
    captures = sa.table("captures", sa.column("fetched_at", sa.DateTime), *(sa.column(name) for name in (
        "id", "site", "kind", "url", "final_url", "url_key", "final_url_key", "status", "sha256", "novelty")))
    last = 0
    while rows := conn.execute(sa.select(captures.c.id, captures.c.url, captures.c.final_url)
                               .where(captures.c.id > last).order_by(captures.c.id).limit(BATCH)).all():
        conn.execute(sa.update(captures).where(captures.c.id == sa.bindparam("b_id"))
                     .values(url_key=sa.bindparam("b_key"), final_url_key=sa.bindparam("b_final")),
                     [{"b_id": i, "b_key": _key(u), "b_final": _key(f)} for i, u, f in rows])
        last = rows[-1][0]
    op.create_index("ix_captures_url_key", "captures", ["url_key"])
    op.create_index("ix_captures_final_url_key", "captures", ["final_url_key"])

    checks = op.create_table(
        "url_checks",
        sa.Column("site", sa.String(64), primary_key=True),
        sa.Column("url", sa.Text(), primary_key=True),
        sa.Column("url_key", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("checked_at", sa.DateTime(), nullable=False),
        sa.Column("changed_at", sa.DateTime()),
        sa.Column("interval", sa.Integer(), nullable=False),
        sa.Column("next_check_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_url_checks_url_key", "url_checks", ["url_key"])
    op.create_index("ix_url_checks_next_check_at", "url_checks", ["next_check_at"])
    _replay_checks(conn, captures, checks)


def _replay_checks(conn: sa.Connection, captures: sa.TableClause, checks: sa.Table) -> None:
    policy = RecheckPolicy()
    state: dict[tuple[str, str], dict] = {}
    last_body: dict[tuple[str, str], str] = {}
    query = (sa.select(captures.c.id, captures.c.site, captures.c.kind, captures.c.url, captures.c.status,
                       captures.c.sha256, captures.c.novelty, captures.c.fetched_at)
             .where(captures.c.kind != "list"))
    last = 0
    while rows := conn.execute(query.where(captures.c.id > last).order_by(captures.c.id).limit(BATCH)).all():
        for _id, site, kind, url, status, digest, novelty, fetched_at in rows:
            key = (site, url)
            if novelty is None:  # before novelty was kept
                before = last_body.get(key)
                novelty = ("gone" if status in (404, 410) else "new" if before is None
                           else "same" if before == digest else "changed")
            if status not in (404, 410):
                last_body[key] = digest
            row = state.get(key)
            interval = policy.interval(novelty, row["interval"] if row else None)
            changed_at = fetched_at if novelty in ("new", "changed") else row and row["changed_at"]
            state[key] = {"site": site, "url": url, "url_key": _key(url) or "", "kind": kind, "checked_at": fetched_at,
                          "changed_at": changed_at, "interval": interval,
                          "next_check_at": fetched_at + timedelta(seconds=interval)}
        last = rows[-1][0]
    values = list(state.values())
    for start in range(0, len(values), BATCH):
        conn.execute(sa.insert(checks), values[start:start + BATCH])


def _key(url: str | None) -> str | None:
    return url_key(url) if url and url.strip() else None  # a row without a final URL (tests made some) has no key
