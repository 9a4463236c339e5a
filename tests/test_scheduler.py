"""The scheduler: the spring plan's times, and `nianbao schedule run` as a real service on a short real schedule.

The service tests crawl a tiny simulated world (a fast site and one whose report answers slowly, so a
crawl is surely running when it is killed or the service is stopped) through the simulator's proxy.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from archive.catalog import Catalog
from crawler.registry import RegistryError, load_registry, parse_registry
from nianbao.config import ConfigError
from scheduler.config import load_settings
from scheduler.jobs import open_jobs, sync
from scheduler.plan import Plan, PlanError, cron_trigger
from scheduler.rounds import split
from scheduler.status import status
from tests.conftest import ROOT, run_nianbao
from tests.simulator.server import SimulatorServer
from tests.simulator.world import SimSite, World

SHANGHAI = ZoneInfo("Asia/Shanghai")
_HTML = "text/html; charset=utf-8"
SLOW = 3.0  # seconds the slow site takes to answer its list page
SLOW_LIST = "http://www.slow.gov.cn/xxgk/xxgknb/index.html"


def fire_times(trigger, start: datetime, end: datetime) -> list[datetime]:
    times, previous = [], None
    while True:
        following = trigger.get_next_fire_time(previous, previous or start)
        if following is None or following >= end:
            return times
        times.append(following)
        previous = following


def field(trigger, name: str) -> str:
    return next(str(f) for f in trigger.fields if f.name == name)


# -- the plan ---------------------------------------------------------------------------------------
def test_default_plan_is_weekly_in_spring_then_monthly_in_the_first_week():
    trigger = Plan().trigger("wanzai")
    times = fire_times(trigger, datetime(2027, 1, 1, tzinfo=SHANGHAI), datetime(2028, 1, 1, tzinfo=SHANGHAI))
    spring = [t for t in times if 2 <= t.month <= 4]
    assert 12 <= len(spring) <= 13 and spring[0].day <= 7 and spring[-1].day > 30 - 7
    assert {b - a for a, b in zip(spring, spring[1:], strict=False)} == {timedelta(days=7)}
    others = Counter(t.month for t in times if not 2 <= t.month <= 4)
    assert others == dict.fromkeys([1, *range(5, 13)], 1)  # one in each later month …
    assert all(t.day <= 7 for t in times if not 2 <= t.month <= 4)  # … in its first week
    assert len({(t.weekday(), t.hour, t.minute, t.second) for t in times}) == 1  # the site's own slot


def test_the_national_registry_comes_due_together_for_one_round():
    """The default plan: one time for every site, the jitter inside the round's gathering (scheduler/plan.py)."""
    sites = load_registry().sites
    assert len(sites) == 2850
    start = datetime(2027, 2, 1, tzinfo=SHANGHAI)
    defaults = load_settings(env={})
    plan = Plan(jitter=defaults.plan.jitter)
    firsts = [plan.trigger(site.id).get_next_fire_time(None, start) for site in sites]
    monday = datetime(2027, 2, 1, 2, tzinfo=SHANGHAI)
    assert all(monday <= t <= monday + timedelta(seconds=defaults.plan.jitter) for t in firsts)
    assert defaults.plan.jitter < defaults.gather_max  # so the jittered starts land in one round …
    assert len(split([s.id for s in sites], defaults.max_crawls, defaults.round_sites)) == defaults.max_crawls
    assert sum(map(len, split([s.id for s in sites], defaults.max_crawls, defaults.round_sites))) == len(sites)


def test_h_still_spreads_sites_over_the_week_for_those_who_want_it():
    sites = load_registry().sites
    start = datetime(2027, 2, 1, tzinfo=SHANGHAI)
    plan = Plan(("H H H * 2-4 H", "H H H 1-7 1,5-12 H"))  # the default before rounds
    firsts = [plan.trigger(site.id).get_next_fire_time(None, start) for site in sites]
    per_minute = Counter((t.weekday(), t.hour, t.minute) for t in firsts)
    per_hour = Counter((t.weekday(), t.hour) for t in firsts)
    per_day = Counter(t.weekday() for t in firsts)
    assert max(per_minute.values()) <= 5  # of 2,850: never more than a handful start in one minute
    assert max(per_hour.values()) <= 2 * len(sites) / (7 * 24)
    assert len(per_hour) == 7 * 24 and all(0.1 < n / len(sites) < 0.2 for n in per_day.values())


