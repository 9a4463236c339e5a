"""Weeks pass in a test: every time the catalog holds moves back, as if the clock had moved on.

A crawl decides what is due from the catalog's times (captures, runs, the check schedule) against
the clock; moving those back by a week is the next week's crawl, without waiting or faking the clock
of every process (the simulator, Chromium, SeaweedFS) that plays a part.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import create_engine, inspect, text

#: Every timestamp column of the catalog, by table (what an older catalog lacks is skipped).
TIMES = {
    "captures": ("fetched_at",),
    "runs": ("started_at", "finished_at", "updated_at"),
    "failures": ("at",),
    "url_checks": ("checked_at", "changed_at", "next_check_at"),
    "parse_queue": ("enqueued_at", "claimed_at"),
    "parse_results": ("parsed_at",),
    "discovered_lists": ("found_at",),
}


def age(catalog_url: str, by: timedelta) -> None:
    """Move every time in the catalog ``by`` into the past."""
    engine = create_engine(catalog_url)
    inspector = inspect(engine)
    seconds = int(by.total_seconds())
    with engine.begin() as conn:
        for table, columns in TIMES.items():
            if not inspector.has_table(table):
                continue
            present = {c["name"] for c in inspector.get_columns(table)}
            for column in (c for c in columns if c in present):
                if engine.dialect.name == "sqlite":  # SQLAlchemy's text form, microseconds kept
                    moved = f"datetime({column}, '-{seconds} seconds') || substr({column}, 20)"
                else:
                    moved = f"{column} - interval '{seconds} seconds'"
                conn.execute(text(f"UPDATE {table} SET {column} = {moved} WHERE {column} IS NOT NULL"))
    engine.dispose()
