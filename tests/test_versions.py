"""An archivist's questions: what did this county publish, when, and what did it say before?

One scenario through the CLI: a first crawl, an unchanged recrawl (answered 304), then the
county corrects two reports and takes one down, and a third crawl. Then history, time travel,
diffs, documents, and fixity audits that must find every damaged object.
"""

from __future__ import annotations

import io
import json
import re
import secrets
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import quote

import pytest

from archive.catalog import Catalog, isoformat
from archive.storage import object_key, open_store, sha256_hex
from nianbao.config import Config
from tests.conftest import FAST, ROOT, run_nianbao
from tests.simulator.server import SimulatorServer
from tests.simulator.world import build_world
from tests.support import stop_process
from tests.support.http import call, start_serve

CORRECTION = "<p>更正说明：第三部分统计数据有误，已于今日更正。</p>".encode()


def _now() -> str:
    time.sleep(0.01)
    moment = isoformat(datetime.now(UTC).replace(tzinfo=None))
    time.sleep(0.01)
    return moment


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    world = build_world(counties=1)
    tmp = tmp_path_factory.mktemp("versions")
    registry = tmp / "sites.yaml"
    registry.write_text(world.registry_yaml(), "utf-8")
    env = {"NIANBAO_HOME": str(tmp / "home"), "PATH": "/usr/bin:/bin"}
    pages = [r for r in world.reports if "html" in world.resolve("GET", r.url)[1]["Content-Type"]]
    revised, removed = pages[:2], pages[2]
    moments = {}
    with SimulatorServer(world) as server:
        args = ["crawl", "--sites", str(registry), "--proxy", server.proxy_url, *FAST]
        later = ["-s", "NIANBAO_RECHECK_AFTER=0"]  # as the weekly crawls would: ask after everything again
        moments["before"] = _now()
        run_nianbao(*args, env=env)
        moments["first"] = _now()
        server.clear_requests()
        run_nianbao(*args, env=env)  # the same day: what was just confirmed is not asked after
        rerun = server.requests_snapshot()
        run_nianbao(*args, *later, env=env)
        moments["second"] = _now()
        undo = [world.revise(r.url, CORRECTION) for r in revised] + [world.remove(removed.url)]
        try:
            run_nianbao(*args, *later, env=env)
        finally:
            for restore in undo:
                restore()
        moments["third"] = _now()
    catalog = Catalog(f"sqlite:///{tmp}/home/catalog.sqlite3", create=False)
    return world, env, catalog, revised, removed, moments, rerun


def _json_lines(*args: str, env: dict[str, str]) -> list[dict]:
    return [json.loads(line) for line in run_nianbao(*args, env=env).stdout.decode().splitlines()]


def test_a_rerun_the_same_day_asks_only_after_the_lists(scenario):
    world, _env, catalog, *_, rerun = scenario
    *_, rerun_run, first = catalog.runs()
    asked = {url for _method, url in rerun}
    assert asked.isdisjoint(r.url for r in world.reports) and asked.isdisjoint(a.url for a in world.attachments)
    # Every report, and every page fetched only for the judge to read (kept as kind 'page'), is not asked again;
    # and so no attachment is reached.
    judged = {c.url for c in catalog.captures(run=first.id) if c.kind in ("report", "page")}
    assert {r.url for r in world.reports} <= judged
    assert rerun_run.stats["fresh_skipped"] == len(judged)
    assert rerun_run.stats["objects_stored"] == 0 and rerun_run.status == "finished"


def test_an_unchanged_recrawl_is_answered_from_the_archive(scenario):
    _world, _env, catalog, _revised, _removed, *_ = scenario
    third, second, *_ = catalog.runs()
    captures = list(catalog.captures(run=second.id))
    not_modified = sum(c.status == 304 for c in captures)
    assert not_modified >= 0.9 * len(captures) and second.stats["not_modified"] == not_modified
    assert second.stats["objects_stored"] == 0 and {c.novelty for c in captures} == {"same"}
    assert (third.stats["new_versions"], third.stats["gone"], third.stats["new_reports"]) == (2, 1, 0)
    log = _json_lines("runs", "log", str(third.id), "--json", env=_env)
    said = {line["url"]: line["event"] for line in log if line["event"] in ("archived", "unchanged", "gone")}
    assert said[_removed.url] == "gone" and {said[r.url] for r in _revised} == {"archived"}
    assert list(said.values()).count("unchanged") == len(said) - 3
    shown = run_nianbao("runs", "show", str(second.id), env=_env).stdout.decode()
    assert f"not_modified     {second.stats['not_modified']}" in shown


