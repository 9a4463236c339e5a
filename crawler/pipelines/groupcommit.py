"""Commit catalog rows in groups: a transaction per body would cost more than fetching it.

Each caller awaits the commit of the group its row went into, so an item is done only once its
capture is durable, and a failed commit fails every item of its group.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Generic, TypeVar

Row = TypeVar("Row")


class GroupCommit(Generic[Row]):
    def __init__(self, write: Callable[[list[Row]], None], executor: Executor, size: int, delay: float) -> None:
        self.write, self.executor, self.size, self.delay = write, executor, size, delay
        self.rows: list[Row] = []
        self.committed: asyncio.Future[None] | None = None
        self.timer: asyncio.TimerHandle | None = None

    async def add(self, row: Row) -> None:
        loop = asyncio.get_running_loop()
        if self.committed is None:
            self.committed = loop.create_future()
            self.timer = loop.call_later(self.delay, self.flush)
        committed = self.committed
        self.rows.append(row)
        if len(self.rows) >= self.size:
            self.flush()
        await asyncio.shield(committed)  # one cancelled item must not cancel its whole group

    def flush(self) -> None:
        """Send the pending group to the writer thread (at the size limit, or when its delay is up)."""
        if self.committed is None:
            return
        rows, committed = self.rows, self.committed
        self.rows, self.committed = [], None
        if self.timer is not None:
            self.timer.cancel()
        written = asyncio.get_running_loop().run_in_executor(self.executor, self.write, rows)

        def settle(done: asyncio.Future[None]) -> None:
            if committed.done():
                return
            if done.exception() is not None:
                committed.set_exception(done.exception())
            else:
                committed.set_result(None)

        written.add_done_callback(settle)
