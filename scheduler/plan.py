"""The spring plan: when each site is crawled, as APScheduler triggers.

Reports fall due by 31 January (departments) and 31 March (the county government), and many
appear late or are replaced, so by default every site is crawled once a week from February to
April and once in the first week of every other month.

By default every site shares one time, Monday 02:00 (Beijing): the service crawls in rounds
(scheduler.rounds), and a round is cheap only when it has many sites — one crawl process keeps a
core busy over hundreds of hosts, each still at its polite one request a second, while a process
for a site or three spends its time waiting (3.9 requests/s against 26.6; a national round would
take ~107 h instead of a few). Spread over the week (each site's weekday, hour, minute and second
hashed from its id, as before), sites come due ~17 an hour, and rounds would be that small. On
the shared time, NIANBAO_SCHEDULE_JITTER (600 s) still staggers the moments the sites come due,
and the dispatcher's gathering (NIANBAO_ROUND_GATHER_MAX, 900 s, longer than the jitter) puts them
back into one round: a spring week is one round of all 2,850 sites, in two crawls of ≤ 1,500
(NIANBAO_ROUND_SITES), one per core, done within hours. Night in China: the portals' own visitors
are few. Those who want the spread (several machines, a proxy that must see an even load) say so
with ``H``: ``NIANBAO_SCHEDULE="H H H * 2-4 H; H H H 1-7 1,5-12 H"`` was the default before rounds;
a site id keeps its ``H`` slot from one start of the service, one process and one year to the next.

Expressions are in nianbao's cron dialect (nianbao.cron: crontab lines with ``H``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.combining import OrTrigger

from nianbao.config import ConfigError
from nianbao.cron import DEFAULT_TIMEZONE, PlanError, cron_trigger, expression_problem, split_expressions

__all__ = ["DEFAULT_PLAN", "DEFAULT_TIMEZONE", "Plan", "PlanError", "cron_trigger", "signature"]

#: Mondays at 02:00 in February–April, plus the first Monday of each later month (seconds field first):
#: every site at the same time, so that they are crawled in one round (see above).
DEFAULT_PLAN = ("0 0 2 * 2-4 1", "0 0 2 1-7 1,5-12 1")

@dataclass(frozen=True)
class Plan:
    """Expressions for every site (a site's own ``schedule:`` replaces them), jitter and time zone."""

    expressions: tuple[str, ...] = DEFAULT_PLAN
    jitter: float = 0
    timezone: str = DEFAULT_TIMEZONE

    @classmethod
    def from_text(cls, text: str | None, jitter: float = 0, timezone: str = DEFAULT_TIMEZONE) -> Plan:
        """The plan of the NIANBAO_SCHEDULE setting (None or empty: the default spring plan), checked."""
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"NIANBAO_SCHEDULE_TIMEZONE={timezone!r}: not a known time zone") from None
        if jitter < 0:
            raise ConfigError(f"NIANBAO_SCHEDULE_JITTER={jitter!r}: must be 0 or more seconds")
        expressions = tuple(split_expressions(text or "")) or DEFAULT_PLAN
        for expression in expressions:
            if problem := expression_problem(expression):
                raise PlanError(f"NIANBAO_SCHEDULE: {problem}")
        return cls(expressions, jitter, timezone)

    def trigger(self, site_id: str, expressions: Sequence[str] = ()) -> OrTrigger:
        """The site's trigger: the earliest of its expressions' times, plus up to ``jitter`` seconds."""
        try:
            triggers = [cron_trigger(e, site_id, self.timezone) for e in expressions or self.expressions]
        except PlanError as exc:
            raise PlanError(f"site {site_id!r}: schedule {exc}") from None
        return OrTrigger(triggers, jitter=self.jitter or None)


def signature(trigger: object) -> str:
    """What decides whether a stored job must be rescheduled: times, time zone and jitter (str() lacks them)."""
    return repr(trigger)
