"""The fleet: site leases (one crawl of a site at a time across machines, in place of a lock file per site),
the workers' heartbeats, and the dispatches handed to the distributed engine.

New tables only; nothing existing changes.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "site_leases",
        sa.Column("site", sa.String(64), primary_key=True),
        sa.Column("holder", sa.String(255), nullable=False),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("boot_id", sa.String(64)),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("worker", sa.String(255)),
        sa.Column("acquired_at", sa.DateTime(), nullable=False),
        sa.Column("renewed_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_site_leases_worker", "site_leases", ["worker"])
    op.create_table(
        "workers",
        sa.Column("name", sa.String(255), primary_key=True),
        sa.Column("host", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("slots", sa.Integer(), nullable=False),
        sa.Column("crawls", sa.JSON(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("requests_per_s", sa.Float(), nullable=False),
        sa.Column("parsers", sa.Integer(), nullable=False),
    )
    op.create_index("ix_workers_heartbeat_at", "workers", ["heartbeat_at"])
    op.create_table(
        "dispatches",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("sites", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("sent_at", sa.DateTime()),
        sa.Column("broker_id", sa.String(64)),
        sa.Column("worker", sa.String(255)),
        sa.Column("pid", sa.Integer()),
        sa.Column("started_at", sa.DateTime()),
        sa.Column("ended_at", sa.DateTime()),
        sa.Column("exit_code", sa.Integer()),
        sa.Column("run_id", sa.Integer()),
        sa.Column("moves", sa.JSON(), nullable=False),
    )
    op.create_index("ix_dispatches_state", "dispatches", ["state"])
    op.create_index("ix_dispatches_worker", "dispatches", ["worker"])
