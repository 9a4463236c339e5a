"""How figures read on the pages: counts with separators, sizes in KB/MB, times in UTC to the second."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def when(moment: str | None) -> str:
    return f"{moment[:19].replace('T', ' ')}" if moment else "—"


def num(value: int | float | None) -> str:
    return "—" if value is None else f"{value:,}"


def size(value: int | None) -> str:
    if not value:
        return "0 B"
    amount = float(value)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if amount < 1024 or unit == "TB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1024
    raise AssertionError("unreachable")


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


FILTERS: dict[str, Callable[..., Any]] = {"when": when, "num": num, "size": size, "duration": duration}