def test_history_numbers_versions_and_marks_revisits_and_gone(scenario):
    world, env, _catalog, revised, removed, *_ = scenario
    history = _json_lines("archive", "history", revised[0].url, "--json", env=env)
    assert [(h["version"], h["revisit"], h["status"]) for h in history] == [(1, False, 200), (1, True, 304),
                                                                           (2, False, 200)]
    assert history[0]["sha256"] == history[1]["sha256"] == revised[0].sha256 != history[2]["sha256"]
    assert set(history[0]) >= set(_json_lines("archive", "list", "--kind", "report", "--json", env=env)[0])
    gone = _json_lines("archive", "history", removed.url, "--json", env=env)
    assert [(h["version"], h["gone"], h["status"]) for h in gone] == [(1, False, 200), (1, False, 304),
                                                                      (None, True, 404)]
    text = run_nianbao("archive", "history", removed.url, env=env).stdout.decode()
    assert text.splitlines()[-1].split()[1:4] == ["404", "v-", "gone"]


def test_get_at_a_moment_returns_the_version_current_then(scenario, tmp_path):
    _world, env, _catalog, revised, removed, moments, _ = scenario
    url = revised[0].url
    history = _json_lines("archive", "history", url, "--json", env=env)
    for at, expected in ((history[0]["fetched_at"], revised[0].sha256), (moments["second"], revised[0].sha256),
                         (moments["third"], history[2]["sha256"]), (history[2]["fetched_at"], history[2]["sha256"])):
        body = run_nianbao("archive", "get", url, "--at", at, env=env).stdout
        assert sha256_hex(body) == expected, at
    assert CORRECTION in run_nianbao("archive", "get", url, env=env).stdout
    early = run_nianbao("archive", "get", url, "--at", moments["before"], env=env, check=False)
    assert early.returncode == 1 and b"was first captured at" in early.stderr
    gone = run_nianbao("archive", "get", removed.url, "--at", moments["third"], env=env, check=False)
    assert gone.returncode == 1 and b"was gone (HTTP 404)" in gone.stderr and b"last version" in gone.stderr
    kept = run_nianbao("archive", "get", removed.url, "--at", moments["first"], "-o", str(tmp_path / "r"), env=env)
    assert sha256_hex((tmp_path / "r").read_bytes()) == removed.sha256 and kept.returncode == 0
    bad = run_nianbao("archive", "get", url, "--at", "last spring", env=env, check=False)
    assert bad.returncode == 1 and b"is not a time" in bad.stderr


