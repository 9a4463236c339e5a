"""Run the simulator as a standalone forward proxy: `python -m tests.simulator [--port P] …`.

Prints `proxy: http://127.0.0.1:PORT` once it is listening (for scripts to read), writes the site
registry YAML if asked, and serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from .server import SimulatorServer
from .world import build_hard_world, build_static_world, build_world


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 = any free port")
    parser.add_argument("--counties", type=int, default=6)
    parser.add_argument("--seed", type=int, help="default 2024 (2025 with --hard, 7 with --static-pages)")
    parser.add_argument("--registry-out", type=Path, help="write the registry YAML of the world here")
    parser.add_argument("--static-pages", type=int, help="serve the big one-site benchmark world instead")
    parser.add_argument("--hard", action="store_true",
                        help="serve the hard-kinds world instead (gkmlpt, SPA, anti-bot, traps; --seed default 2025)")
    args = parser.parse_args(argv)

    if args.hard:
        world = build_hard_world(seed=2025 if args.seed is None else args.seed)
    elif args.static_pages:
        world = build_static_world(args.static_pages, seed=7 if args.seed is None else args.seed)
    else:
        world = build_world(args.counties, seed=2024 if args.seed is None else args.seed)
    if args.registry_out:
        args.registry_out.write_text(world.registry_yaml(), encoding="utf-8")
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    with SimulatorServer(world, args.host, args.port) as server:
        print(f"proxy: {server.proxy_url}", flush=True)
        print(f"world: {world.summary()}", file=sys.stderr, flush=True)
        stop.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
