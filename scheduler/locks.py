"""One crawl of a site at a time, whoever starts it (the scheduler, a worker, a person), on any machine.

Leases in the catalog (archive.catalog.fleet): a crawl leases its sites when it starts, a thread
renews them every quarter of NIANBAO_SITE_LEASE (or of NIANBAO_WORKER_TIMEOUT, if shorter) while the
process lives, and they are given back when it ends. A crawl killed outright leaves its leases
behind, but they are free at once to a crawl on the same machine (its pid is gone), and to every
machine once they expire or once the worker it ran under is dead and they went unrenewed as long.

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

from archive.catalog import SITE_LEASE, WORKER_TIMEOUT, Catalog, Holder, reason_of

logger = logging.getLogger("nianbao.locks")
#: The environment variable a worker names itself in for the crawls it starts (their leases say whose they are).
WORKER_ENV = "NIANBAO_WORKER_NAME"


class SiteLocks:
    def __init__(self, catalog: Catalog, lease: timedelta = SITE_LEASE,
                 worker_timeout: timedelta = WORKER_TIMEOUT) -> None:
        self.catalog, self.lease, self.worker_timeout = catalog, lease, worker_timeout
        #: Renewed well within the lease, and within the worker timeout: a lease whose worker is dead is free only
        #: if it was not renewed for that long, so a live crawl's renewals must come more often.
        self.every = min(lease, worker_timeout).total_seconds() / 4
        self.holder = Holder(worker=os.environ.get(WORKER_ENV) or None)
        self.sites: set[str] = set()
        self._stop = threading.Event()
        self._renewing: threading.Thread | None = None

    def acquire(self, site_ids: list[str]) -> dict[str, str]:
        """Lease every site that is free; returns the busy ones, each with who holds it."""
        busy = self.catalog.acquire_sites(site_ids, self.holder, self.lease, self.worker_timeout)
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
            logger.warning("site leases not given back: %s", reason_of(exc))
        self.sites.clear()

    def _renew(self) -> None:
        while not self._stop.wait(self.every):
            try:
                held = self.catalog.renew_sites(self.holder, self.lease)
            except SQLAlchemyError as exc:  # the catalog away for a moment: the lease outlasts a short outage
                logger.warning("site leases not renewed (they last %g s): %s", self.lease.total_seconds(),
                               reason_of(exc))
                continue
            if lost := self.sites - held:
                logger.error("site lease(s) of %s taken by another crawl: this crawl stops", ", ".join(sorted(lost)))
                os.kill(os.getpid(), signal.SIGTERM)
                return