def test_jitter_delays_each_start_by_up_to_its_seconds():
    start = datetime(2027, 2, 1, tzinfo=SHANGHAI)
    exact = Plan().trigger("wanzai").get_next_fire_time(None, start)
    jittered = [Plan(jitter=600).trigger("wanzai").get_next_fire_time(None, start) for _ in range(20)]
    assert all(exact <= t <= exact + timedelta(seconds=600) for t in jittered) and len(set(jittered)) > 1


def test_slots_are_the_same_in_every_process():
    ids = ["wanzai", "xunwu", "yiyuan"]
    here = [str(Plan().trigger(i)) for i in ids]
    code = f"from scheduler.plan import Plan; print([str(Plan().trigger(i)) for i in {ids!r}])"
    for seed in ("1", "2"):
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                             env={**os.environ, "PYTHONHASHSEED": seed}, check=True).stdout
        assert out.strip() == str(here)


def test_h_seconds_and_cron_weekday_numbering():
    minutes = {field(cron_trigger("H * * * *", f"site{i}"), "minute") for i in range(50)}
    assert len(minutes) > 20  # H spreads sites
    ranged = cron_trigger("H(10-20) H(1-5) * * *", "wanzai")
    assert 10 <= int(field(ranged, "minute")) <= 20 and 1 <= int(field(ranged, "hour")) <= 5
    every = fire_times(cron_trigger("H/15 * * * *", "wanzai", "UTC"), datetime(2027, 1, 1, tzinfo=UTC),
                       datetime(2027, 1, 1, 1, tzinfo=UTC))
    assert len(every) == 4 and every[0].minute < 15
    seconds = fire_times(cron_trigger("*/3 * * * * *", "wanzai", "UTC"), datetime(2027, 1, 1, tzinfo=UTC),
                         datetime(2027, 1, 1, 0, 0, 12, tzinfo=UTC))
    assert [t.second for t in seconds] == [0, 3, 6, 9]
    week = (datetime(2027, 1, 4, tzinfo=UTC), datetime(2027, 1, 18, tzinfo=UTC))  # two weeks from a Monday
    days = {expression: {t.strftime("%a") for t in fire_times(cron_trigger(expression, "x", "UTC"), *week)}
            for expression in ("0 3 * * 0", "0 3 * * 7", "0 3 * * sun", "0 3 * * 1", "0 3 * * 1-5", "0 3 * * 5-7",
                               "0 3 * * */2")}
    assert days == {"0 3 * * 0": {"Sun"}, "0 3 * * 7": {"Sun"}, "0 3 * * sun": {"Sun"}, "0 3 * * 1": {"Mon"},
                    "0 3 * * 1-5": {"Mon", "Tue", "Wed", "Thu", "Fri"}, "0 3 * * 5-7": {"Fri", "Sat", "Sun"},
                    "0 3 * * */2": {"Sun", "Tue", "Thu", "Sat"}}
    first_week = fire_times(cron_trigger("0 3 1-7 * 1", "x", "UTC"), datetime(2027, 1, 1, tzinfo=UTC),
                            datetime(2027, 7, 1, tzinfo=UTC))  # day AND weekday: the first Monday only
    assert [(t.month, t.day) for t in first_week] == [(1, 4), (2, 1), (3, 1), (4, 5), (5, 3), (6, 7)]


