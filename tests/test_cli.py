"""The CLI as a careless or unlucky user meets it: wrong homes, wrong paths, dead proxies."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from pathlib import Path

import pytest

from tests.conftest import FAST, run_nianbao
from tests.simulator.server import SimulatorServer
from tests.simulator.world import build_world
from tests.support import free_ports, nianbao_env


@pytest.fixture(scope="module")
def world():
    return build_world(counties=1)


@pytest.fixture(scope="module")
def archived(world, tmp_path_factory):
    """One small crawl; returns the environment that reaches its archive."""
    tmp = tmp_path_factory.mktemp("cli")
    registry = tmp / "sites.yaml"
    registry.write_text(world.registry_yaml(), "utf-8")
    env = nianbao_env(tmp / "home")
    with SimulatorServer(world) as server:
        run_nianbao("crawl", "--sites", str(registry), "--proxy", server.proxy_url, *FAST, env=env)
    return env


def test_read_commands_never_create_an_archive(home_env):
    for args in (["archive", "list"], ["archive", "get", "http://www.x.gov.cn/"], ["parse", "queue"]):
        result = run_nianbao(*args, env=home_env, check=False)
        assert result.returncode == 2 and b"no archive catalog" in result.stderr, args
    assert not Path(home_env["NIANBAO_HOME"]).exists()


def test_archive_get_writes_only_where_it_can(world, archived, tmp_path):
    url = world.reports[0].url
    into_dir = run_nianbao("archive", "get", url, "-o", str(tmp_path), env=archived, check=False)
    assert into_dir.returncode == 1 and b"is a directory" in into_dir.stderr
    no_parent = run_nianbao("archive", "get", url, "-o", str(tmp_path / "no" / "r.html"), env=archived, check=False)
    assert no_parent.returncode == 1 and b"does not exist" in no_parent.stderr
    assert list(tmp_path.iterdir()) == []  # no temporary file left behind
    sloppy = url.replace("http://www.", "HTTP://WWW.", 1) + "#top"  # as pasted from a browser
    run_nianbao("archive", "get", sloppy, "-o", str(tmp_path / "r.html"), env=archived)
    written = tmp_path / "r.html"
    assert hashlib.sha256(written.read_bytes()).hexdigest() == world.reports[0].sha256
    assert written.stat().st_mode & 0o044  # readable by others under the usual umask


def test_archive_list_shows_urls_and_filters(world, archived):
    text = run_nianbao("archive", "list", "--kind", "report", env=archived).stdout.decode()
    assert all(r.url in text for r in world.reports)
    year = world.reports[0].year
    rows = [json.loads(line) for line in
            run_nianbao("archive", "list", "--json", "--year", str(year), env=archived).stdout.splitlines()]
    assert rows and {r["year"] for r in rows} == {year}
    assert {"report", "attachment"} >= {r["kind"] for r in rows}


def test_recrawl_does_not_queue_the_same_bodies_twice(world, archived, tmp_path):
    before = run_nianbao("parse", "queue", "--json", env=archived).stdout.splitlines()
    registry = tmp_path / "sites.yaml"
    registry.write_text(world.registry_yaml(), "utf-8")
    with SimulatorServer(world) as server:
        run_nianbao("crawl", "--sites", str(registry), "--proxy", server.proxy_url, *FAST, env=archived)
    after = run_nianbao("parse", "queue", "--json", env=archived).stdout.splitlines()
    assert len(after) == len(before) == len({json.loads(line)["sha256"] for line in before})


def test_crawl_refuses_what_cannot_work(home_env, tmp_path, world):
    national = run_nianbao("crawl", env=home_env, check=False)
    assert national.returncode == 2 and b"--site" in national.stderr
    registry = tmp_path / "sites.yaml"
    registry.write_text(world.registry_yaml(), "utf-8")
    (port,) = free_ports(1)
    dead = run_nianbao("crawl", "--sites", str(registry), "--proxy", f"http://u:pw@127.0.0.1:{port}",
                       env=home_env, check=False)
    assert dead.returncode == 2 and b"unreachable" in dead.stderr and b"pw" not in dead.stderr
    level = run_nianbao("crawl", "--sites", str(registry), "--log-level", "BOGUS", env=home_env, check=False)
    assert level.returncode == 2 and b"BOGUS" in level.stderr
    assert not Path(home_env["NIANBAO_HOME"]).exists()


def test_a_store_that_stays_unwritable_stops_the_crawl_after_the_outage_bound(home_env, tmp_path, world):
    home = Path(home_env["NIANBAO_HOME"])
    (home / "objects").mkdir(parents=True)
    (home / "objects" / "sha256").write_text("a file where a directory belongs")
    registry = tmp_path / "sites.yaml"
    registry.write_text(world.registry_yaml(), "utf-8")
    with SimulatorServer(world) as server:
        result = run_nianbao("crawl", "--sites", str(registry), "--proxy", server.proxy_url, *FAST,
                             "-s", "NIANBAO_OUTAGE_MAX=2", env=home_env, check=False)
    out = result.stdout.decode()
    assert result.returncode == 1 and "storage unavailable" in out and "Not a directory" in out
    assert "NIANBAO_OUTAGE_MAX" in out
    assert run_nianbao("archive", "list", env=home_env).stdout == b""  # nothing recorded without its object


def _columns(text: str) -> int:
    """Terminal columns, measured apart from the CLI's own helper: wide (CJK) characters take two."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def test_archive_list_has_a_header_in_the_order_its_help_names(world, archived):
    lines = run_nianbao("archive", "list", "--kind", "report", env=archived).stdout.decode().splitlines()
    header = lines[0].split()
    assert header == ["time", "kind", "site", "year", "size", "url", "title"]
    helped = " ".join(run_nianbao("archive", "list", "--help", env=archived).stdout.decode().split())
    named = re.search(r"one a line: (.*?)\.", helped).group(1)  # time (UTC), kind, site, year, size, URL, title …
    assert [name.split()[0].lower() for name in named.split(", ")] == header
    url_at = lines[0].index("url")  # the header is ASCII: characters are columns
    assert sorted(line[url_at:].split()[0] for line in lines[1:]) == sorted(r.url for r in world.reports)
    assert all(re.match(r"20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d  report  ", line) for line in lines[1:])


