"""Rounds: many sites in each crawl process, `nianbao schedule round`, and the service gathering due sites.

The round crawls 14 simulated counties at the default polite pace (one request a second per host)
through the simulator's proxy; one of them answers its report only after 20 s, and must hold no other.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from archive.catalog import Catalog
from scheduler.locks import SiteLocks
from scheduler.rounds import ready, split
from tests.conftest import FAST, run_nianbao
from tests.simulator.server import SimulatorServer
from tests.simulator.world import SimSite, World
from tests.test_scheduler import Service, runs, wait_for

_HTML = "text/html; charset=utf-8"
SITES = [f"c{i:02d}" for i in range(1, 14)]  # 13 ordinary counties …
DEAD = "dead"  # … and one whose one report answers after DEAD_DELAY seconds
DEAD_DELAY = 20.0


def county_world() -> World:
    """Each county: a list of two reports on its own host (robots.txt, list, 2 reports: 4 requests); the dead
    one's list has one report, answered late (one: after a 20 s answer AutoThrottle would wait 20 s for the next)."""
    world = World()
    for number, site_id in enumerate([*SITES, DEAD], 1):
        host, name = f"www.{site_id}.gov.cn", f"测试{number}县"
        base = f"http://{host}/xxgk/xxgknb/"
        items = []
        for year in (2024,) if site_id == DEAD else (2023, 2024):
            url, title = f"{base}{year}.html", f"{name}人民政府{year}年政府信息公开工作年度报告"
            page = f"<html><head><meta charset='utf-8'><title>{title}</title></head><body><h1>{title}</h1></body>"
            if site_id == DEAD:
                world.add_handler(host, f"/xxgk/xxgknb/{year}.html", _late(page.encode()))
            else:
                world.add(url, page.encode(), _HTML)
            items.append(f'<li><a href="{url}">{title}</a><span>{year + 1}-01-20</span></li>')
        page = f"<html><head><meta charset='utf-8'><title>年报</title></head><body><ul>{''.join(items)}</ul></body>"
        world.add(f"{base}index.html", page.encode(), _HTML)
        world.sites.append(SimSite(site_id, name, "江西省", "宜春市", f"http://{host}/", "html",
                                   [f"{base}index.html"], []))
    return world


def _late(body: bytes):
    def answer(method: str, query: str, data: bytes):
        time.sleep(DEAD_DELAY)
        return 200, {"Content-Type": _HTML}, body
    return answer


@pytest.fixture(scope="module")
def simulator():
    with SimulatorServer(county_world()) as server:
        yield server


@pytest.fixture
def env(home_env, simulator, tmp_path):
    registry = tmp_path / "sites.yaml"
    registry.write_text(simulator.world.registry_yaml(), "utf-8")
    return {**home_env, "NIANBAO_PROXY": simulator.proxy_url, "NIANBAO_SCHEDULE_JITTER": "0",
            "NIANBAO_SCHEDULE_TIMEZONE": "UTC", "NIANBAO_SCHEDULE_HEARTBEAT": "1", "NIANBAO_SHUTDOWN_GRACE": "30",
            "SITES": str(registry)}


def catalog(env: dict[str, str]) -> Catalog:
    return Catalog(f"sqlite:///{env['NIANBAO_HOME']}/catalog.sqlite3")


# -- gathering and splitting ---------------------------------------------------------------------
def test_a_round_waits_for_a_quiet_moment_or_its_longest_wait():
    assert not ready(first=0, last=10, now=20, gather=30, gather_max=600)  # sites still coming
    assert ready(first=0, last=10, now=40, gather=30, gather_max=600)  # 30 s without a new one
    assert ready(first=0, last=599, now=600, gather=30, gather_max=600)  # never quiet: capped
    assert ready(first=5, last=5, now=5, gather=0, gather_max=0)  # `schedule round`: at once


def test_sites_are_split_over_the_free_slots_at_most_so_many_each():
    sites = [f"s{i}" for i in range(10)]
    assert split(sites, 2, 100) == [sites[0::2], sites[1::2]]  # both cores, even
    assert split(sites, 2, 3) == [["s0", "s2", "s4"], ["s1", "s3", "s5"]]  # the other 4 wait for a slot
    assert split(sites, 1, 100) == [sites] and split(sites[:1], 2, 100) == [["s0"]]
    assert split(sites[:3], 2, 100) == [["s0", "s2"], ["s1"]]
    assert split(sites, 0, 100) == [] and split([], 2, 100) == []
    national = split([f"s{i}" for i in range(2850)], 2, 1500)
    assert [len(c) for c in national] == [1425, 1425]


