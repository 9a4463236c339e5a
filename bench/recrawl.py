"""What does a recrawl cost? An unchanged world, then one where some reports were corrected.

Crawls the simulated world four times through the full pipeline, the simulator as slow as a
county portal (per-answer latency, about a MB/s of bandwidth):

    python bench/recrawl.py [--counties 12] [--changed 5] [--latency 0.1] [--bandwidth 1e6] [--json]

1. first crawl: everything is new;
2. unchanged rerun the same day (default settings: what was confirmed within
   NIANBAO_RECHECK_AFTER is not asked after; lists are asked conditionally);
3. unchanged recrawl as a later scheduled one (NIANBAO_RECHECK_AFTER=0: every URL asked
   "changed since?"): requests answered 304 or not made, new objects stored, wall time as a
   share of the first crawl's;
4. the same after ``--changed`` reports were corrected: which captures became new versions.

A benchmark: prints figures (and ratios) and exits 0; 1 only if a crawl itself fails.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archive.catalog import Catalog  # noqa: E402
from tests.simulator import build_world  # noqa: E402
from tests.simulator.server import SimulatorServer  # noqa: E402
from tests.support import nianbao_env  # noqa: E402


def crawl(server: SimulatorServer, registry: Path, env: dict[str, str], *settings: str) -> dict[str, float | int]:
    server.clear_requests()
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "nianbao", "crawl", "--sites", str(registry), "--proxy", server.proxy_url,
                    *settings], env=env, cwd=ROOT, check=True, capture_output=True)
    return {"seconds": round(time.monotonic() - started, 2), "requests": len(server.requests_snapshot()),
            "answered_304": server.statuses[304]}


#: A later scheduled crawl: everything archived is asked after again (conditionally).
LATER = ("-s", "NIANBAO_RECHECK_AFTER=0")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counties", type=int, default=12)
    parser.add_argument("--changed", type=int, default=5, help="reports corrected before the third crawl")
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per answer")
    parser.add_argument("--bandwidth", type=float, default=1e6, help="bytes a second per answer")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    world = build_world(counties=args.counties)
    with tempfile.TemporaryDirectory(prefix="nianbao-recrawl-") as tmp:
        registry = Path(tmp) / "sites.yaml"
        registry.write_text(world.registry_yaml(), "utf-8")
        env = nianbao_env(Path(tmp) / "home")
        with SimulatorServer(world, latency=args.latency, bandwidth=args.bandwidth) as server:
            first = crawl(server, registry, env)
            rerun = crawl(server, registry, env)
            unchanged = crawl(server, registry, env, *LATER)
            corrected = random.Random(7).sample(world.reports, args.changed)
            undo = [world.revise(r.url) for r in corrected]
            changed = crawl(server, registry, env, *LATER)
            for restore in undo:
                restore()
        catalog = Catalog(f"sqlite:///{tmp}/home/catalog.sqlite3", create=False)
        fourth, third, second, _ = catalog.runs()
        versions = {c.url for c in catalog.captures(run=fourth.id) if c.novelty == "changed"}
    figures: dict = {"first": first, "rerun": rerun, "unchanged": unchanged, "changed": changed}
    for name, run in (("rerun", second), ("unchanged", third)):
        spared = figures[name]["answered_304"] + first["requests"] - figures[name]["requests"]
        figures[f"{name}_304_or_skipped_share"] = round(spared / first["requests"], 3)
        figures[f"{name}_new_objects"] = run.stats["objects_stored"]
        figures[f"{name}_wall_time_ratio"] = round(figures[name]["seconds"] / first["seconds"], 3)
    figures.update({
        "changed_reports": args.changed,
        "new_versions": fourth.stats["new_versions"],
        "new_versions_exactly_the_changed": versions == {r.url for r in corrected},
    })
    if args.json:
        print(json.dumps(figures, indent=2))
        return
    print(f"world: {args.counties} counties, {len(world.reports)} reports, {len(world.attachments)} attachments; "
          f"latency {args.latency}s, bandwidth {args.bandwidth / 1e6:g} MB/s")
    for name in ("first", "rerun", "unchanged", "changed"):
        f = figures[name]
        print(f"  {name:<10} {f['seconds']:>7.2f} s  {f['requests']:>5} requests  {f['answered_304']:>5} answered 304")
    for name, what in (("rerun", "unchanged rerun the same day"), ("unchanged", "unchanged later recrawl")):
        print(f"{what}: {figures[f'{name}_304_or_skipped_share']:.1%} of the first crawl's requests answered 304 or "
              f"not made (target ≥ 90%), {figures[f'{name}_new_objects']} new objects (target 0), wall time "
              f"{figures[f'{name}_wall_time_ratio']:.2f} × the first crawl (target ≤ 0.25)")
    print(f"after {args.changed} corrections: {figures['new_versions']} new versions, exactly the corrected ones: "
          f"{figures['new_versions_exactly_the_changed']}")


if __name__ == "__main__":
    main()
