"""What a table reader found: rows of cells under their template row keys, and where they were."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from parsing.reading import Cell


@dataclass
class Found:
    #: Row key ("new", "refused.state_secret", "regulations", "review") → its cells in column order.
    rows: dict[str, list[Cell]] = field(default_factory=dict)
    #: {"where": …, "pages": […], "rows": [first, last]} — for people checking a number against the original.
    source: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.rows)
