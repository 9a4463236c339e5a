"""Parse results (what each parser version read in each body) and the queue's claims (which worker took a
request, and when: a claim older than the lease is taken again).

Requests keep their states; none was ever claimed, so the new columns start empty (attempts 0).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("parse_queue", sa.Column("claimed_by", sa.String(128)))
    op.add_column("parse_queue", sa.Column("claimed_at", sa.DateTime()))
    op.add_column("parse_queue", sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
    op.create_table(
        "parse_results",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("parser_version", sa.Integer(), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("format", sa.String(16)),
        sa.Column("template", sa.String(8)),
        sa.Column("year", sa.Integer()),
        sa.Column("agency", sa.Text()),
        sa.Column("passed", sa.Boolean()),
        sa.Column("checks_passed", sa.Integer()),
        sa.Column("checks_failed", sa.JSON()),
        sa.Column("checks_skipped", sa.Integer()),
        sa.Column("cells_printed", sa.Integer()),
        sa.Column("reading", sa.JSON()),
        sa.Column("parsed_at", sa.DateTime(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=False),
    )
    op.create_index("ix_parse_results_parsed_at", "parse_results", ["parsed_at"])
