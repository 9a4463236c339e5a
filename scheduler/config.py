"""The scheduler's settings: crawler/settings.py's defaults, the environment, then ``-s NAME=VALUE``.

As in nianbao.config, an environment variable of the setting's name overrides the default, so
a service started by systemd can be configured without flags.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from crawler.runner import project_settings
from nianbao.config import ConfigError, redact

from .plan import Plan

NAMES = ("NIANBAO_SCHEDULE", "NIANBAO_SCHEDULE_TIMEZONE", "NIANBAO_SCHEDULE_JITTER", "NIANBAO_SCHEDULE_MAX_CRAWLS",
         "NIANBAO_SCHEDULE_MISFIRE_GRACE", "NIANBAO_SCHEDULE_HEARTBEAT", "NIANBAO_SHUTDOWN_GRACE",
         "NIANBAO_ROUND_GATHER", "NIANBAO_ROUND_GATHER_MAX", "NIANBAO_ROUND_SITES", "NIANBAO_BROKER",
         "NIANBAO_DISPATCH_SITES", "NIANBAO_WORKER_CRAWLS", "NIANBAO_WORKER_HEARTBEAT", "NIANBAO_WORKER_TIMEOUT",
         "NIANBAO_FLEET_CHECK", "NIANBAO_SITE_LEASE", "NIANBAO_BROKER_VISIBILITY")


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
    #: Many machines (scheduler.engine): the broker's URL (None: this machine runs the crawls) and the fleet's times.
    broker: str | None
    dispatch_sites: int
    worker_crawls: int
    worker_heartbeat: float
    worker_timeout: timedelta
    fleet_check: float
    site_lease: timedelta
    broker_visibility: float


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
                            round_sites=int(number("NIANBAO_ROUND_SITES", int, 1)),
                            broker=_broker(settings.get("NIANBAO_BROKER")),
                            dispatch_sites=int(number("NIANBAO_DISPATCH_SITES", int, 1)),
                            worker_crawls=int(number("NIANBAO_WORKER_CRAWLS", int, 1)),
                            worker_heartbeat=number("NIANBAO_WORKER_HEARTBEAT", float, 0.1),
                            worker_timeout=timedelta(seconds=number("NIANBAO_WORKER_TIMEOUT", float, 1)),
                            fleet_check=number("NIANBAO_FLEET_CHECK", float, 0.1),
                            site_lease=timedelta(seconds=number("NIANBAO_SITE_LEASE", float, 1)),
                            broker_visibility=number("NIANBAO_BROKER_VISIBILITY", float, 60))


def _broker(url: str | None) -> str | None:
    """A Redis URL, or None; anything else is refused by name (Celery would fail later, and less clearly)."""
    if not url:
        return None
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in ("redis", "rediss"):
        raise ConfigError(f"NIANBAO_BROKER={redact(url)!r}: expected a Redis URL, redis://host:6379/0")
    return url
