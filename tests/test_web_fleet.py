"""The fleet in ``nianbao serve``: /workers, /api/workers and the workers' samples in /metrics.

Workers as their heartbeats leave them in a real SQLite catalog: one busy with two crawls, one unhealthy, one
that stopped beating ten minutes ago (dead, though its row still says busy), and one silent for 45 s, alive
because the server runs with NIANBAO_WORKER_TIMEOUT=60 (the default 30 s would call it dead). One dispatch was
handed on from the dead worker to the busy one.
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import timedelta
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from archive.catalog import WORKER_TIMEOUT, Catalog, Worker
from archive.storage import open_store
from crawler.registry import Registry
from nianbao.config import Config
from tests.conftest import ROOT
from tests.support import nianbao_env, stop_process
from tests.support.http import call, start_serve
from web.fleet import worker_timeout
from web.metrics import CatalogCollector
from web.state import ArchiveState

SITES = "sites:\n  - {id: a1, name: 甲县, province: 江西省, home: 'http://www.a1.gov.cn/'}\n"
BUSY_SITES = ["a1", "a2", "a3", "a4", "a5", "a6"]


def _silence(catalog: Catalog, name: str, seconds: float) -> None:
    """The worker's last heartbeat moved ``seconds`` into the past, as if it had said nothing since."""
    (worker,) = [w for w in catalog.workers() if w.name == name]
    with catalog.engine.begin() as conn:
        conn.execute(update(Worker).where(Worker.name == name)
                     .values(heartbeat_at=worker.heartbeat_at - timedelta(seconds=seconds)))


@pytest.fixture(scope="module")
def fleet(tmp_path_factory) -> Any:
    tmp = tmp_path_factory.mktemp("fleet")
    env = {**nianbao_env(tmp / "home"), "NIANBAO_TOKEN": secrets.token_urlsafe(24), "NIANBAO_WORKER_TIMEOUT": "60"}
    config = Config.from_env(env)
    open_store(config)  # made, empty: serve opens an existing archive only
    catalog = Catalog(config.catalog)
    moved, running, done = (catalog.add_dispatch(sites) for sites in (BUSY_SITES[:3], BUSY_SITES[3:], ["b1"]))
    catalog.beat("gone", host="h2", pid=22, state="busy", reason=None, slots=2, requests=40, errors=3,
                 requests_per_s=2.5, parsers=0, crawls=[{"dispatch": moved.id, "pid": 220, "sites": BUSY_SITES[:3]}])
    assert catalog.claim_dispatch(moved.id, 1, "gone")
    _silence(catalog, "gone", 600)
    assert catalog.requeue_dispatch(catalog.dispatch(moved.id), "its worker gone died") == 2
    assert catalog.claim_dispatch(moved.id, 2, "busy") and catalog.claim_dispatch(running.id, 1, "busy")
    assert catalog.claim_dispatch(done.id, 1, "sick")
    catalog.end_dispatch(done.id, 1, "done", 0, run_id=7)
    catalog.beat("busy", host="h1", pid=11, state="busy", reason=None, slots=2, requests=1234, errors=5,
                 requests_per_s=12.5, parsers=1, crawls=[{"dispatch": moved.id, "pid": 110, "sites": BUSY_SITES[:3]},
                                                         {"dispatch": running.id, "pid": 111, "sites": BUSY_SITES[3:]}])
    catalog.beat("sick", host="h3", pid=33, state="unhealthy", reason="disk full", slots=1, crawls=[], requests=9,
                 errors=1, requests_per_s=0.0, parsers=0)
    catalog.beat("quiet", host="h4", pid=44, state="ready", reason=None, slots=1, crawls=[], requests=0, errors=0,
                 requests_per_s=0.0, parsers=0)
    _silence(catalog, "quiet", 45)
    (tmp / "sites.yaml").write_text(SITES, "utf-8")
    process, base = start_serve(["--sites", str(tmp / "sites.yaml")], env, ROOT)
    cookie = call(base + "/login", data=f"token={env['NIANBAO_TOKEN']}&next=/".encode())[1]["set-cookie"]
    yield {"base": base, "token": env["NIANBAO_TOKEN"], "cookie": cookie.split(";")[0], "catalog": catalog,
           "dispatches": {"moved": moved.id, "running": running.id, "done": done.id}}
    stop_process(process)


def test_the_api_says_what_the_heartbeats_say(fleet):
    base = fleet["base"]
    assert call(base + "/api/workers")[0] == 401
    status, _, body = call(base + "/api/workers", fleet["token"])
    assert status == 200
    answer = json.loads(body)
    workers = {w["name"]: w for w in answer["workers"]}
    assert {name: w["state"] for name, w in workers.items()} == {
        "busy": "busy", "gone": "dead", "quiet": "ready", "sick": "unhealthy"}
    busy = workers["busy"]
    assert (busy["host"], busy["requests"], busy["requests_per_s"], busy["errors"]) == ("h1", 1234, 12.5, 5)
    assert busy["sites"] == BUSY_SITES and len(busy["crawls"]) == 2 and busy["parsers"] == 1
    assert workers["gone"]["reason"].startswith("no heartbeat for") and workers["gone"]["heartbeat_age"] >= 600
    assert workers["gone"]["crawls"] == [] and workers["gone"]["requests_per_s"] == 0.0
    assert 45 <= workers["quiet"]["heartbeat_age"] < 60 and workers["sick"]["reason"] == "disk full"
    ids = fleet["dispatches"]
    (handover,) = answer["handovers"]
    assert handover["dispatch"] == ids["moved"] and handover["from"] == "gone" and handover["now_on"] == "busy"
    assert handover["why"] == "its worker gone died" and handover["state"] == "running"
    dispatches = {d["id"]: d for d in answer["dispatches"]}
    assert [d["id"] for d in answer["dispatches"]] == sorted(dispatches, reverse=True)
    assert (dispatches[ids["moved"]]["attempt"], dispatches[ids["moved"]]["worker"]) == (2, "busy")
    assert (dispatches[ids["done"]]["state"], dispatches[ids["done"]]["run_id"]) == ("done", 7)
    assert [d["id"] for d in json.loads(call(base + "/api/workers?limit=1", fleet["token"])[2])["dispatches"]] == [
        ids["done"]]


