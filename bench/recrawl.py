"""What does a recrawl cost? A spring of weekly rounds over a simulated world, some reports corrected.

Crawls the simulated world through the full pipeline at the default (polite) settings, the simulator
as slow as a county portal (per-answer latency, about a MB/s of bandwidth):

    python bench/recrawl.py [--counties 12] [--weeks 12] [--changed 5] [--changed-week 5]
                            [--latency 0.1] [--bandwidth 1e6] [--json]

1. first crawl: everything is new;
2. a rerun the same day: only the lists are read (nothing archived is due yet);
3. ``--weeks`` weekly rounds (a week passes by moving the catalog's times back a week:
   tests/support/clock.py): each round reads the lists and asks after what its check schedule says is
   due (a week after the first capture, then 2, 4, 8 … weeks while unchanged); before round
   ``--changed-week``, ``--changed`` reports are silently replaced: in which round each is caught, and
   whether that is within its interval.

Figures per crawl: requests, wall time, both as a share of the first crawl's (target for an unchanged
weekly round: ≤ 25 % of both), new objects stored. A benchmark: prints figures and exits 0; 1 only if
a crawl itself fails.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archive.catalog import Catalog  # noqa: E402
from tests.simulator import build_world  # noqa: E402
from tests.simulator.server import SimulatorServer  # noqa: E402
from tests.support import nianbao_env  # noqa: E402
from tests.support.clock import age  # noqa: E402


def crawl(server: SimulatorServer, registry: Path, env: dict[str, str]) -> dict[str, float | int]:
    server.clear_requests()
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "nianbao", "crawl", "--sites", str(registry), "--proxy", server.proxy_url],
                   env=env, cwd=ROOT, check=True, capture_output=True)
    return {"seconds": round(time.monotonic() - started, 2), "requests": len(server.requests_snapshot()),
            "answered_304": server.statuses[304], "urls": {url for _, url in server.requests_snapshot()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counties", type=int, default=12)
    parser.add_argument("--weeks", type=int, default=12, help="weekly rounds after the first crawl")
    parser.add_argument("--changed", type=int, default=5, help="reports silently replaced")
    parser.add_argument("--changed-week", type=int, default=5, help="replaced before this weekly round")
    parser.add_argument("--newest-year", type=int, default=datetime.now().year,
                        help="the world's newest reports (default this year: this spring's are in it)")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per answer")
    parser.add_argument("--bandwidth", type=float, default=1e6, help="bytes a second per answer")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    world = build_world(counties=args.counties, newest_year=args.newest_year)
    # Corrections come in a report's first weeks: the replaced ones are among the newest year's.
    newest = [r for r in world.reports if r.year == args.newest_year]
    corrected = [r.url for r in random.Random(7).sample(newest, min(args.changed, len(newest)))]
    rounds: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="nianbao-recrawl-") as tmp:
        registry = Path(tmp) / "sites.yaml"
        registry.write_text(world.registry_yaml(), "utf-8")
        env = nianbao_env(Path(tmp) / "home")
        catalog_url = f"sqlite:///{tmp}/home/catalog.sqlite3"
        with SimulatorServer(world, latency=args.latency, bandwidth=args.bandwidth) as server:
            first = crawl(server, registry, env)
            rerun = crawl(server, registry, env)
            for week in range(1, args.weeks + 1):
                if week == args.changed_week:
                    for url in corrected:
                        world.revise(url)
                age(catalog_url, timedelta(days=7))
                rounds.append({"week": week, **crawl(server, registry, env)})
        catalog = Catalog(catalog_url, create=False)
        runs = list(reversed(catalog.runs()))[2:]  # the weekly rounds' runs, oldest first
        caught = {}
        for week, run in zip(range(1, args.weeks + 1), runs, strict=True):
            rounds[week - 1]["new_objects"] = run.stats["objects_stored"]
            for c in catalog.captures(run=run.id):
                if c.url in corrected and c.novelty == "changed":
                    caught.setdefault(c.url, week)
    documents = {r.url for r in world.reports} | {a.url for a in world.attachments}
    unchanged = [r for r in rounds if r["week"] != args.changed_week]
    figures = {
        "first": {k: v for k, v in first.items() if k != "urls"},
        "rerun_requests_share": round(rerun["requests"] / first["requests"], 3),
        "rounds": [{**{k: v for k, v in r.items() if k != "urls"},
                    "requests_share": round(r["requests"] / first["requests"], 3),
                    "time_share": round(r["seconds"] / first["seconds"], 3),
                    "documents_asked": len(r["urls"] & documents)} for r in rounds],
        "corrected": len(corrected),
        "caught_in_week": caught,
        # Replaced before week W, each was due again at most its interval later: caught at all, within the spring.
        "all_caught": len(caught) == len(corrected),
    }
    shares = [r["requests_share"] for r in figures["rounds"]]
    figures["mean_requests_share"] = round(sum(shares) / len(shares), 3)
    figures["mean_time_share"] = round(sum(r["time_share"] for r in figures["rounds"]) / len(shares), 3)
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"world: {args.counties} counties, {len(world.reports)} reports, {len(world.attachments)} attachments; "
          f"latency {args.latency}s, bandwidth {args.bandwidth / 1e6:g} MB/s; default (polite) settings")
    print(f"first crawl: {first['seconds']:.1f} s, {first['requests']} requests; "
          f"same-day rerun: {figures['rerun_requests_share']:.1%} of its requests")
    print(f"{'week':>4} {'requests':>9} {'share':>7} {'time':>7} {'share':>7} {'documents asked':>16} {'304':>5} "
          f"{'new objects':>12}")
    for r in figures["rounds"]:
        print(f"{r['week']:>4} {r['requests']:>9} {r['requests_share']:>7.1%} {r['seconds']:>6.1f}s "
              f"{r['time_share']:>7.1%} {r['documents_asked']:>16} {r['answered_304']:>5} {r['new_objects']:>12}")
    print(f"mean over {len(shares)} weekly rounds: {figures['mean_requests_share']:.1%} of the first crawl's requests, "
          f"{figures['mean_time_share']:.1%} of its time (target ≤ 25%; {len(unchanged)} rounds unchanged)")
    print(f"{len(corrected)} reports replaced before week {args.changed_week}: caught in weeks "
          f"{sorted(caught.values())}; all caught: {figures['all_caught']}")


if __name__ == "__main__":
    main()