def test_diff_shows_what_changed_in_the_visible_text(scenario):
    _world, env, _catalog, revised, _removed, moments, _ = scenario
    diff = run_nianbao("archive", "diff", revised[1].url, env=env).stdout.decode()
    added = [line for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert added == ["+" + CORRECTION.decode().removeprefix("<p>").removesuffix("</p>")]
    assert not [line for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    same = run_nianbao("archive", "diff", revised[1].url, "--from", moments["first"], "--to", moments["second"],
                       env=env)
    assert same.stdout == b"" and b"the same version" in same.stderr


def test_documents_group_a_site_s_reports_with_their_versions(scenario):
    world, env, catalog, revised, removed, *_ = scenario
    docs = _json_lines("archive", "documents", "--site", world.sites[0].id, "--json", env=env)
    by_url = {d["urls"][0]: d for d in docs}
    assert len(docs) == len({(r.agency, r.year) for r in world.reports})
    assert all(by_url[r.url]["versions"] == 2 for r in revised)
    assert by_url[removed.url]["gone"] and by_url[removed.url]["versions"] == 1
    assert sum(d["gone"] for d in docs) == 1


def test_a_report_republished_at_a_new_url_is_the_same_document(tmp_path):
    catalog = Catalog(f"sqlite:///{tmp_path}/catalog.sqlite3")
    row = {"site": "wanzai", "kind": "report", "final_url": "", "method": "GET", "status": 200, "headers": {},
           "size": 1, "year": 2023, "agency": "万载县教育体育局", "agency_kind": "department", "title": "年报"}
    catalog.record([{**row, "url": "http://www.wanzai.gov.cn/a.html", "sha256": "a" * 64,
                     "fetched_at": datetime(2024, 1, 20)},
                    {**row, "url": "http://www.wanzai.gov.cn/b.html", "sha256": "b" * 64,
                     "fetched_at": datetime(2024, 3, 1)}])
    from archive.versions import documents

    [doc] = documents(catalog, "wanzai")
    assert doc.urls == ["http://www.wanzai.gov.cn/a.html", "http://www.wanzai.gov.cn/b.html"]
    assert doc.versions == ["a" * 64, "b" * 64]


@pytest.mark.parametrize("backend", ["local", "s3"])
def test_verify_finds_every_missing_and_corrupt_object(backend, tmp_path, request):
    env = {"NIANBAO_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"}
    if backend == "s3":
        env.update(request.getfixturevalue("s3_env"))
    config = Config.from_env(env)
    store, catalog = open_store(config), Catalog(config.catalog)
    bodies = [f"第{i}份年度报告".encode() * 50 for i in range(6)]
    digests = [store.put(body) for body in bodies]
    now = datetime.now(UTC).replace(tzinfo=None)
    catalog.record([{"site": "wanzai", "kind": "report", "url": f"http://www.wanzai.gov.cn/{i}.html",
                     "final_url": f"http://www.wanzai.gov.cn/{i}.html", "status": 200, "headers": {},
                     "fetched_at": now, "sha256": d, "size": len(bodies[i])} for i, d in enumerate(digests)])
    assert run_nianbao("archive", "verify", env=env).returncode == 0
    damaged = {digests[1]: "corrupt", digests[4]: "missing"}
    if backend == "local":
        (Path(env["NIANBAO_HOME"]) / "objects" / object_key(digests[1])).write_bytes(b"bit rot")
        (Path(env["NIANBAO_HOME"]) / "objects" / object_key(digests[4])).unlink()
    else:
        client, bucket = request.getfixturevalue("s3_server").client(), config.storage.removeprefix("s3://")
        client.put_object(bucket, object_key(digests[1]), io.BytesIO(b"bit rot"), 7)
        client.remove_object(bucket, object_key(digests[4]))
    result = run_nianbao("archive", "verify", "--json", env=env, check=False)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["checked"] == 6
    assert {p["sha256"]: p["problem"] for p in report["problems"]} == damaged
    assert {p["referrers"][0]["url"] for p in report["problems"]} == {"http://www.wanzai.gov.cn/1.html",
                                                                       "http://www.wanzai.gov.cn/4.html"}
    sampled = run_nianbao("archive", "verify", "--sample", "2", env=env, check=False)
    assert b"2 object(s) checked" in sampled.stdout
    audits = catalog.audits()
    assert [a.checked for a in audits] == [2, 6, 6] and (audits[1].missing, audits[1].corrupt) == (1, 1)
    assert (audits[2].missing, audits[2].corrupt) == (0, 0)
    got = run_nianbao("archive", "get", "http://www.wanzai.gov.cn/1.html", env=env, check=False)
    assert got.returncode == 1 and got.stdout == b"" and b"refusing to return" in got.stderr


@pytest.fixture(scope="module")
def served(scenario):
    """``nianbao serve`` over the scenario's archive, with a token of our own."""
    _world, env, *_ = scenario
    token = secrets.token_urlsafe(24)
    process, base = start_serve([], {**env, "NIANBAO_TOKEN": token}, ROOT)
    yield base, token
    stop_process(process)


def test_memento_timemap_timegate_and_mementos(scenario, served):
    _world, env, catalog, revised, removed, *_ = scenario
    base, token = served
    url = revised[0].url
    history = _json_lines("archive", "history", url, "--json", env=env)
    assert call(f"{base}/timemap/link/{url}")[0] == 401  # the archive is behind the token, like the API
    status, headers, body = call(f"{base}/timemap/link/{url}", token)
    assert status == 200 and headers["content-type"] == "application/link-format"
    mementos = re.findall(r'<(/memento/(\d{14})/[^>]+)>; rel="[^"]*memento[^"]*"; datetime="([^"]+)"',
                          body.decode())  # relative: never built from the request's Host header
    assert [m[1] for m in mementos] == [h["fetched_at"][:19].replace("-", "").replace(":", "").replace("T", "")
                                        for h in history]
    assert f'<{url}>; rel="original"' in body.decode() and 'rel="timegate"' in body.decode()
    assert f'</timemap/link/{url}>; rel="self"; type="application/link-format"' in body.decode()

    first = datetime.fromisoformat(history[0]["fetched_at"].removesuffix("Z"))
    wanted = format_datetime(first.replace(tzinfo=UTC), usegmt=True)
    status, headers, _ = call(f"{base}/timegate/{url}", token, headers={"Accept-Datetime": wanted})
    assert status == 302 and headers["vary"] == "accept-datetime" and mementos[0][0] == headers["location"]
    status, headers, _ = call(f"{base}/timegate/{url}", token, method="HEAD")  # no Accept-Datetime: the latest
    assert status == 302 and headers["location"] == mementos[-1][0]
    assert call(f"{base}/timegate/{url}", token, headers={"Accept-Datetime": "last spring"})[0] == 400

    for (memento, _stamp, when), capture in zip(mementos, history, strict=True):
        status, headers, body = call(base + memento, token)
        assert status == 200 and sha256_hex(body) == capture["sha256"]
        assert headers["content-type"] == capture["content_type"] and headers["memento-datetime"] == when
        assert 'rel="original"' in headers["link"]
        assert headers["content-security-policy"].startswith("sandbox")  # the county's scripts never run here
    assert call(f"{base}/timemap/link/http://www.nowhere.gov.cn/", token)[0] == 404
    encoded = "http://www.xunwu.gov.cn/uploadfiles/%E5%B9%B4%E6%8A%A5.pdf?v=2"  # 年报.pdf, as Scrapy keeps it
    digest = open_store(Config.from_env(env)).put(b"%PDF-1.4 report")
    catalog.record([{"site": "xunwu", "kind": "attachment", "url": encoded, "final_url": encoded, "status": 200,
                     "headers": {}, "fetched_at": datetime(2024, 3, 1, 8), "sha256": digest, "size": 15,
                     "content_type": "application/pdf"}])
    status, _, body = call(f"{base}/timemap/link/{encoded}", token)
    assert status == 200 and f'<{encoded}>; rel="original"' in body.decode()
    status, headers, body = call(f"{base}/memento/20240301/{encoded}", token)
    assert (status, body, headers["content-type"]) == (200, b"%PDF-1.4 report", "application/pdf")
    gone_map = call(f"{base}/timemap/link/{removed.url}", token)[2].decode()
    assert gone_map.count("/memento/") == 2  # its versions stay retrievable; the 404 is no memento


def test_memento_links_never_reflect_a_forged_host(scenario, served):
    _world, _env, _catalog, revised, *_ = scenario
    base, token = served
    url, forged = revised[0].url, {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}
    status, headers, body = call(f"{base}/timemap/link/{url}", token, headers=forged)
    assert status == 200 and "evil" not in body.decode() and f'</timegate/{url}>; rel="timegate"' in body.decode()
    status, headers, _ = call(f"{base}/timegate/{url}", token, headers=forged)
    assert status == 302 and headers["location"].startswith("/memento/") and headers["location"].endswith(url)
    assert "evil" not in headers["link"] and f'</timemap/link/{url}>; rel="timemap"' in headers["link"]
    status, headers, body = call(base + headers["location"], token, headers=forged)
    assert status == 200 and "evil" not in headers["link"]
    status, headers, _ = call(f"{base}/memento/2001/{url}", token, headers=forged)  # not captured then: redirected
    assert status == 302 and headers["location"].startswith("/memento/")


def test_cdx_query_exact_prefix_and_time_range(scenario, served):
    world, env, catalog, revised, *_ = scenario
    base, token = served
    url = revised[0].url
    status, _, body = call(f"{base}/cdx?url={quote(url, safe='')}", token)
    lines = [json.loads(line) for line in body.decode().splitlines()]
    assert status == 200 and [c["sha256"] for c in lines] == [c.sha256 for c in catalog.captures_of(url)]
    assert [c["status"] for c in lines] == [200, 304, 200]
    host = url.split("/")[2]
    everything = call(f"{base}/cdx?url={quote(f'http://{host}/', safe='')}&matchType=prefix", token)[2]
    prefixed = [json.loads(line) for line in everything.decode().splitlines()]
    assert {c["url"] for c in prefixed} >= {r.url for r in world.reports if r.url.startswith(f"http://{host}/")}
    year = lines[0]["timestamp"][:4]
    later = call(f"{base}/cdx?url={quote(url, safe='')}&from={int(year) + 1}", token)[2]
    assert later == b""
    within = call(f"{base}/cdx?url={quote(url, safe='')}&from={year}&to={year}&output=cdxj", token)[2].decode()
    assert len(within.splitlines()) == 3 and within.startswith(("cn,gov,", "cn,gov)"))
    assert call(f"{base}/cdx?url={quote(url, safe='')}&from=yesterday", token)[0] == 400
