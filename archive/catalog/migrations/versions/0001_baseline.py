"""The baseline: the catalog as it stood when Alembic came in (migrations/baseline.py).

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

from alembic import op

from archive.catalog.migrations import baseline

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    baseline.metadata.create_all(op.get_bind())
