"""The catalog's schema as it stood when Alembic came in (nianbao at 88305b2), frozen here.

Revision 0001 creates it in a new database; catalogs from before Alembic are brought to it by
the legacy step (archive.catalog.schema.legacy_to_baseline), which adds what this holds and they
lack. Never edit it: later changes are revisions of their own.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

Table(
    "runs", metadata,
    Column("id", Integer, primary_key=True),
    Column("trigger", String(32), nullable=False),
    Column("sites", JSON, nullable=False),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime),
    Column("status", String(16), nullable=False, index=True),
    Column("stats", JSON, nullable=False),
    Column("updated_at", DateTime),
    Column("host", String(255)),
    Column("pid", Integer),
    Column("log_sha256", String(64)),
)

Table(
    "run_sites", metadata,
    Column("run_id", Integer, ForeignKey("runs.id"), primary_key=True),
    Column("site", String(64), primary_key=True, index=True),
)

Table(
    "captures", metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("runs.id"), index=True),
    Column("site", String(64), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("url", Text, nullable=False, index=True),
    Column("final_url", Text, nullable=False, index=True),
    Column("method", String(8), nullable=False),
    Column("status", Integer, nullable=False),
    Column("protocol", String(32)),
    Column("headers", JSON, nullable=False),
    Column("fetched_at", DateTime, nullable=False, index=True),
    Column("sha256", String(64), nullable=False, index=True),
    Column("size", Integer, nullable=False),
    Column("content_type", Text),
    Column("referrer", Text),
    Column("year", Integer, index=True),
    Column("agency", Text),
    Column("agency_kind", String(16)),
    Column("title", Text),
    Column("filename", Text),
    Column("year_source", String(16)),
    Column("judgement", Text),
    Column("novelty", String(8)),
    Index("ix_captures_site_kind_year", "site", "kind", "year"),
)

Table(
    "failures", metadata,
    Column("id", Integer, primary_key=True),
    Column("run_id", Integer, ForeignKey("runs.id"), index=True),
    Column("site", String(64), nullable=False, index=True),
    Column("url", Text, nullable=False),
    Column("kind", String(16)),
    Column("reason", Text, nullable=False),
    Column("at", DateTime, nullable=False),
)

Table(
    "parse_queue", metadata,
    Column("id", Integer, primary_key=True),
    Column("capture_id", Integer, ForeignKey("captures.id"), nullable=False, unique=True),
    Column("sha256", String(64), nullable=False, index=True),
    Column("state", String(16), nullable=False, index=True),
    Column("enqueued_at", DateTime, nullable=False),
)

Table(
    "discovered_lists", metadata,
    Column("id", Integer, primary_key=True),
    Column("site", String(64), nullable=False, index=True),
    Column("url", Text, nullable=False),
    Column("run_id", Integer, ForeignKey("runs.id")),
    Column("found_at", DateTime, nullable=False),
)

Table(
    "fixity_audits", metadata,
    Column("id", Integer, primary_key=True),
    Column("started_at", DateTime, nullable=False),
    Column("finished_at", DateTime, nullable=False),
    Column("storage", Text, nullable=False),
    Column("sample", Integer),
    Column("checked", Integer, nullable=False),
    Column("missing", Integer, nullable=False),
    Column("corrupt", Integer, nullable=False),
    Column("unreadable", Integer, nullable=False),
    Column("problems", JSON, nullable=False),
)
