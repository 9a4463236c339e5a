"""How fast is a round? ``nianbao schedule round`` over ≥ 96 simulated portals that answer in 0.3 s.

The world is ``tests.simulator.build_world(--portals)`` (plain HTML, Hanweb and TRS county portals,
each on its own host, some with a file host), served with ``latency`` seconds per answer by the
simulator **in its own process** (its CPU is not the crawler's), as the crawl's forward proxy. The
round runs exactly as an operator runs it — ``nianbao schedule round --sites FILE --json`` into a
fresh NIANBAO_HOME, at the default polite settings (1 request/s and one connection per host), its
crawls split as the service splits them — and the figures come from its own JSON and the runs.

Printed: requests, wall time, requests/s (the crawls' span), each crawl's peak RSS, the busiest
second per host (as the crawl counted it, and as the simulator saw the requests arrive), and the
hours a national round of 1.5 M requests would take at that rate (target < 24 h on 2 cores).
A benchmark: exit 0 whatever the rate, 1 when the round failed.

``python bench/scale.py [--portals 96] [--latency 0.3] [--seed 2024] [-s NAME=VALUE …] [--json [PATH]] [--keep]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
NATIONAL_REQUESTS = 1_500_000
TARGET_HOURS = 24
SERVE = "_serve"  # argv[1] of this script when it serves the world (see serve_main)


def serve_main(portals: int, seed: int, latency: float, registry: Path, requests_out: Path) -> None:
    """The simulator's process: serve the world until SIGTERM, then write its (time, method, URL) log."""
    import threading

    from tests.simulator.server import SimulatorServer
    from tests.simulator.world import build_world

    world = build_world(portals, seed=seed)
    registry.write_text(world.registry_yaml(), "utf-8")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with SimulatorServer(world, latency=latency) as server:
        print(f"proxy: {server.proxy_url}", flush=True)
        print(f"world: {world.summary()}; {len(world.hosts)} hosts", file=sys.stderr, flush=True)
        stop.wait()
        requests_out.write_text(json.dumps(server.timed_requests()), "utf-8")


class Simulator:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.registry, self.requests = workdir / "sites.yaml", workdir / "requests.json"
        self.log = workdir / "simulator.log"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), SERVE, str(args.portals), str(args.seed),
                 str(args.latency), str(self.registry), str(self.requests)],
                cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True)
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line.startswith("proxy: "):
            self.stop()
            raise SystemExit(f"the simulator did not start:\n{self.log.read_text(errors='replace')}")
        self.proxy_url = line.removeprefix("proxy: ").strip()
        time.sleep(0.2)
        self.summary = self.log.read_text(errors="replace").strip().rpartition("world: ")[2]

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> list[tuple[float, str, str]]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return [tuple(r) for r in json.loads(self.requests.read_text())] if self.requests.exists() else []