def test_archive_documents_align_chinese_titles(world, archived):
    lines = run_nianbao("archive", "documents", "--site", world.sites[0].id, env=archived).stdout.decode()
    lines = lines.splitlines()
    assert lines[0].split() == ["year", "versions", "title", "urls"] and len(lines) > 10
    starts = {_columns(line[:line.index("http")]) for line in lines[1:]}
    assert starts == {_columns(lines[0][:lines[0].index("urls")])}


def test_sites_list_aligns_by_display_width_and_says_each_name_once(home_env, tmp_path):
    registry = tmp_path / "sites.yaml"
    registry.write_text("sites:\n"
                        "  - {id: gov-hk, name: 香港特别行政区, province: 香港特别行政区, home: 'https://www.gov.hk/'}\n"
                        "  - {id: bjdch, name: 东城区, province: 北京市, prefecture: 北京市, home: 'https://www.bjdch.gov.cn/'}\n"
                        "  - {id: wanzai, name: 万载县, province: 江西省, prefecture: 宜春市, home: 'http://www.wanzai.gov.cn/'}\n"
                        "  - {id: plain, name: Plain County, home: 'http://www.plain.gov.cn/'}\n", "utf-8")
    lines = run_nianbao("sites", "list", "--sites", str(registry), env=home_env).stdout.decode().splitlines()
    assert [line.split()[:2] for line in lines] == [
        ["id", "name"], ["gov-hk", "香港特别行政区"], ["bjdch", "北京市东城区"], ["wanzai", "江西省宜春市万载县"],
        ["plain", "Plain"]]
    assert {_columns(line[:line.index("http")]) for line in lines[1:]} == {_columns(lines[0][:lines[0].index("home")])}
    national = run_nianbao("sites", "list", env=home_env).stdout.decode()
    assert national.count("澳门特别行政区") == 1 and national.count("香港特别行政区") == 1
