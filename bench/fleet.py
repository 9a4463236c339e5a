"""How does a round scale over workers? ``nianbao schedule round`` handed to 1, 2 and 4 ``nianbao worker``
processes on this machine, against ≥ 96 simulated portals that answer in 0.3 s; then a worker SIGKILLed mid-round.

Real parts, as a deployment has them: Redis (the Celery broker), PostgreSQL (the shared catalog) and SeaweedFS
(S3) started here, the world served by the simulator in its own process (bench/scale.py's), each worker with
its own NIANBAO_HOME and one crawl at a time (``--crawls 1``: N workers are N crawl processes), at the default
polite settings. Each configuration gets a fresh catalog, bucket and simulator.

Printed per configuration: requests, the round's wall time (first dispatch created → last ended), requests/s,
the speed-up over one worker, the busiest second per host as the portals saw it. Then the hand-over: four workers
and dispatches of 12 sites (a queue behind the running ones), once uninterrupted and once with a worker killed as
its crawl is under way; printed are the seconds from the kill to the dispatch being sent again and to another
worker starting it (handed-on dispatches go first, at the next free slot), both rounds' times, and whether every
archive is the same.

``python bench/fleet.py [--portals 96] [--latency 0.3] [--workers 1,2,4] [--no-handover] [--json [PATH]]``
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scale import Simulator, arrivals  # noqa: E402
from tests.support import postgres, redis, seaweed  # noqa: E402


class Fleet:
    """One configuration: its simulator, database, bucket and workers."""

    def __init__(self, args: argparse.Namespace, workdir: Path, pg: postgres.PostgresServer, s3: seaweed.S3Server,
                 broker: redis.RedisServer, extra: dict[str, str] | None = None) -> None:
        from sqlalchemy import create_engine, text

        workdir.mkdir(parents=True)
        self.workdir, self.sim = workdir, Simulator(args, workdir)
        name = f"nianbao_{uuid.uuid4().hex[:12]}"
        engine = create_engine(pg.url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text(f"CREATE DATABASE {name}"))
        engine.dispose()
        self.catalog_url = f"{pg.url.rsplit('/', 1)[0]}/{name}"
        import redis as redis_client

        redis_client.Redis.from_url(broker.url).flushall()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("NIANBAO_")
                    and k.lower() not in {"http_proxy", "https_proxy", "no_proxy"}}
        self.env.update(s3.env(f"nianbao-{uuid.uuid4().hex[:12]}"), NIANBAO_CATALOG=self.catalog_url,
                        NIANBAO_BROKER=broker.url, NIANBAO_PROXY=self.sim.proxy_url, NIANBAO_WORKER_HEARTBEAT="1",
                        NIANBAO_FLEET_CHECK="1", NIANBAO_WORKER_TIMEOUT="5", **(extra or {}))
        self.workers: dict[str, subprocess.Popen] = {}

    def start_workers(self, count: int) -> None:
        for n in range(1, count + 1):
            name = f"w{n}"
            home = self.workdir / name
            with (self.workdir / f"{name}.log").open("wb") as log:
                self.workers[name] = subprocess.Popen(
                    [sys.executable, "-m", "nianbao", "worker", "--sites", str(self.sim.registry), "--name", name,
                     "--crawls", "1"], cwd=ROOT, env={**self.env, "NIANBAO_HOME": str(home)}, stdout=log,
                    stderr=subprocess.STDOUT, start_new_session=True)
        catalog = self.catalog()
        deadline = time.monotonic() + 120
        while len([w for w in catalog.fleet() if w["state"] == "ready"]) < count:
            if time.monotonic() > deadline:
                raise SystemExit(f"the workers did not start; see {self.workdir}/w*.log")
            time.sleep(0.5)

    def round(self) -> subprocess.Popen:
        log = (self.workdir / "round.log").open("wb")
        return subprocess.Popen([sys.executable, "-m", "nianbao", "schedule", "round", "--sites",
                                 str(self.sim.registry), "--json"], cwd=ROOT,
                                env={**self.env, "NIANBAO_HOME": str(self.workdir / "scheduler")},
                                stdout=subprocess.PIPE, stderr=log)

    def catalog(self):
        from archive.catalog import Catalog

        return Catalog(self.catalog_url)

    def archive(self) -> set[tuple[str, str]]:
        from sqlalchemy import text

        with self.catalog().engine.connect() as conn:
            return set(conn.execute(text("SELECT url, sha256 FROM captures")).all())

    def stop(self) -> list[tuple[float, str, str]]:
        for process in self.workers.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.workers.values():
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
        return self.sim.stop()


def figures_of(process: subprocess.Popen, fleet: Fleet) -> dict[str, Any]:
    out, _ = process.communicate(timeout=3600)
    try:
        return json.loads(out)
    except ValueError:
        raise SystemExit(f"the round printed no figures (exit {process.returncode}); see "
                         f"{fleet.workdir / 'round.log'}") from None


#: The hand-over rounds: four workers, dispatches of 12 sites (8 for 96 portals: a queue behind the running ones).
HANDOVER = {"NIANBAO_DISPATCH_SITES": "12"}


def run(args: argparse.Namespace, workdir: Path, servers: tuple, workers: int,
        extra: dict[str, str] | None = None) -> dict[str, Any]:
    fleet = Fleet(args, workdir / f"workers-{workers}{'-small' if extra else ''}", *servers, extra=extra)
    try:
        fleet.start_workers(workers)
        figures = figures_of(fleet.round(), fleet)
        archive = fleet.archive()
    finally:
        requests = fleet.stop()
    return {"workers": workers, "requests": figures["requests"], "seconds": figures["seconds"],
            "requests_per_s": figures["requests_per_s"], "dispatches": len(figures["dispatches"]),
            "used": len(figures["workers"]), "arrivals": arrivals(requests), "archive": archive}


def handover(args: argparse.Namespace, workdir: Path, servers: tuple) -> dict[str, Any]:
    """Four workers, dispatches of 12 sites; the first worker whose crawl made 10 requests is killed."""
    fleet = Fleet(args, workdir / "handover", *servers, extra=HANDOVER)
    try:
        fleet.start_workers(4)
        catalog, process = fleet.catalog(), fleet.round()
        victim = None
        while victim is None and process.poll() is None:
            time.sleep(0.5)
            for dispatch in catalog.dispatches(("running",)):
                host = next((w.host for w in catalog.workers() if w.name == dispatch.worker), "")
                runs = catalog.runs_of(host, [dispatch.pid or 0], datetime(2000, 1, 1))
                if runs and int(runs[-1].stats.get("requests", 0)) >= 10:
                    victim = dispatch
                    break
        if victim is None:
            raise SystemExit("the round ended before a crawl could be killed: use more --portals")
        killed = datetime.now(UTC).replace(tzinfo=None)
        fleet.workers[victim.worker].send_signal(signal.SIGKILL)
        figures = figures_of(process, fleet)
        moved = catalog.dispatch(victim.id)
        archive = fleet.archive()
    finally:
        fleet.stop()
    return {"killed": victim.worker, "dispatch": victim.id, "sites": len(victim.sites),
            "sent_again_after_s": round((_sent_again(moved) - killed).total_seconds(), 1),
            "taken_up_after_s": round((moved.started_at - killed).total_seconds(), 1) if moved.started_at else None,
            "taken_by": moved.worker, "state": moved.state, "seconds": figures["seconds"],
            "requests": figures["requests"], "archive": archive}


def _sent_again(dispatch) -> datetime:
    from archive.catalog import parse_moment

    return parse_moment(dispatch.moves[-1]["at"])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--portals", type=int, default=96)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--workers", default="1,2,4", help="worker counts to measure, comma-separated")
    parser.add_argument("--no-handover", action="store_true", help="skip the killed-worker round")
    parser.add_argument("--json", nargs="?", const="-", metavar="PATH")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="nianbao-fleet-"))
    pg, s3 = postgres.start(), seaweed.start(workdir / "seaweedfs")
    (workdir / "redis").mkdir()
    broker = redis.start(workdir / "redis")
    servers = (pg, s3, broker)
    rows, moved, baseline = [], None, None
    try:
        for n in args.workers.split(","):
            rows.append(run(args, workdir, servers, int(n)))
            row = rows[-1]
            print(f"({row['workers']} worker(s): {row['requests']} requests in {row['seconds']:.1f} s)", flush=True)
        if not args.no_handover:
            baseline = run(args, workdir, servers, 4, HANDOVER)
            moved = handover(args, workdir, servers)
    finally:
        broker.stop()
        s3.stop()
        pg.stop()
    base = rows[0]["requests_per_s"] or 1
    print(f"fleet round: {args.portals} portals, latency {args.latency} s, polite defaults; {os.cpu_count()} "
          "cores; Redis + PostgreSQL + SeaweedFS on this machine")
    print(f"{'workers':>7} {'requests':>8} {'seconds':>8} {'req/s':>7} {'speed-up':>8} {'busiest s/host':>14} "
          f"{'closest gap':>11}")
    for row in rows:
        a = row["arrivals"]
        print(f"{row['workers']:>7} {row['requests']:>8} {row['seconds']:>8.1f} {row['requests_per_s']:>7.1f} "
              f"{row['requests_per_s'] / base:>7.2f}× {a['busiest_second']:>14} {a['closest_gap_s']:>10} s")
    same = all(row["archive"] == rows[0]["archive"] for row in rows)
    print(f"archives of every configuration identical: {same} ({len(rows[0]['archive'])} (URL, body) pairs)")
    if moved:
        print(f"hand-over: {moved['killed']} SIGKILLed mid-crawl of dispatch {moved['dispatch']} ({moved['sites']} "
              f"sites; 4 workers, dispatches of 12 sites); sent again after {moved['sent_again_after_s']} s "
              f"(NIANBAO_WORKER_TIMEOUT 5 s + NIANBAO_FLEET_CHECK 1 s), taken up by {moved['taken_by']} after "
              f"{moved['taken_up_after_s']} s (its next free slot); round {moved['seconds']:.1f} s against "
              f"{baseline['seconds']:.1f} s uninterrupted with the same settings; archive identical to the "
              f"uninterrupted rounds': {moved['archive'] == rows[0]['archive'] == baseline['archive']}")
    if args.json:
        data = {"rows": [{k: v for k, v in row.items() if k != "archive"} for row in rows],
                "handover": {k: v for k, v in moved.items() if k != "archive"} if moved else None,
                "baseline": {k: v for k, v in baseline.items() if k != "archive"} if baseline else None}
        text = json.dumps(data, indent=2, default=str)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text, "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
