"""When to ask again after a known report, attachment or page: soon after it is new or changed
(late corrections come in the first weeks after publication), then half as often each time it is
found unchanged.

A report first archived long after it was published (the years of reports a portal shows when it
is first crawled) is not in its first weeks: its first check waits in proportion to its age. So a
spring round asks after this spring's reports every week or two, and after the backlog seldom.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

DAY = 24 * 3600


@dataclass(frozen=True)
class RecheckPolicy:
    """``first``: the interval after a new or changed body; ``longest``: where doubling stops (seconds);
    ``age_factor``: a new report of a known year waits this share of its age (since 31 March of the year
    after, the county's deadline) when that is longer than ``first`` (0: never)."""

    first: float = 7 * DAY
    longest: float = 365 * DAY
    age_factor: float = 0.25

    def __post_init__(self) -> None:
        if not (0 < self.first <= self.longest and math.isfinite(self.longest)):
            raise ValueError(f"recheck intervals: need 0 < first ({self.first} s) <= longest ({self.longest} s)")
        if not 0 <= self.age_factor <= 1:
            raise ValueError(f"recheck age factor {self.age_factor}: need 0 to 1")

    def interval(self, novelty: str | None, previous: int | None, year: int | None = None,
                 at: datetime | None = None) -> int:
        """The next interval after a capture of this ``novelty``, given the one before (None: none yet).

        A gone page doubles like an unchanged one: it may come back, and its versions stay archived.
        """
        if novelty == "changed":
            return round(self.first)
        if novelty == "new" or previous is None:
            return round(self._first_for(year, at))
        return round(min(previous * 2, self.longest))

    def _first_for(self, year: int | None, at: datetime | None) -> float:
        if year is None or at is None or not self.age_factor or not 1990 < year < 2200:
            return self.first
        age = (at.replace(tzinfo=None) - datetime(year + 1, 3, 31)).total_seconds()
        return min(self.longest, max(self.first, age * self.age_factor))
