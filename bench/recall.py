"""How well does nianbao find the reports? Recall, precision and manners on the simulated world.

Crawls every site of the hard simulated world (gkmlpt, script-rendered lists, JS challenges,
wrong charsets, download endpoints, discovery, traps, robots), the ordinary one and a generated one
(platforms, column layouts, pagers, encodings drawn at random from ``--seed``), through the full
pipeline, then compares the archive with what was planted:

    python bench/recall.py                        # prints the figures; --json for machine-readable output
    python bench/recall.py --world generated --seed 7 --sites 12 -s DOWNLOAD_DELAY=0.5

It is a benchmark: it prints figures and exits 0; 1 only if the crawl itself fails.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import Counter
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archive.catalog import Catalog  # noqa: E402
from archive.storage import IntegrityError, open_store  # noqa: E402
from crawler.registry import parse_registry  # noqa: E402
from crawler.scope import Scope  # noqa: E402
from nianbao.config import Config  # noqa: E402
from tests.simulator import build_hard_world, build_world  # noqa: E402
from tests.simulator.generated import build_generated_world  # noqa: E402
from tests.simulator.server import SimulatorServer  # noqa: E402
from tests.support import nianbao_env  # noqa: E402

#: Not a seed any test draws: the generated world scored here is one no test was tuned on.
DEFAULT_SEED = 90417


def crawl(world, home: Path, settings: list[str]) -> tuple[list[tuple[float, str, str]], float]:
    home.mkdir(parents=True)
    registry = home / "sites.yaml"
    registry.write_text(world.registry_yaml(), "utf-8")
    env = nianbao_env(home)
    with SimulatorServer(world) as server:
        started = datetime.now()
        overrides = [arg for setting in settings for arg in ("-s", setting)]
        subprocess.run([sys.executable, "-m", "nianbao", "crawl", "--sites", str(registry), "--proxy",
                        server.proxy_url, *overrides], env=env, cwd=ROOT, check=True, capture_output=True)
        return server.timed_requests(), (datetime.now() - started).total_seconds()


def measure(world, home: Path, settings: list[str]) -> dict[str, float | int]:
    timed, seconds = crawl(world, home, settings)
    requests = [url for _t, _method, url in timed]
    config = Config.from_env({}, home=str(home))
    catalog, store = Catalog(config.catalog, create=False), open_store(config, create=False)
    captures = list(catalog.captures())
    reports = {c.url: c.sha256 for c in captures if c.kind == "report"}
    attachments = {c.url: c.sha256 for c in captures if c.kind == "attachment"}
    planted = {r.url: r.sha256 for r in world.reports}
    kinds = {c.url: c.agency_kind for c in captures if c.kind == "report"}
    planted_files = {a.url: a.sha256 for a in world.attachments}
    mismatches = 0
    for sha256 in {c.sha256 for c in captures}:
        try:
            store.get(sha256)
        except IntegrityError:
            mismatches += 1
    scopes = [Scope(site) for site in parse_registry(world.registry_yaml(), "world").sites]
    out_of_scope = [u for u in requests if not any(scope.allows(u) for scope in scopes)]
    run = catalog.run(max(c.run_id for c in captures))
    rendered = run.stats["rendered"]
    needing = sum(1 for s in world.sites if s.platform == "spa" for u in set(requests)
                  if u.startswith(s.report_lists[0].split("?")[0]))
    # What each host saw: requests arriving in one whole second of the simulator's clock, and what the run counted.
    per_second = Counter((urlsplit(url).hostname, int(t)) for t, _method, url in timed)
    missed = Counter(next(s.platform for s in world.sites if s.id == r.site) for r in world.reports
                     if reports.get(r.url) != r.sha256)
    for where, count in sorted(missed.items()):  # which platform/layout lost them, for whoever reads the figures
        print(f"missed {count} report(s) on {where}", file=sys.stderr)
    return {
        "sites": len(world.sites),
        "reports_planted": len(planted),
        "report_recall": sum(reports.get(u) == h for u, h in planted.items()) / len(planted),
        "attachment_recall": sum(attachments.get(u) == h for u, h in planted_files.items())
        / max(1, len(planted_files)),
        "precision": sum(planted.get(u) == h for u, h in reports.items()) / max(1, len(reports)),
        "checksum_mismatches": mismatches,
        # a report found with another kind of agency than planted (a re-posted city report claimed as the county's)
        "agency_kind_mismatches": sum(kinds.get(r.url, r.agency_kind) != r.agency_kind for r in world.reports),
        "out_of_scope_fetches": len(out_of_scope),
        "pages_rendered": rendered,
        "pages_needing_render": needing,
        "busiest_second_per_host": max(per_second.values()),
        "busiest_second_per_host_run": run.stats.get("busiest_second", 0),
        "crawl_seconds": round(seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--world", action="append", choices=("ordinary", "hard", "generated"),
                        help="the worlds to crawl (repeatable; default all three)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="the generated world's seed")
    parser.add_argument("--sites", type=int, default=10, help="the generated world's sites")
    parser.add_argument("-s", dest="settings", action="append", default=[], metavar="NAME=VALUE",
                        help="a crawl setting, as for nianbao crawl -s")
    args = parser.parse_args()
    worlds = {"ordinary": build_world, "hard": build_hard_world,
              "generated": lambda: build_generated_world(args.seed, sites=args.sites)}
    # The simulator answers at once: politeness (1 request/s per host) would only make the figures slow to get.
    settings = args.settings or ["DOWNLOAD_DELAY=0"]
    results = {}
    with tempfile.TemporaryDirectory(prefix="nianbao-recall-") as tmp:
        for name in args.world or list(worlds):
            results[name] = measure(worlds[name](), Path(tmp) / name, settings)
    if args.json:
        print(json.dumps(results, indent=2))
        return
    names = list(results)
    print(f"{'':<30}" + "".join(f"{n:>12}" for n in names))
    for key in results[names[0]]:
        values = [results[n][key] for n in names]
        print(f"{key:<30}" + "".join(f"{v:>12.3f}" if isinstance(v, float) else f"{v:>12}" for v in values))


if __name__ == "__main__":
    main()