@pytest.mark.parametrize(("expression", "message"), [
    ("* * *", "expected 5 fields"),
    ("61 * * * *", "higher than the maximum"),
    ("0 3 * * 8", "'8' is not a weekday"),
    ("0 3 * * 6-1", "first day comes after the last"),
    ("H * * H *", "H is not allowed"),
    ("H(50-70) * * * *", "H(50-70) must lie within 0-59"),
    ("0 0 31 2 *", "never fires"),
])
def test_bad_expressions_are_named(expression, message):
    with pytest.raises(ConfigError) as bad_setting:
        Plan.from_text(f"H H * * *; {expression}")
    assert "NIANBAO_SCHEDULE" in str(bad_setting.value) and repr(expression) in str(bad_setting.value)
    assert message in str(bad_setting.value)
    registry = (f"sites:\n  - {{id: good, name: G, home: 'http://g.gov.cn/', schedule: 'H H * * *'}}\n"
                f"  - {{id: wanzai, name: W, home: 'http://w.gov.cn/', schedule: ['H H * * 1', '{expression}']}}\n")
    with pytest.raises(RegistryError) as bad_entry:
        parse_registry(registry, "sites.yaml")
    assert "entry 2 (id 'wanzai'): schedule: " + repr(expression) in str(bad_entry.value)
    assert "entry 1" not in str(bad_entry.value)
    if "never" not in message:
        with pytest.raises(PlanError, match="site 'wanzai': schedule"):
            Plan().trigger("wanzai", [expression])


def test_settings_come_from_defaults_then_environment_then_flags():
    defaults = load_settings(env={})
    assert defaults.max_crawls == 2 and defaults.plan.jitter == 600
    assert (defaults.gather, defaults.gather_max, defaults.round_sites) == (30, 900, 1500)
    assert load_settings({"NIANBAO_ROUND_SITES": "40"}, env={"NIANBAO_ROUND_GATHER": "5"}).round_sites == 40
    assert load_settings(env={"NIANBAO_ROUND_GATHER": "5"}).gather == 5
    with pytest.raises(ConfigError, match="NIANBAO_ROUND_SITES='0'"):
        load_settings({"NIANBAO_ROUND_SITES": "0"}, env={})
    env = {"NIANBAO_SCHEDULE_MAX_CRAWLS": "3", "NIANBAO_SCHEDULE": "*/5 * * * *"}
    settings = load_settings({"NIANBAO_SCHEDULE_MAX_CRAWLS": "4"}, env=env)
    assert settings.max_crawls == 4 and settings.plan.expressions == ("*/5 * * * *",)
    with pytest.raises(ConfigError, match="NIANBAO_SHUTDOWN_GRACE='soon'"):
        load_settings({"NIANBAO_SHUTDOWN_GRACE": "soon"}, env={})


def test_sync_keeps_times_and_pauses_and_changes_only_what_changed(tmp_path):
    catalog = Catalog(f"sqlite:///{tmp_path / 'catalog.sqlite3'}")
    sites = parse_registry("sites:\n" + "".join(f"  - {{id: {i}, name: {i}, home: 'http://{i}.gov.cn/'}}\n"
                                                for i in ("a", "b", "c")), "s.yaml").sites
    plan = Plan(jitter=600)
    with open_jobs(catalog.engine, plan.timezone) as scheduler:
        assert sync(scheduler, sites, plan, 3600) == {"added": 3}
        scheduler.pause_job("b")
        before = {job.id: job.next_run_time for job in scheduler.get_jobs()}
    with open_jobs(catalog.engine, plan.timezone) as scheduler:  # a restart, same plan: nothing touched
        assert sync(scheduler, sites, plan, 3600) == {"paused": 1}
        assert {job.id: job.next_run_time for job in scheduler.get_jobs()} == before  # jitter not drawn again
        changed = Plan(("0 3 * * *",), jitter=600)
        done = sync(scheduler, sites[:2], changed, 7200)
        assert done == {"removed": 1, "rescheduled": 2, "paused": 1}
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert set(jobs) == {"a", "b"} and jobs["b"].next_run_time is None  # still paused
        assert jobs["a"].next_run_time.astimezone(SHANGHAI).hour == 3 and jobs["a"].misfire_grace_time == 7200