# -- a round --------------------------------------------------------------------------------------
def test_a_round_crawls_every_site_politely_in_few_crawls_and_a_dead_site_holds_no_other(env, simulator):
    simulator.clear_requests()
    result = run_nianbao("schedule", "round", "--sites", env["SITES"], "--json", env=env, timeout=120)
    figures = json.loads(result.stdout)
    log = simulator.timed_requests()

    # One run per crawl child, the sites split between the two (NIANBAO_SCHEDULE_MAX_CRAWLS), each run all its sites.
    everything = runs(env)
    assert len(figures["crawls"]) == 2 == len(everything) and {r.trigger for r in everything} == {"schedule"}
    assert sorted(s for r in everything for s in r.sites) == sorted([*SITES, DEAD])
    assert {r.id: sorted(r.sites) for r in everything} == {c["run"]: sorted(c["sites"]) for c in figures["crawls"]}
    assert all(r.status == "finished" for r in everything) and all(c["status"] == "finished" for c in figures["crawls"])

    # Every site's reports archived, the dead one's too (it answered, late).
    expected = {**dict.fromkeys(SITES, 2), DEAD: 1}
    reports = defaultdict(set)
    for capture in catalog(env).captures(kind="report"):
        reports[capture.site].add(capture.url)
    assert {site: len(urls) for site, urls in reports.items()} == expected

    # Polite per host, as the crawl counted it and as the portals saw it.
    for run in everything:
        assert run.stats["busiest_second"] == 1 and set(run.stats["busiest_second_by_host"].values()) == {1}
    times: dict[str, list[float]] = defaultdict(list)
    for when, _method, url in log:
        times[urlsplit(url).hostname].append(when)
    assert set(times) == {f"www.{site}.gov.cn" for site in [*SITES, DEAD]}
    for host, ts in times.items():
        # As the portals saw them: never two at once, and no faster than one a second over the whole crawl. (A
        # request reaches the wire up to ~0.3 s after its slot let it go when the crawl's event loop is busy —
        # two crawls and the simulator share 2 cores here — so one gap can look short after a late request.)
        gaps = [b - a for a, b in zip(ts, ts[1:], strict=False)]
        assert min(gaps) > 0.5 and ts[-1] - ts[0] > len(gaps) - 0.4, (host, gaps)

    # The dead site's crawl-mates were all archived before its report even answered.
    asked = next(when for when, _m, url in log if url.endswith(f"{DEAD}.gov.cn/xxgk/xxgknb/2024.html"))
    answered = asked + DEAD_DELAY
    others = [c for c in catalog(env).captures() if c.site != DEAD]
    last_other = max(c.fetched_at.replace(tzinfo=UTC).timestamp() for c in others)
    assert last_other < answered - 5, (last_other, answered)

    # The figures: requests as the runs counted them, the round's rate over its wall time.
    assert figures["requests"] == sum(r.stats["requests"] for r in everything) > 4 * len(SITES)
    assert figures["sites"] == len(SITES) + 1 and figures["busy"] == {} and not figures["stopped"]
    assert 0 < figures["requests_per_s"] == pytest.approx(figures["requests"] / figures["seconds"], rel=0.01)
    assert all(c["peak_rss_mb"] > 30 and Path(c["log"]).is_file() for c in figures["crawls"])
    index = Path(env["NIANBAO_HOME"]) / "logs" / "schedule" / "sites" / f"{DEAD}.log"
    dead_crawl = next(c for c in figures["crawls"] if DEAD in c["sites"])
    assert index.read_text().count(dead_crawl["log"]) == 1  # how a site's crawl log is found


def test_round_prints_its_figures_and_leaves_busy_sites_to_their_crawls(env):
    held = SiteLocks(catalog(env))
    assert held.acquire(["c01", "c02"]) == {}  # as a crawl elsewhere holds them
    try:
        busy = run_nianbao("schedule", "round", "--sites", env["SITES"], "--site", "c01", "--site", "c02",
                           env=env, check=False, timeout=60)
        assert busy.returncode == 3 and b"every site asked for is being crawled already" in busy.stderr
        assert runs(env) == []
        result = run_nianbao("schedule", "round", "--sites", env["SITES"], "--site", "c01", "--site", "c03",
                             *FAST, env=env, timeout=60)
    finally:
        held.release()
    out = result.stdout.decode()
    [run] = runs(env)
    assert run.sites == ["c03"] and run.status == "finished"
    assert out.startswith(f"round of 2 site(s) in 1 crawl(s): {run.stats['requests']} requests in ")
    row = next(line.split() for line in out.splitlines() if line.split()[:2] == ["1", str(run.id)])
    assert row[2:6] == ["finished", "1", str(run.stats["requests"]), "3"]  # a list and two reports captured
    assert f"busy, left to their crawls: c01 (pid {__import__('os').getpid()} on " in out


# -- the service ----------------------------------------------------------------------------------
def test_the_service_gathers_sites_due_close_together_into_one_crawl(env, tmp_path):
    """Three sites due a second apart, gathered 3 s: one crawl; a fourth due 9 s later: a crawl of its own."""
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=6)
    moments = {"c01": start, "c02": start + timedelta(seconds=1), "c03": start + timedelta(seconds=2),
               "c04": start + timedelta(seconds=9)}
    text = Path(env["SITES"]).read_text("utf-8")
    for site, t in moments.items():
        text = text.replace(f"  - id: {site}\n",
                            f"  - id: {site}\n    schedule: '{t.second} {t.minute} {t.hour} {t.day} {t.month} *'\n")
    registry = tmp_path / "gathered.yaml"
    registry.write_text(text, "utf-8")
    plan_env = {**env, "SITES": str(registry), "NIANBAO_SCHEDULE": "0 0 1 1 *",  # the others: not in this test
                "NIANBAO_ROUND_GATHER": "3", "NIANBAO_SCHEDULE_MAX_CRAWLS": "1"}
    service = Service(plan_env, *FAST)
    try:
        wait_for(lambda: sum(r.status == "finished" for r in runs(plan_env)) == 2, "two crawls", 60, service)
        assert service.stop() == 0
    finally:
        service.kill()
    first, second = runs(plan_env)
    assert sorted(first.sites) == ["c01", "c02", "c03"] and second.sites == ["c04"]
    assert first.trigger == second.trigger == "schedule"
    output = service.output()
    assert "crawl 1 started" in output and "3 site(s): c01, c02, c03" in output
