"""What every route of the server shares: the configuration, the registry, the catalog and the store.

One object on ``app.state``, reached through the :func:`archive_state` dependency, so the
routers (the dashboard, the API, Memento and CDX) need no globals.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.exc import SQLAlchemyError

from archive import runlogs
from archive.catalog import Catalog
from archive.storage import ObjectStore, open_store
from crawler.registry import Registry, Site
from nianbao.config import Config

#: How often dead runs (their crawl process gone) are marked failed, at most.
DEAD_RUN_CHECK = 30.0


@dataclass
class ArchiveState:
    config: Config
    registry: Registry
    catalog: Catalog
    store: ObjectStore | None
    #: The date deadlines are judged on; None is today (a fixed date shows the flags of a past spring).
    as_of: date | None = None
    _checked: float = field(default=0.0, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _by_id: dict[str, Site] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._by_id = {site.id: site for site in self.registry.sites}

    def today(self) -> date:
        return self.as_of or datetime.now(UTC).date()

    def site_ids(self) -> list[str]:
        return [site.id for site in self.registry.sites]

    def site(self, site_id: str) -> Site | None:
        return self._by_id.get(site_id)

    def end_dead_runs(self) -> None:
        """A run whose crawl was killed would show 'running' forever; end it as ``runs list`` does.

        The only writes the server makes (those runs, and their logs into the store if this machine
        has them), and a courtesy: a catalog it may not write (a read-only database user) leaves those
        runs to the CLI.
        """
        with self._lock:
            if time.monotonic() - self._checked < DEAD_RUN_CHECK:
                return
            self._checked = time.monotonic()
        with contextlib.suppress(SQLAlchemyError):
            runlogs.end_dead_runs(self.catalog, self.config.home,
                                  lambda: self.store or open_store(self.config, create=False))


def archive_state(request: Request) -> ArchiveState:
    return request.app.state.archive


#: A route's parameter ``state: State`` receives the shared ArchiveState.
State = Annotated[ArchiveState, Depends(archive_state)]
