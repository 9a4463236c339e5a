"""Polite by default: one connection and at most one request a second per host, many hosts at once; a site's
own ``delay:`` kept to; AutoThrottle only ever slower; the busiest second per host in the run's figures."""

from __future__ import annotations

import json
import math
import random
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from scrapy import Spider
from scrapy.core.downloader import Slot
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from crawler.downloadermiddlewares.politeness import stricter
from crawler.extensions.throttle import AutoThrottle
from crawler.registry import RegistryError, parse_registry
from tests.conftest import FAST, run_nianbao
from tests.simulator import html_portal
from tests.simulator.files import FileFactory
from tests.simulator.pages import Column, SiteConfig
from tests.simulator.plan import plan_static
from tests.simulator.server import SimulatorServer
from tests.simulator.world import World, _sim_site

#: (id, county, province, prefecture, reports): two sites at the default pace, one that asks for 2.5 s. As few reports
#: as show the pace (the default-pace crawl lasts as long as its longest host): 12, 12 and 6 requests a host.
SITES = [("wanzai", "万载县", "江西省", "宜春市", 8), ("yiyuan", "沂源县", "山东省", "淄博市", 8),
         ("xunwu", "寻乌县", "江西省", "赣州市", 3)]
SLOW, SLOW_DELAY = "xunwu", 2.5


def small_world() -> World:
    """Three plain county sites on three hosts, 6 to 12 requests each (a list, reports, files, a near miss)."""
    world = World()
    for site_id, county, province, prefecture, reports in SITES:
        rng = random.Random(f"politeness:{site_id}")
        site = SiteConfig(site_id, county, province, prefecture, f"www.{site_id}.gov.cn", "html", per_page=20)
        site.columns = [Column(site.url("/xxgk/zfxxgknb/index.html"), "/xxgk/zfxxgknb/")]
        html_portal.build(site, plan_static(county, site.host, reports, rng), world, FileFactory(0), rng)
        world.sites.append(_sim_site(site))
    return world


def registry(world: World, path: Path, slow: bool) -> Path:
    text = world.registry_yaml()
    if slow:
        text = text.replace(f"  - id: {SLOW}\n", f"  - id: {SLOW}\n    delay: {SLOW_DELAY}\n")
    path.write_text(text, "utf-8")
    return path


def crawl(world: World, env: dict[str, str], tmp_path: Path, *settings: str,
          slow: bool = True) -> tuple[dict, str, list]:
    """Crawl the world; the run's figures, the crawl's summary and the simulator's (time, method, URL) log."""
    with SimulatorServer(world) as server:
        result = run_nianbao("crawl", "--sites", str(registry(world, tmp_path / "sites.yaml", slow)), "--proxy",
                             server.proxy_url, *settings, env=env, timeout=180)
        log = server.timed_requests()
    [run] = [json.loads(line) for line in run_nianbao("runs", "list", "--json", env=env).stdout.splitlines()]
    return run, result.stdout.decode(), log


def by_host(log: list[tuple[float, str, str]]) -> dict[str, list[float]]:
    times: dict[str, list[float]] = defaultdict(list)
    for when, _, url in log:
        times[urlsplit(url).hostname].append(when)
    return {host: sorted(ts) for host, ts in times.items()}


@pytest.fixture(scope="module")
def world() -> World:
    return small_world()


def test_by_default_each_host_gets_one_request_a_second_and_hosts_are_crawled_at_once(world, home_env, tmp_path):
    run, summary, log = crawl(world, home_env, tmp_path)
    stats, times = run["stats"], by_host(log)
    assert stats["reports"] == len(world.reports) and set(times) == {f"www.{s[0]}.gov.cn" for s in SITES}
    for host, ts in times.items():
        delay = SLOW_DELAY if host == f"www.{SLOW}.gov.cn" else 1.0
        gaps = [b - a for a, b in zip(ts, ts[1:], strict=False)]
        # As the portal saw them (threads and clocks allow a few hundredths): AutoThrottle never went faster
        # than the delay, on a portal that answers at once — not even the slow site's, above DOWNLOAD_DELAY.
        assert len(ts) >= 6 and min(gaps) > delay - 0.1, (host, gaps)
    # The busiest second per host, as the crawl counted it, for every host.
    assert stats["busiest_second"] == 1 and stats["busiest_second_by_host"] == dict.fromkeys(times, 1)
    assert "busiest second: 1 request to one host" in summary
    # The hosts went in parallel: the crawl took about as long as its longest host, not as all of them.
    spans = {host: ts[-1] - ts[0] for host, ts in times.items()}
    whole = max(t for ts in times.values() for t in ts) - min(t for ts in times.values() for t in ts)
    assert whole < 1.25 * max(spans.values()) and whole < 0.5 * sum(spans.values()), (whole, spans)
    shown = run_nianbao("runs", "show", str(run["id"]), env=home_env).stdout.decode()
    assert "busiest second   1 request to one host (www." in shown and "busiest second per host:" in shown