def test_a_pause_written_while_the_service_processes_the_job_is_kept(tmp_path):
    catalog = Catalog(f"sqlite:///{tmp_path / 'catalog.sqlite3'}")
    (site,) = parse_registry("sites:\n  - {id: a, name: A, home: 'http://a.gov.cn/'}\n", "s.yaml").sites
    with open_jobs(catalog.engine, "UTC") as service, open_jobs(catalog.engine, "UTC") as cli:
        sync(service, [site], Plan(("* * * * *",)), 60)
        due = service.get_job("a")  # the service reads the job as due …
        cli.pause_job("a")  # … the CLI pauses it …
        due.next_run_time = datetime.now(UTC) + timedelta(minutes=1)
        service.processing = True  # … and the service stores the job's next time, as _process_jobs does
        service._lookup_jobstore("default").update_job(due)
        assert cli.get_job("a").next_run_time is None
        service.processing = False  # outside processing (sync, the CLI) updates are plain
        service.resume_job("a")
        assert cli.get_job("a").next_run_time is not None


# -- the service ------------------------------------------------------------------------------------
def tiny_world() -> World:
    """Two sites of two reports each; `slow` takes SLOW seconds to answer its list (fetched by every crawl)."""
    world = World()
    for site_id, name in (("fast", "甲县"), ("slow", "乙县")):
        host = f"www.{site_id}.gov.cn"
        base = f"http://{host}/xxgk/xxgknb/"
        items = []
        for year in (2023, 2024):
            url, title = f"{base}{year}.html", f"{name}人民政府{year}年政府信息公开工作年度报告"
            page = f"<html><head><meta charset='utf-8'><title>{title}</title></head><body><h1>{title}</h1></body>"
            world.add(url, page.encode(), _HTML)
            items.append(f'<li><a href="{url}">{title}</a><span>{year + 1}-01-20</span></li>')
        page = f"<html><head><meta charset='utf-8'><title>年报</title></head><body><ul>{''.join(items)}</ul></body>"
        if site_id == "slow":  # no validators: never answered 304, always slowly
            world.add_handler(host, "/xxgk/xxgknb/index.html", _slowly(page.encode()))
        else:
            world.add(f"{base}index.html", page.encode(), _HTML)
        world.sites.append(SimSite(site_id, name, "江西省", "宜春市", f"http://{host}/", "html",
                                   [f"{base}index.html"], []))
    return world


def _slowly(body: bytes):
    def answer(method: str, query: str, data: bytes):
        time.sleep(SLOW)
        return 200, {"Content-Type": _HTML}, body
    return answer


@pytest.fixture(scope="module")
def simulator():
    with SimulatorServer(tiny_world()) as server:
        yield server


@pytest.fixture
def service_env(home_env, simulator, tmp_path):
    registry = tmp_path / "sites.yaml"
    registry.write_text(simulator.world.registry_yaml(), "utf-8")
    return {**home_env, "NIANBAO_PROXY": simulator.proxy_url, "NIANBAO_SCHEDULE_JITTER": "0",
            "NIANBAO_SCHEDULE_TIMEZONE": "UTC", "NIANBAO_SCHEDULE_HEARTBEAT": "1", "NIANBAO_SHUTDOWN_GRACE": "30",
            "NIANBAO_ROUND_GATHER": "0.5", "SITES": str(registry)}


class Service:
    """`nianbao schedule run` in the background, its stderr in a file; always stopped at the end."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self.env, self.home = env, Path(env["NIANBAO_HOME"])
        self.log = Path(env["SITES"]).with_name(f"service-{time.monotonic_ns()}.log")
        with self.log.open("wb") as err:
            self.process = subprocess.Popen([sys.executable, "-m", "nianbao", "schedule", "run", "--sites",
                                             env["SITES"], *args], env=env, cwd=ROOT, stdout=err, stderr=err)
        wait_for(lambda: (status(self.home) or {}).get("alive") and status(self.home)["pid"] == self.process.pid,
                 "the service to start", 30, self)

    def stop(self, timeout: float = 40) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout)

    def output(self) -> str:
        return self.log.read_text("utf-8", errors="replace")

    def kill(self) -> None:
        """Teardown after a failure: the service, then any crawl it left behind (they have their own sessions)."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        for crawl in (status(self.home) or {}).get("crawls", []):
            with contextlib.suppress(ProcessLookupError):
                os.kill(crawl["pid"], signal.SIGKILL)


