"""nianbao's cron dialect: crontab lines with ``H`` (a value taken from the site id), as APScheduler triggers.

A shared basic, below the scheduler: the registry checks a site's ``schedule:`` with it when it is
read, and the scheduler (scheduler.plan) builds its triggers with it.

Expressions are crontab lines: 5 fields (minute hour day month weekday) or 6, seconds first.
Weekdays are numbered as in cron (0 or 7 = Sunday) or named (sun … sat). Unlike Vixie cron, a
restricted day *and* weekday must both match (APScheduler's rule), so ``H H 1-7 * H`` is one day
in the first week of every month. ``H`` is a value taken from the site id, ``H(a-b)`` one within
a-b, ``H/n`` every n from a start taken from the site id; allowed in every field but the month.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime

from apscheduler.triggers.cron import CronTrigger

from nianbao.config import ConfigError

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
