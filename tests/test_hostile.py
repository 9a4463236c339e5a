"""The hostile world (tests/simulator/hostile.py) crawled whole: bounded memory and time, every loss recorded.

One crawl over every attack at once, as a national crawl would meet them: a pager claiming a billion
pages, a data proxy claiming two billion records, 60,000 report links on one page, a gzip bomb, an
endless chunked body, a 60 MB attachment and a 20 MB report page.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from archive.storage.base import object_key
from tests.conftest import FAST, ROOT
from tests.simulator.hostile import BIG_FILE_BYTES, HostileServer, big_file_sha256, build_hostile_world, registry_yaml

#: Runs a command and prints the peak RSS (kB) of the largest process it waited for.
_PEAK_RSS = ("import resource, subprocess, sys; code = subprocess.call(sys.argv[1:]); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); sys.exit(code)")
LIMITS = ["-s", "NIANBAO_MAX_LIST_PAGES=20", "-s", "NIANBAO_MAX_REPORTS_PER_PAGE=20"]


@pytest.fixture(scope="module")
def hostile_crawl(tmp_path_factory: pytest.TempPathFactory) -> dict:
    from tests.support import nianbao_env

    home = tmp_path_factory.mktemp("hostile") / "home"
    sites = build_hostile_world()
    registry = home.parent / "sites.yaml"
    registry.write_text(registry_yaml(sites), "utf-8")
    with HostileServer(sites) as server:
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-c", _PEAK_RSS, sys.executable, "-m", "nianbao", "crawl",
                                 "--sites", str(registry), "--proxy", server.proxy_url, *LIMITS, *FAST],
                                env=nianbao_env(home), cwd=ROOT, capture_output=True, timeout=900)
        seconds = time.monotonic() - started
        requests = list(server.requests)
    peak_kb = int(result.stderr.decode().strip().splitlines()[-1])
    print(f"hostile world: {seconds:.1f} s, peak RSS {peak_kb / 1024:.0f} MB, {len(requests)} requests")
    db = sqlite3.connect(home / "catalog.sqlite3")
    return {"result": result, "seconds": seconds, "peak_mb": peak_kb / 1024, "requests": requests, "home": home,
            "sites": {s.id: s for s in sites}, "db": db}


def _failures(crawl: dict, site: str) -> list[str]:
    return [r for (r,) in crawl["db"].execute("SELECT reason FROM failures WHERE site = ?", (site,))]


def test_the_crawl_ends_in_bounded_memory_and_time(hostile_crawl):
    assert hostile_crawl["result"].returncode == 0, hostile_crawl["result"].stderr.decode()[-3000:]
    assert hostile_crawl["peak_mb"] < 600, f"peak RSS {hostile_crawl['peak_mb']:.0f} MB"
    assert hostile_crawl["seconds"] < 400


def test_every_site_still_gives_its_report_and_records_its_attack(hostile_crawl):
    for site in hostile_crawl["sites"].values():
        reports = [u for (u,) in hostile_crawl["db"].execute(
            "SELECT url FROM captures WHERE site = ? AND kind = 'report'", (site.id,))]
        assert site.url("/nb/2023.html") in reports, site.id
        assert any(site.expect_failure in reason for reason in _failures(hostile_crawl, site.id)), \
            (site.id, _failures(hostile_crawl, site.id))
        for url in site.never_archived:
            assert not hostile_crawl["db"].execute("SELECT 1 FROM captures WHERE url = ?", (url,)).fetchall(), url


def test_claimed_page_counts_are_capped_before_anything_is_built(hostile_crawl):
    trs = [u for _m, u in hostile_crawl["requests"] if "www.trsbomb.gov.cn/xxgk/ndbg/index" in u]
    hanweb = [u for m, u in hostile_crawl["requests"] if m == "POST" and "www.hwbomb.gov.cn" in u]
    assert 1 < len(trs) <= 20 and 1 < len(hanweb) <= 20


def test_a_flood_of_report_links_is_bounded_per_page(hostile_crawl):
    followed = [u for _m, u in hostile_crawl["requests"] if "www.flood.gov.cn/nb/flood/" in u]
    assert len(followed) <= 20


def test_a_large_attachment_is_archived_whole_from_disk(hostile_crawl):
    site = hostile_crawl["sites"]["bigfile"]
    (sha256, size), = hostile_crawl["db"].execute(
        "SELECT sha256, size FROM captures WHERE url = ?", (site.url("/files/scan.pdf"),)).fetchall()
    assert size == BIG_FILE_BYTES and sha256 == big_file_sha256()
    stored = Path(hostile_crawl["home"]) / "objects" / object_key(sha256)
    assert stored.stat().st_size == BIG_FILE_BYTES
    queued = hostile_crawl["db"].execute("SELECT count(*) FROM parse_queue WHERE sha256 = ?", (sha256,)).fetchone()
    assert queued == (1,)