def arrivals(log: list[tuple[float, str, str]]) -> dict[str, Any]:
    """Politeness as the portals saw it: the most requests a host got in one whole second, and the closest two."""
    seconds: Counter[tuple[str, int]] = Counter()
    times: dict[str, list[float]] = defaultdict(list)
    for when, _method, url in log:
        host = urlsplit(url).hostname or ""
        seconds[(host, int(when))] += 1
        times[host].append(when)
    gaps = [b - a for ts in times.values() for a, b in zip(sorted(ts), sorted(ts)[1:], strict=False)]
    return {"hosts": len(times), "busiest_second": max(seconds.values(), default=0),
            "closest_gap_s": round(min(gaps), 3) if gaps else None,
            "gaps_under_0_9_s": sum(g < 0.9 for g in gaps), "gaps": len(gaps)}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--portals", type=int, default=96, help="county portals in the world (each its own host)")
    parser.add_argument("--latency", type=float, default=0.3, help="seconds the simulator takes per answer")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("-s", "--set", dest="settings", action="append", default=[], metavar="NAME=VALUE",
                        help="passed to `nianbao schedule round` (e.g. NIANBAO_SCHEDULE_MAX_CRAWLS=1)")
    parser.add_argument("--json", nargs="?", const="-", metavar="PATH", help="the figures as JSON (- : stdout)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (archive, logs)")
    args = parser.parse_args(argv)
    out = sys.stderr if args.json == "-" else sys.stdout
    workdir = Path(tempfile.mkdtemp(prefix="nianbao-scale-"))
    sim = Simulator(args, workdir)
    print(f"simulator at {sim.proxy_url} (latency {args.latency} s): {sim.summary}", file=out, flush=True)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("NIANBAO_") and k.lower() not in {"http_proxy", "https_proxy", "no_proxy"}}
    env.update(NIANBAO_HOME=str(workdir / "home"), NIANBAO_PROXY=sim.proxy_url)
    command = [sys.executable, "-m", "nianbao", "schedule", "round", "--sites", str(sim.registry), "--json",
               *(arg for setting in args.settings for arg in ("-s", setting))]
    try:
        cpu, started = sim.cpu_seconds(), time.perf_counter()
        with (workdir / "round.log").open("wb") as log:
            result = subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=log)
        elapsed, server_cpu = time.perf_counter() - started, sim.cpu_seconds() - cpu
    finally:
        requests = sim.stop()
    try:
        figures = json.loads(result.stdout)
    except ValueError:
        print(f"the round printed no figures (exit {result.returncode}):\n"
              f"{(workdir / 'round.log').read_text(errors='replace')[-3000:]}", file=sys.stderr)
        return 1
    from archive.catalog import Catalog

    catalog = Catalog(f"sqlite:///{workdir / 'home' / 'catalog.sqlite3'}")
    by_host: dict[str, int] = {}
    for row in figures["crawls"]:
        run = catalog.run(row["run"]) if row["run"] else None
        for host, count in ((run.stats.get("busiest_second_by_host") or {}) if run else {}).items():
            by_host[host] = max(count, by_host.get(host, 0))
    rate = figures["requests_per_s"]
    report = {
        "portals": args.portals, "latency_s": args.latency, "world": sim.summary, "cpus": os.cpu_count(),
        "exit": result.returncode, "requests": figures["requests"], "captures": figures["captures"],
        "errors": figures["errors"], "seconds": figures["seconds"], "requests_per_s": rate,
        "command_seconds": round(elapsed, 1), "server_cpu_pct": round(100 * server_cpu / elapsed, 1),
        "crawls": [{k: row[k] for k in ("crawl", "run", "status", "requests", "captures", "errors", "seconds",
                                        "requests_per_s", "peak_rss_mb")} | {"sites": len(row["sites"])}
                   for row in figures["crawls"]],
        "peak_rss_mb": figures["peak_rss_mb"],
        "busiest_second_crawl": max(by_host.values(), default=0), "hosts_counted": len(by_host),
        "arrivals": arrivals(requests),
        "national_hours": round(NATIONAL_REQUESTS / rate / 3600, 1) if rate else None,
    }
    print_report(report, out)
    if args.json:
        text = json.dumps(report, indent=2, ensure_ascii=False)
        if args.json == "-":
            print(text)
        else:
            Path(args.json).write_text(text + "\n", "utf-8")
    if args.keep:
        print(f"work directory kept: {workdir}", file=out)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if result.returncode == 0 else 1


def print_report(r: dict[str, Any], out: Any) -> None:
    print(f"\n{r['portals']} portals at {r['latency_s']} s latency, {r['cpus']} CPUs, default polite settings; "
          f"simulator CPU {r['server_cpu_pct']:.0f}% of a core\n", file=out)
    print(f"{'crawl':>5} {'run':>4} {'status':<9} {'sites':>5} {'requests':>8} {'captures':>8} {'errors':>6} "
          f"{'seconds':>8} {'req/s':>6} {'peak RSS':>9}", file=out)
    for c in r["crawls"]:
        print(f"{c['crawl']:>5} {c['run'] or '-':>4} {c['status']:<9} {c['sites']:>5} {c['requests']:>8} "
              f"{c['captures']:>8} {c['errors']:>6} {c['seconds']:>8.1f} {c['requests_per_s']:>6.1f} "
              f"{c['peak_rss_mb']:>6.0f} MB", file=out)
    a = r["arrivals"]
    print(f"\nround: {r['requests']} requests in {r['seconds']:.1f} s = {r['requests_per_s']:.1f} requests/s "
          f"(exit {r['exit']}); peak RSS of a crawl {r['peak_rss_mb']:.0f} MB", file=out)
    print(f"busiest second per host: {r['busiest_second_crawl']} (the crawl's count, {r['hosts_counted']} hosts); "
          f"at the portals {a['busiest_second']} ({a['hosts']} hosts, closest two {a['closest_gap_s']} s apart, "
          f"{a['gaps_under_0_9_s']} of {a['gaps']} gaps under 0.9 s)", file=out)
    hours = r["national_hours"]
    verdict = "" if hours is None else (" — within" if hours < TARGET_HOURS else " — OVER") + f" {TARGET_HOURS} h"
    print(f"a national round of {NATIONAL_REQUESTS:,} requests at this rate: {hours} h{verdict}", file=out)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    if len(sys.argv) > 2 and sys.argv[1] == SERVE:
        serve_main(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), Path(sys.argv[5]), Path(sys.argv[6]))
    else:
        sys.exit(main(sys.argv[1:]))
