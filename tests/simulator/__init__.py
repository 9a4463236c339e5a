"""Offline simulator of county government portals for testing the nianbao crawler.

`build_world()` / `build_static_world()` make a deterministic world of sites (plain HTML, 大汉 Hanweb,
TRS WCM) with planted annual reports, attachments and distractors; `SimulatorServer` serves a world as
an HTTP forward proxy on loopback so the real spiders can crawl it; `python -m tests.simulator` runs one.
`build_hard_world()` (opt-in) adds the hard kinds: gkmlpt, JS-rendered lists, anti-bot challenges, traps.
Every report has its own numbers (statistics.py), rendered into its page and files (documents.py and the
format modules); `World.expected_readings()` says what a parser should read from each of them.
"""

from .server import SimulatorServer
from .world import (
    Distractor,
    Planted,
    PlantedAttachment,
    SimSite,
    World,
    build_hard_world,
    build_static_world,
    build_world,
)

__all__ = [
    "Distractor", "Planted", "PlantedAttachment", "SimSite", "SimulatorServer", "World",
    "build_hard_world", "build_static_world", "build_world",
]
