"""The scheduler's settings: crawler/settings.py's defaults, the environment, then ``-s NAME=VALUE``.

As in nianbao.config, an environment variable of the setting's name overrides the default, so
a service started by systemd can be configured without flags.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from crawler.runner import project_settings
from nianbao.config import ConfigError

from .plan import Plan

NAMES = ("NIANBAO_SCHEDULE", "NIANBAO_SCHEDULE_TIMEZONE", "NIANBAO_SCHEDULE_JITTER", "NIANBAO_SCHEDULE_MAX_CRAWLS",
         "NIANBAO_SCHEDULE_MISFIRE_GRACE", "NIANBAO_SCHEDULE_HEARTBEAT", "NIANBAO_SHUTDOWN_GRACE",
         "NIANBAO_ROUND_GATHER", "NIANBAO_ROUND_GATHER_MAX", "NIANBAO_ROUND_SITES")


@dataclass(frozen=True)
class ScheduleSettings:
    plan: Plan
    max_crawls: int
    misfire_grace: int
    heartbeat: float
    shutdown_grace: float
    #: Rounds (scheduler.rounds): quiet seconds, longest wait, and sites per crawl process.
    gather: float
    gather_max: float
    round_sites: int


def load_settings(overrides: Mapping[str, str] | None = None,
                  env: Mapping[str, str] | None = None) -> ScheduleSettings:
    env = os.environ if env is None else env
    settings = project_settings()
    settings.setdict({name: env[name] for name in NAMES if env.get(name)}, priority="project")
    settings.setdict({k: v for k, v in (overrides or {}).items() if k in NAMES}, priority="cmdline")

    def number(name: str, kind: type[int] | type[float], minimum: float) -> int | float:
        try:
            value = kind(settings.get(name))
        except (TypeError, ValueError):
            value = None
        if value is None or value < minimum:
            raise ConfigError(f"{name}={settings.get(name)!r}: expected a number of at least {minimum:g}")
        return value

    plan = Plan.from_text(settings.get("NIANBAO_SCHEDULE"), number("NIANBAO_SCHEDULE_JITTER", float, 0),
                          settings.get("NIANBAO_SCHEDULE_TIMEZONE") or "UTC")
    return ScheduleSettings(plan=plan, max_crawls=int(number("NIANBAO_SCHEDULE_MAX_CRAWLS", int, 1)),
                            misfire_grace=int(number("NIANBAO_SCHEDULE_MISFIRE_GRACE", int, 1)),
                            heartbeat=number("NIANBAO_SCHEDULE_HEARTBEAT", float, 0.1),
                            shutdown_grace=number("NIANBAO_SHUTDOWN_GRACE", float, 0),
                            gather=number("NIANBAO_ROUND_GATHER", float, 0),
                            gather_max=number("NIANBAO_ROUND_GATHER_MAX", float, 0),
                            round_sites=int(number("NIANBAO_ROUND_SITES", int, 1)))