def wait_for(condition, what: str, timeout: float, service: Service | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := condition():
            return result
        if service is not None and service.process.poll() is not None:
            raise AssertionError(f"the service exited {service.process.returncode}:\n{service.output()[-3000:]}")
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}" + (f":\n{service.output()[-3000:]}" if service else ""))


def runs(env: dict[str, str], site: str | None = None):
    return sorted(Catalog(f"sqlite:///{env['NIANBAO_HOME']}/catalog.sqlite3").runs(site=site), key=lambda r: r.id)


def show(env: dict[str, str], *args: str) -> dict[str, dict]:
    out = run_nianbao("schedule", "show", "--json", *args, env=env, timeout=60).stdout.decode()
    return {row["site"]: row for row in map(json.loads, out.splitlines())}


def test_service_runs_pauses_survives_a_crash_and_stops_cleanly(service_env, simulator):
    env = {**service_env, "NIANBAO_SCHEDULE": "*/3 * * * * *"}
    assert run_nianbao("schedule", "pause", "fast", "--sites", env["SITES"], env=env).stdout == b"fast: paused\n"
    planned = show(env, "--sites", env["SITES"])  # no service yet: fast's stored job, slow's plan
    assert planned["fast"]["paused"] and planned["fast"]["installed"] and planned["fast"]["next_run"] is None
    assert not planned["slow"]["installed"] and planned["slow"]["next_run"].endswith("Z")

    service = Service(env, "-s", "NIANBAO_SCHEDULE_MAX_CRAWLS=2")
    try:
        rows = show(env)
        assert rows["fast"]["paused"] and rows["fast"]["next_run"] is None  # the service kept the pause
        soon = datetime.fromisoformat(rows["slow"]["next_run"].removesuffix("Z")).replace(tzinfo=UTC)
        assert soon - datetime.now(UTC) < timedelta(seconds=4)

        # A crawl killed mid-way: its run is closed as failed, and the service goes on.
        victim = wait_for(lambda: next((r for r in runs(env, "slow") if r.status == "running"), None),
                          "a running crawl of slow", 40, service)
        os.kill(victim.pid, signal.SIGKILL)
        wait_for(lambda: Catalog(f"sqlite:///{env['NIANBAO_HOME']}/catalog.sqlite3").run(victim.id).status
                 == "failed", "the killed crawl's run to be closed", 20, service)
        assert "killed by SIGKILL" in service.output()

        # Resumed, fast is crawled; paused again, it is not.
        run_nianbao("schedule", "resume", "fast", env=env)
        wait_for(lambda: any(r.status == "finished" for r in runs(env, "fast")), "a run of fast", 40, service)
        run_nianbao("schedule", "pause", "fast", env=env)
        time.sleep(2)  # a start decided just before the pause shows up by now (heartbeat: 1 s)

        def idle() -> bool:
            crawling = {site for c in status(service.home)["crawls"] for site in c["sites"]}
            return "fast" not in crawling and all(r.status != "running" for r in runs(env, "fast"))

        wait_for(idle, "fast to be idle", 30, service)
        paused_count = len(runs(env, "fast"))
        time.sleep(5)
        assert len(runs(env, "fast")) == paused_count and idle()
        assert wait_for(lambda: any(r.id > victim.id for r in runs(env, "slow")), "slow again", 20, service)

        # SIGTERM while slow is crawling (waiting for its slow list): the crawl closes its run, the service exits 0.
        simulator.clear_requests()
        wait_for(lambda: ("GET", SLOW_LIST) in simulator.requests_snapshot(), "slow's list being fetched", 30, service)
        assert service.stop() == 0, service.output()
    finally:
        service.kill()
    everything = runs(env)
    assert all(r.status != "running" for r in everything)
    assert everything[-1].status in ("cancelled", "finished") and everything[-1].sites == ["slow"]
    if everything[-1].status == "cancelled":  # cut short by the stop: due at once when the service is back
        shown = {json.loads(line)["site"]: json.loads(line) for line in
                 run_nianbao("schedule", "show", "--json", env=env).stdout.decode().splitlines()}
        assert shown["slow"]["next_run"] <= datetime.now(UTC).isoformat().replace("+00:00", "Z")
    assert {r.trigger for r in everything} == {"schedule"} and len(runs(env, "slow")) >= 2
    for site in ("fast", "slow"):  # never two runs of a site at once
        spans = [(r.started_at, r.finished_at) for r in runs(env, site)]
        assert all(end <= following for (_, end), (following, _) in zip(spans, spans[1:], strict=False)), spans
    state = status(Path(env["NIANBAO_HOME"]))
    assert state["state"] == "stopped" and not state["alive"] and state["crawls"] == []
    index = (Path(env["NIANBAO_HOME"]) / "logs" / "schedule" / "sites" / "slow.log").read_text().splitlines()
    assert len(index) >= 2 and all(Path(line.rpartition(": ")[2]).is_file() for line in index)  # its crawls' logs


