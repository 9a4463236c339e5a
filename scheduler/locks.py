"""One crawl of a site at a time, whoever starts it (the scheduler, a worker, a person), on any machine.

Leases in the catalog (archive.catalog.fleet): a crawl leases its sites when it starts, a thread renews
them every quarter of NIANBAO_SITE_LEASE while the process lives, and they are given back when it ends.
A crawl killed outright leaves its leases behind, but they are free at once to a crawl on the same
machine (its pid is gone) and to every machine once they expire or the worker it ran under is dead.

A lease found taken by another crawl at a renewal means this crawl was judged dead (it could not
renew for longer than the lease) and its sites were handed on: it stops (SIGTERM, its run ends
cancelled, everything fetched kept) rather than crawl them beside the one that took them.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from datetime import timedelta

from sqlalchemy.exc import SQLAlchemyError

from archive.catalog import SITE_LEASE, Catalog, Holder

logger = logging.getLogger("nianbao.locks")
#: The environment variable a worker names itself in for the crawls it starts (their leases say whose they are).
WORKER_ENV = "NIANBAO_WORKER_NAME"


class SiteLocks:
    def __init__(self, catalog: Catalog, lease: timedelta = SITE_LEASE) -> None:
        self.catalog, self.lease = catalog, lease
        self.holder = Holder(worker=os.environ.get(WORKER_ENV) or None)
        self.sites: set[str] = set()
        self._stop = threading.Event()
        self._renewing: threading.Thread | None = None

    def acquire(self, site_ids: list[str]) -> dict[str, str]:
        """Lease every site that is free; returns the busy ones, each with who holds it."""
        busy = self.catalog.acquire_sites(site_ids, self.holder, self.lease)
        self.sites |= {site for site in site_ids if site not in busy}
        if self.sites and self._renewing is None:
            self._renewing = threading.Thread(target=self._renew, name="site-leases", daemon=True)
            self._renewing.start()
        return busy

    def release(self) -> None:
        self._stop.set()
        if self._renewing is not None:
            self._renewing.join(5)
        try:
            self.catalog.release_sites(self.holder)
        except SQLAlchemyError as exc:  # they expire, or are freed when this process is seen gone
            logger.warning("site leases not given back: %s", getattr(exc, "orig", None) or exc)
        self.sites.clear()

    def _renew(self) -> None:
        while not self._stop.wait(self.lease.total_seconds() / 4):
            try:
                held = self.catalog.renew_sites(self.holder, self.lease)
            except SQLAlchemyError as exc:  # the catalog away for a moment: the lease outlasts a short outage
                logger.warning("site leases not renewed (they last %g s): %s", self.lease.total_seconds(),
                               getattr(exc, "orig", None) or exc)
                continue
            if lost := self.sites - held:
                logger.error("site lease(s) of %s taken by another crawl: this crawl stops", ", ".join(sorted(lost)))
                os.kill(os.getpid(), signal.SIGTERM)
                return
