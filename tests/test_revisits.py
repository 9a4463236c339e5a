"""Revisits that cost little and still catch changes: the check schedule (issue 11, section 3).

A report, attachment or page is asked after again a week after it was first archived, then twice as
long after each unchanged check (up to a year), a week again after a change; lists every crawl. Weeks
pass by moving the catalog's times back (tests/support/clock.py).
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from archive.catalog import Catalog
from tests.conftest import FAST, run_nianbao
from tests.simulator.server import SimulatorServer
from tests.simulator.world import build_world
from tests.support import nianbao_env
from tests.support.clock import age

WEEK = timedelta(days=7)
DAY = timedelta(days=1)


@pytest.fixture(scope="module")
def weeks(tmp_path_factory):
    """A first crawl, then crawls at day 0, 8, 16 and (a report corrected) 31; what each asked for."""
    world = build_world(counties=1)
    tmp = tmp_path_factory.mktemp("revisits")
    registry = tmp / "sites.yaml"
    registry.write_text(world.registry_yaml(), "utf-8")
    env = nianbao_env(tmp / "home")
    catalog_url = f"sqlite:///{tmp}/home/catalog.sqlite3"
    corrected = world.reports[0].url
    asked: list[Counter[str]] = []
    with SimulatorServer(world) as server:
        def crawl() -> None:
            server.clear_requests()
            run_nianbao("crawl", "--sites", str(registry), "--proxy", server.proxy_url, *FAST,
                        "-s", "AUTOTHROTTLE_ENABLED=false", "-s", "NIANBAO_RECHECK_AGE_FACTOR=0", env=env)
            asked.append(Counter(url for method, url in server.requests_snapshot() if method == "GET"))

        crawl()  # day 0: everything new
        crawl()  # day 0 again: nothing is due but the lists
        age(catalog_url, 8 * DAY)
        crawl()  # day 8: a week after the first capture, everything is asked after (304s)
        age(catalog_url, 8 * DAY)
        crawl()  # day 16: unchanged at day 8, so next due at day 22: not asked
        restore = world.revise(corrected)
        age(catalog_url, 15 * DAY)
        crawl()  # day 31: due (day 22): the correction is caught
        restore()
    return world, Catalog(catalog_url, create=False), asked, corrected


def _documents(world) -> set[str]:
    return {r.url for r in world.reports} | {a.url for a in world.attachments}


def test_unchanged_documents_are_asked_less_and_less_often(weeks):
    world, catalog, asked, _ = weeks
    documents = _documents(world)
    first, same_day, day8, day16, _ = asked
    assert documents <= set(first)
    assert not documents & set(same_day), "asked again the same day"
    assert documents <= set(day8), "not asked a week after the first capture"
    assert not documents & set(day16), "asked again 8 days after an unchanged check (next due after 14)"
    lists = set(first) - documents
    assert lists & set(day16), "lists are read every crawl"
    assert sum(day16.values()) <= 0.25 * sum(first.values())


def test_a_corrected_report_is_caught_within_its_interval_and_checked_soon_again(weeks):
    world, catalog, asked, corrected = weeks
    assert asked[-1][corrected] == 1
    versions = [c for c in catalog.captures_of(corrected) if c.status != 304]
    assert len(versions) == 2 and versions[-1].novelty == "changed"
    checks = catalog.next_checks(sorted({r.site for r in world.reports}))
    last = catalog.latest_capture(corrected).fetched_at
    assert checks[corrected] - last == WEEK  # changed: a week again
    unchanged = next(r.url for r in world.reports if r.url != corrected)
    assert checks[unchanged] - catalog.latest_capture(unchanged).fetched_at == 4 * WEEK  # 7, 14, then 28 days


def test_history_shows_the_next_check(weeks, tmp_path):
    world, catalog, _, corrected = weeks
    env = nianbao_env(tmp_path)
    env["NIANBAO_CATALOG"] = catalog.url
    env["NIANBAO_HOME"] = str(catalog.engine.url.database).rsplit("/", 1)[0]
    shown = run_nianbao("archive", "history", corrected, env=env)
    shown = (shown.stdout + shown.stderr).decode()
    assert "next check" in shown.lower()