def test_runs_missed_while_the_service_was_down_run_once(service_env):
    moments = [datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=s) for s in (10, 11, 12)]
    env = {**service_env, "NIANBAO_SCHEDULE": ";".join(f"{t.second} {t.minute} {t.hour} {t.day} {t.month} *"
                                                       for t in moments)}
    service = Service(env)
    try:
        assert service.stop(10) == 0
    finally:
        service.kill()
    assert runs(env) == [] and datetime.now(UTC) < moments[0], "stopped too late for this test"
    time.sleep((moments[-1] - datetime.now(UTC)).total_seconds() + 1)  # all three times pass while it is down

    service = Service(env)
    try:
        wait_for(lambda: sum(r.status == "finished" for r in runs(env)) == 2, "one catch-up run per site", 40,
                 service)
        time.sleep(3)  # a second catch-up would start right after the first
        assert sorted(r.sites[0] for r in runs(env)) == ["fast", "slow"]
        wait_for(lambda: status(service.home)["crawls"] == [], "the crawls to exit", 30, service)
        assert len(runs(env)) == 2  # and no second catch-up
        rows = show(env)  # the next time is next year's: the jobs were not replaced, only run
        assert all(datetime.fromisoformat(row["next_run"][:-1]).year == moments[0].year + 1 for row in rows.values())
        assert service.stop() == 0
    finally:
        service.kill()


def test_bad_plans_and_unknown_sites_are_refused_before_anything_is_created(service_env, tmp_path):
    env = {**service_env, "NIANBAO_SCHEDULE": "H H * * 9"}
    refused = run_nianbao("schedule", "run", "--sites", env["SITES"], env=env, check=False, timeout=60)
    assert refused.returncode == 2 and b"NIANBAO_SCHEDULE: 'H H * * 9'" in refused.stderr
    registry = tmp_path / "bad.yaml"
    registry.write_text(Path(env["SITES"]).read_text() + "    schedule: '0 25 * * *'\n", "utf-8")
    refused = run_nianbao("schedule", "run", "--sites", str(registry), env=service_env, check=False, timeout=60)
    assert refused.returncode == 2 and b"(id 'slow'): schedule: '0 25 * * *'" in refused.stderr
    unknown = run_nianbao("schedule", "pause", "nosuch", "--sites", env["SITES"], env=service_env, check=False)
    assert unknown.returncode == 2 and b"cannot pause 'nosuch'" in unknown.stderr
    assert not Path(env["NIANBAO_HOME"]).exists()
    text = run_nianbao("schedule", "show", "--sites", env["SITES"], env=service_env)
    assert b"not installed yet" in text.stdout and b"not running" in text.stderr
    assert not Path(env["NIANBAO_HOME"]).exists()
