"""The catalog's schema history, as Alembic revisions run from code (archive.catalog.schema).

No alembic.ini and no env.py: ``schema.upgrade`` runs ``versions/`` on a connection it holds
locked. A new revision: a file in ``versions/`` (``revision``, ``down_revision``, ``upgrade()``
with ``alembic.op``), ``HEAD`` below set to it, and the models changed to match (the tests check
both). Revisions only go forward: what was archived is never dropped by a downgrade.
"""

#: The schema every catalog made before Alembic is brought to first (the legacy step), then upgraded.
BASELINE = "0001"
#: Every revision, oldest first: a catalog at any of them is upgraded, one at another is newer than this code.
REVISIONS = (BASELINE, "0002", "0003", "0004")
#: The revision this code reads and writes; checked on every open without importing Alembic (slow to import).
HEAD = REVISIONS[-1]
