"""``make demo``: start the offline simulated county world, crawl it, show what was archived.

Everything stays under var/demo (NIANBAO_HOME): the archive's objects, the SQLite catalog and
the registry of the simulated counties, so the archive can be explored afterwards.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from archive.overview import report_year  # noqa: E402
from tests.simulator.server import SimulatorServer  # noqa: E402
from tests.simulator.world import build_world  # noqa: E402
from tests.support import nianbao_env  # noqa: E402


def nianbao(*args: str, env: dict[str, str]) -> None:
    subprocess.run([sys.executable, "-m", "nianbao", *args], env=env, check=True, cwd=ROOT)


def main() -> None:
    home = ROOT / "var" / "demo"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    year = report_year(date.today())  # the demo's newest reports are this spring's, as on real portals
    world = build_world(counties=6, newest_year=year)
    registry = home / "sites.yaml"
    registry.write_text(world.registry_yaml(), "utf-8")
    env = nianbao_env(home)
    print(f"simulated county world: {world.summary()}")
    # A real crawl waits 1 s between requests to a host; the simulated portals answer at once, and the demo need not.
    unpaced = ["-s", "DOWNLOAD_DELAY=0", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=2"]
    with SimulatorServer(world) as server:
        nianbao("crawl", "--sites", str(registry), "--proxy", server.proxy_url, *unpaced, env=env)
    print("\nreports archived (first 15 of them; `nianbao archive list --json` shows all):")
    listing = subprocess.run([sys.executable, "-m", "nianbao", "archive", "list", "--kind", "report"],
                             env=env, check=True, cwd=ROOT, capture_output=True, text=True).stdout.splitlines()
    print("\n".join(listing[:16]))  # the header and 15 rows
    print(f"… {len(listing) - 1} reports in all.\n")
    print("parsing every archived report and attachment into the template's tables:")
    nianbao("parse", "run", "--once", "--workers", "2", env=env)
    nianbao("parse", "export", str(home / "reports.csv"), "--sites", str(registry), env=env)
    print(f"\none row per report, every cell and check: {home / 'reports.csv'}\n")
    print(f"The archive is in {home}. Explore it with:\n"
          f"  . .venv/bin/activate; export NIANBAO_HOME={home.relative_to(ROOT)}\n"
          f"  nianbao archive list --site wanzai --year {year}\n"
          f"  nianbao archive get {world.reports[0].url} -o report.html\n"
          f"  nianbao parse show {world.reports[0].url}\n"
          f"  nianbao parse compare --site {world.sites[0].id} --agency {world.sites[0].name}人民政府")


if __name__ == "__main__":
    main()