def test_the_page_marks_the_dead_and_the_unhealthy(fleet):
    base = fleet["base"]
    status, headers, _ = call(base + "/workers")
    assert status == 303 and headers["location"] == "/login?next=%2Fworkers"
    status, _, body = call(base + "/workers", cookie=fleet["cookie"])
    page = body.decode()
    assert status == 200 and '<a href="/workers" aria-current="page">Workers</a>' in page
    workers, handed, dispatches = _sections(page)

    def row(section: str, selector: str) -> str:
        found = re.search(rf'<tr {selector}[^>]*>(.*?)</tr>', section, re.S)
        assert found, selector
        return found.group(1)

    gone, sick, busy = (row(workers, f'data-worker="{name}"') for name in ("gone", "sick", "busy"))
    assert 'class="flag failing"' in gone and "dead" in gone and "no heartbeat for" in gone
    assert 'class="flag missing"' in sick and "unhealthy" in sick and "disk full" in sick
    assert 'class="flag' not in busy and '<span class="status busy">busy</span>' in busy
    assert "1,234" in busy and "12.5" in busy and "and 2 more" in busy and "(6 in 2 crawl(s))" in busy
    assert 'class="flag' not in row(workers, 'data-worker="quiet"')
    ids = fleet["dispatches"]
    moved = row(handed, f'data-dispatch="{ids["moved"]}"')
    assert "gone" in moved and "its worker gone died" in moved and "on busy" in moved
    done = row(dispatches, f'data-dispatch="{ids["done"]}"')
    assert '<a href="/runs/7">7</a>' in done and "sick" in done
    assert '<td class="n" data-field="attempt">2</td>' in row(dispatches, f'data-dispatch="{ids["moved"]}"')


def _sections(page: str) -> tuple[str, str, str]:
    """The page's workers table, its hand-overs and its dispatches, each as HTML."""
    workers, rest = page.split("<h2>Handed on", 1)
    handed, dispatches = rest.split("<h2>Recent dispatches", 1)
    return workers, handed, dispatches


def test_metrics_per_worker(fleet):
    status, _, body = call(fleet["base"] + "/metrics")
    assert status == 200
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(body.decode()) for s in family.samples}

    def of(worker: str, host: str) -> dict[str, float]:
        labels = (("host", host), ("worker", worker))
        return {name: value for (name, key), value in samples.items() if key == labels}

    busy = of("busy", "h1")
    assert {k: v for k, v in busy.items() if k != "nianbao_worker_heartbeat_age_seconds"} == {
        "nianbao_worker_up": 1, "nianbao_worker_requests_total": 1234, "nianbao_worker_requests_per_second": 12.5,
        "nianbao_worker_errors_total": 5, "nianbao_worker_crawls": 2}
    gone = of("gone", "h2")
    assert gone["nianbao_worker_up"] == 0 and gone["nianbao_worker_heartbeat_age_seconds"] >= 600
    assert gone["nianbao_worker_crawls"] == 0 and gone["nianbao_worker_requests_total"] == 40
    assert of("sick", "h3")["nianbao_worker_up"] == 0 and of("quiet", "h4")["nianbao_worker_up"] == 1
    dispatches = {dict(labels)["state"]: value for (name, labels), value in samples.items()
                  if name == "nianbao_dispatches"}
    assert dispatches == {"queued": 0, "running": 2, "done": 1, "failed": 0}


def test_an_empty_fleet_has_no_worker_samples(tmp_path):
    env = nianbao_env(tmp_path / "home")
    config = Config.from_env(env)
    state = ArchiveState(config, Registry([], "none"), Catalog(config.catalog), None)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(CatalogCollector(state))
    families = list(text_string_to_metric_families(generate_latest(registry).decode()))
    assert not [s for f in families if f.name.startswith("nianbao_worker_") for s in f.samples]
    assert {s.labels["state"]: s.value for f in families if f.name == "nianbao_dispatches" for s in f.samples} == {
        "queued": 0, "running": 0, "done": 0, "failed": 0}


def test_the_worker_timeout_as_the_scheduler_reads_it():
    assert worker_timeout({}) == WORKER_TIMEOUT
    assert worker_timeout({"NIANBAO_WORKER_TIMEOUT": "90"}) == timedelta(seconds=90)
    assert worker_timeout({"NIANBAO_WORKER_TIMEOUT": "soon"}) == WORKER_TIMEOUT  # the scheduler refuses it, loudly
    assert worker_timeout({"NIANBAO_WORKER_TIMEOUT": "0.5"}) == WORKER_TIMEOUT