def test_the_figure_shows_a_crawl_that_is_not_polite(world, home_env, tmp_path):
    run, summary, log = crawl(world, home_env, tmp_path, *FAST, "-s", "AUTOTHROTTLE_ENABLED=false", slow=False)
    seconds = Counter((urlsplit(url).hostname, int(when)) for when, _, url in log)
    busiest = max(seconds.values())
    assert busiest > 2 and run["stats"]["busiest_second"] >= busiest - 1  # ± a request at a second's edge
    assert f"busiest second: {run['stats']['busiest_second']} requests to one host (www." in summary


@given(floor=st.floats(0, 100), ceiling=st.floats(0.1, 60), start=st.floats(0, 100),
       answers=st.lists(st.tuples(st.floats(0, 200), st.sampled_from([200, 304, 404, 500])), max_size=30))
def test_autothrottle_never_goes_below_the_hosts_delay(floor, ceiling, start, answers):
    throttle = AutoThrottle(get_crawler(Spider, {"AUTOTHROTTLE_ENABLED": True}))
    throttle.mindelay, throttle.maxdelay = floor, ceiling  # as _response_downloaded sets them for the host
    slot = Slot(1, max(floor, start), 0)
    for latency, status in answers:
        throttle._adjust_delay(slot, latency, Response("http://www.wanzai.gov.cn/", status=status))
        assert slot.delay >= floor  # above AUTOTHROTTLE_MAX_DELAY too, when the host asks for more
        assert slot.delay <= max(floor, ceiling, start)


paces = st.fixed_dictionaries({}, optional={"delay": st.floats(0, 60), "concurrency": st.integers(1, 16)})


@given(one=paces, other=paces)
def test_a_host_two_sites_share_gets_the_stricter_pace(one, other):
    merged = stricter(one, other)
    assert merged.keys() == one.keys() | other.keys()
    assert merged.get("delay", 0) == max(one.get("delay", 0), other.get("delay", 0))
    concurrencies = [p["concurrency"] for p in (one, other) if "concurrency" in p]
    assert merged.get("concurrency") == (min(concurrencies) if concurrencies else None)


anything = st.one_of(st.none(), st.booleans(), st.integers(-10, 5000), st.floats(allow_nan=True),
                     st.text(max_size=5), st.lists(st.integers(), max_size=2))


@given(delay=anything, concurrency=anything)
def test_a_sites_pace_is_validated_naming_the_entry(delay, concurrency):
    entry = {"id": "wanzai", "name": "万载县", "home": "http://www.wanzai.gov.cn/"}
    entry.update({k: v for k, v in (("delay", delay), ("concurrency", concurrency)) if v is not None})
    text = yaml.safe_dump({"sites": [entry]}, allow_unicode=True)
    number = isinstance(delay, int | float) and not isinstance(delay, bool) and not math.isnan(delay)
    good_delay = delay is None or number and 0 <= delay <= 3600
    good_concurrency = concurrency is None or type(concurrency) is int and 1 <= concurrency <= 16
    if good_delay and good_concurrency:
        [site] = parse_registry(text, "sites.yaml").sites
        assert (site.delay, site.concurrency) == (None if delay is None else float(delay), concurrency)
        return
    with pytest.raises(RegistryError) as problem:
        parse_registry(text, "sites.yaml")
    message = str(problem.value)
    assert ("entry 1 (id 'wanzai'): delay must be" in message) != good_delay
    assert ("entry 1 (id 'wanzai'): concurrency must be" in message) != good_concurrency
