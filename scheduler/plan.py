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

Expressions are crontab lines: 5 fields (minute hour day month weekday) or 6, seconds first.
Weekdays are numbered as in cron (0 or 7 = Sunday) or named (sun … sat). Unlike Vixie cron, a
restricted day *and* weekday must both match (APScheduler's rule), so ``H H 1-7 * H`` is one day
in the first week of every month. ``H`` is a value taken from the site id, ``H(a-b)`` one within
a-b, ``H/n`` every n from a start taken from the site id; allowed in every field but the month.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger

from nianbao.config import ConfigError

#: Mondays at 02:00 in February–April, plus the first Monday of each later month (seconds field first):
#: every site at the same time, so that they are crawled in one round (see above).
DEFAULT_PLAN = ("0 0 2 * 2-4 1", "0 0 2 1-7 1,5-12 1")
#: Cron times are read in this zone by default: the portals' own (deadlines are Beijing dates).
DEFAULT_TIMEZONE = "Asia/Shanghai"

_FIELDS = ("second", "minute", "hour", "day", "month", "day_of_week")
#: Where ``H`` may land: days only up to 28, so every month has the day.
_H_RANGES = {"second": (0, 59), "minute": (0, 59), "hour": (0, 23), "day": (1, 28), "day_of_week": (0, 6)}
_BOUNDS = {**_H_RANGES, "day": (1, 31), "day_of_week": (0, 7)}
_H = re.compile(r"H(?:\((\d+)-(\d+)\))?(?:/(\d+))?")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # cron numbering: index = day number


class PlanError(ConfigError):
    """A cron expression that cannot be used; the message names the expression (and the site)."""


def slot(site_id: str, field: str) -> int:
    """A stable number for this site and field: the same in every process (unlike hash())."""
    return int.from_bytes(hashlib.sha256(f"{site_id}/{field}".encode()).digest()[:8], "big")


def split_expressions(text: str) -> list[str]:
    """Several expressions in one setting: separated by ``;`` or new lines."""
    return [part.strip() for part in re.split(r"[;\n]", text) if part.strip()]


def cron_trigger(expression: str, site_id: str, timezone: str = DEFAULT_TIMEZONE) -> CronTrigger:
    """The CronTrigger of one expression for one site (``H`` resolved); PlanError says what is wrong."""
    fields = expression.split()
    if len(fields) == 5:
        fields.insert(0, "0")
    elif len(fields) != 6:
        raise PlanError(f"{expression!r}: expected 5 fields (minute hour day month weekday) "
                        f"or 6 (second minute hour day month weekday), got {len(fields)}")
    values = {}
    for name, raw in zip(_FIELDS, fields, strict=True):
        try:
            text = ",".join(_resolve_h(token, name, site_id) for token in raw.split(","))
            values[name] = _weekdays(text) if name == "day_of_week" else text
        except ValueError as exc:
            raise PlanError(f"{expression!r}: {name.replace('_', ' ')} field {raw!r}: {exc}") from None
    try:
        return CronTrigger(**values, timezone=timezone)
    except ValueError as exc:
        raise PlanError(f"{expression!r}: {exc}") from None


def expression_problem(expression: str) -> str | None:
    """What is wrong with an expression (for the registry's validation), or None."""
    try:
        trigger = cron_trigger(expression, "check", "UTC")
    except PlanError as exc:
        return str(exc)
    if trigger.get_next_fire_time(None, datetime.now(UTC)) is None:
        return f"{expression!r}: never fires"
    return None


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


def _resolve_h(token: str, field: str, site_id: str) -> str:
    match = _H.fullmatch(token)
    if match is None:
        return token
    if field not in _H_RANGES:
        raise ValueError("H is not allowed here")
    low, high = _H_RANGES[field]
    if match[1] is not None:
        low, high = int(match[1]), int(match[2])
        lowest, highest = _BOUNDS[field]
        if not lowest <= low <= high <= highest:
            raise ValueError(f"H({low}-{high}) must lie within {lowest}-{highest}, first value first")
    value = slot(site_id, field)
    if match[3] is None:
        return str(low + value % (high - low + 1))
    step = int(match[3])
    if step < 1:
        raise ValueError("the step of H/n must be 1 or more")
    return f"{low + value % min(step, high - low + 1)}-{high}/{step}"


def _weekdays(text: str) -> str:
    """Cron's weekdays (0/7 = Sunday, 1 = Monday) as APScheduler's names: its numbers start at Monday."""
    if text == "*":
        return text
    days: set[int] = set()
    for token in text.split(","):
        part, slash, step_text = token.partition("/")
        if slash and (not step_text.isdigit() or int(step_text) == 0):
            raise ValueError(f"{token!r}: the step must be a positive number")
        step = int(step_text or 1)
        if part == "*":
            first, last = 0, 6
        elif "-" in part:
            first, last = (_day(p) for p in part.split("-", 1))
            if first > last:
                raise ValueError(f"{token!r}: the first day comes after the last (Sunday is 0 or 7)")
        else:
            first = _day(part)
            last = 7 if slash else first
        days.update(day % 7 for day in range(first, last + 1, step))
    if len(days) == 7:
        return "*"
    return ",".join(_DAYS[day] for day in (1, 2, 3, 4, 5, 6, 0) if day in days)


def _day(text: str) -> int:
    if text.isdigit() and int(text) <= 7:
        return int(text)
    if text.lower() in _DAYS:
        return _DAYS.index(text.lower())
    raise ValueError(f"{text!r} is not a weekday (0-7 with 0 and 7 Sunday, or sun … sat)")
