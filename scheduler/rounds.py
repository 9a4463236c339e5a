"""Rounds: due sites gathered into crawls of many sites each, the one path of the service and of
``nianbao schedule round``.

Why: a crawl process is one Scrapy reactor on one core, and Scrapy's downloader paces each host in
its own slot, so one process over many sites keeps its core busy while every host waits out its
delay (26.6 requests/s for 24 sites in one crawl, 3.9 with a process per site). A site that comes
due is therefore not started at once: it waits in the due set until no other site came due for
NIANBAO_ROUND_GATHER seconds (or the first has waited NIANBAO_ROUND_GATHER_MAX), then the gathered
sites are split over the free crawl slots (NIANBAO_SCHEDULE_MAX_CRAWLS: a process per core), at
most NIANBAO_ROUND_SITES to a crawl (a crawl holds its sites' known URLs in memory); what does not
fit waits for the next free slot. A site in one of these crawls waits for it to end before it is
crawled again, and one another process is crawling (its lock held) is left to that crawl.

Each crawl is a child ``nianbao crawl --trigger schedule … --site A --site B …`` (the ids on its
command line: 1,500 of them are ~40 KB, far below ARG_MAX), so it records one run with a row per
site, its log and its figures like any crawl, and whatever happens in it never reaches the service.
Its output goes to ``NIANBAO_HOME/logs/schedule/crawl-TIME-PID-N.log``; ``logs/schedule/sites/SITE.log``
has a line per crawl of the site naming that log.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError

from archive.catalog import Catalog, isoformat, reason_of
from crawler.registry import Site

from .config import ScheduleSettings
from .crawls import BUSY, SITE_LOGS, Crawl, kill, launch, raise_open_files, reap

if TYPE_CHECKING:
    from .handout import Handout

logger = logging.getLogger("nianbao.scheduler")
def ready(first: float, last: float, now: float, gather: float, gather_max: float) -> bool:
    """Gathered long enough: no site came due for ``gather`` seconds, or the first has waited ``gather_max``."""
    return now - last >= gather or now - first >= gather_max


def split(sites: list[str], slots: int, per_crawl: int, together: dict[str, str] | None = None) -> list[list[str]]:
    """The crawls to start now: one on every free slot (every core works), at most ``per_crawl`` sites each.

    Dealt round-robin, so a registry ordered by province (or by size) gives each crawl its share of
    every kind and the crawls end at about the same time; sites beyond the slots wait for one. Sites
    ``together`` maps to one key (they share a host) go to one crawl: a host is paced by the crawl
    that holds it, and two crawls of one host would each give it its whole rate.
    """
    if not sites or slots < 1:
        return []
    groups: dict[str, list[str]] = {}
    for site in sites:
        groups.setdefault((together or {}).get(site, site), []).append(site)
    count = min(slots, len(groups))
    batches: list[list[str]] = [[] for _ in range(count)]
    turn = 0
    for members in groups.values():
        for _ in range(count):
            batch = batches[turn % count]
            turn += 1
            if not batch or len(batch) + len(members) <= per_crawl:
                batch.extend(members)
                break
        else:
            break  # every crawl is full: the rest waits for the next free slot
    return [batch for batch in batches if batch]


def host_groups(sites: Iterable[Site]) -> dict[str, str]:
    """Each site's group: the first site (in registry order) of those it shares a host with, through any chain."""
    parent: dict[str, str] = {}

    def root(site: str) -> str:
        while parent[site] != site:
            parent[site] = parent[parent[site]]
            site = parent[site]
        return site

    owner: dict[str, str] = {}
    for site in sites:
        parent.setdefault(site.id, site.id)
        for host in site.hosts:
            if host in owner:
                first, mine = root(owner[host]), root(site.id)
                if first != mine:
                    parent[mine] = first
            else:
                owner[host] = site.id
    return {site: root(site) for site in parent}


class Dispatcher:
    """The due set and the crawls started from it; ``run()`` is its loop (the service's thread, or a round's)."""

    def __init__(self, home: Path, catalog: Catalog, settings: ScheduleSettings, crawl_args: list[str],
                 env: dict[str, str], wanted: Callable[[list[str]], set[str]] | None = None,
                 ended: Callable[[Crawl], None] | None = None, together: dict[str, str] | None = None,
                 handout: Handout | None = None) -> None:
        self.home, self.catalog, self.settings, self.crawl_args, self.env = home, catalog, settings, crawl_args, env
        self.together = together  # sites that share a host (host_groups): one crawl
        #: Many machines: rounds handed to the workers (scheduler.handout) instead of crawled here.
        self.handout = handout
        #: Which of the gathered sites still want their crawl (the service: those not paused meanwhile).
        self.wanted = wanted
        self.ended = ended  # called with each crawl once it ended (outside the lock)
        self.changed = threading.Condition()  # guards everything below; notified on every change
        self.due: dict[str, float] = {}  # site → when it came due (monotonic), in the order they came
        self.last_due = 0.0
        self.running: dict[int, Crawl] = {}
        self.finished: deque[Crawl] = deque(maxlen=10_000)
        self.busy: dict[str, str] = {}  # sites left to another process's crawl, and who holds them
        self.not_started: list[str] = []  # sites whose crawl could not be started (fork failed …)
        self.closed = False
        self.count = 0
        raise_open_files()

    # -- what the service and a round call ---------------------------------------------------------
    def add(self, site_ids: Iterable[str]) -> None:
        """Sites due now: crawled in the next round that has room (not twice if already due)."""
        now = time.monotonic()
        with self.changed:
            for site_id in site_ids:
                self.due.setdefault(site_id, now)
            self.last_due = now
            self.changed.notify_all()

    def run(self, until_idle: bool = False) -> None:
        """Start crawls as sites are gathered, until close() or (``until_idle``) nothing is due or running."""
        with self.changed:
            while not self.closed:
                wait = self._dispatch()
                if until_idle and not self.due and not self.running:
                    return
                self.changed.wait(wait)

    def close(self) -> None:
        with self.changed:
            self.closed = True
            self.changed.notify_all()

    def stop(self, grace: float, force: threading.Event | None = None) -> tuple[list[str], list[Crawl]]:
        """No more crawls; running ones asked to end (SIGTERM: their runs end 'cancelled', everything fetched
        kept), killed after ``grace`` seconds or at ``force``. Returns the due sites never started, and the crawls."""
        with self.changed:
            self.closed = True
            crawls = list(self.running.values())
            unstarted = list(self.due)
            self.due.clear()
            self.changed.notify_all()
        for crawl in crawls:  # the crawl, not its group: one SIGTERM (a second would make Scrapy stop uncleanly)
            kill(crawl.process.pid, signal.SIGTERM, group=False)
        deadline = time.monotonic() + grace
        for crawl in crawls:
            while not crawl.done.wait(0.2):
                if (force is not None and force.is_set()) or time.monotonic() > deadline:
                    logger.warning("crawl %d (pid %d) did not end in time: killed", crawl.number, crawl.process.pid)
                    kill(crawl.process.pid, signal.SIGKILL, group=True)
                    crawl.done.wait(10)
                    break
        return unstarted, crawls

    def status(self) -> dict[str, Any]:
        with self.changed:
            return {"crawls": [crawl.as_status() for crawl in self.running.values()], "due": sorted(self.due)}

    # -- inside the loop (the lock held) ---------------------------------------------------------
    def _dispatch(self) -> float | None:
        """Start what is ready; returns how long to wait before looking again (None: until something changes)."""
        if self.handout is not None:  # the fleet's crawls: every gathered site is handed out, queued there
            try:
                inside = self.handout.inside()
            except SQLAlchemyError as exc:
                logger.warning("dispatches not read (the catalog is away): %s", reason_of(exc))
                return self.settings.fleet_check
            free = 1  # the engine queues what the workers cannot take yet
        else:
            inside = {site for crawl in self.running.values() for site in crawl.sites}
            free = self.settings.max_crawls - len(self.running)
        group = (self.together or {}).get
        crawling = {group(site, site) for site in inside}  # a site whose host-mate is being crawled waits for it
        waiting = [site for site in self.due if group(site, site) not in crawling]
        later = self.settings.fleet_check if self.handout is not None and len(waiting) < len(self.due) else None
        if not waiting or free < 1:
            return later
        now, first = time.monotonic(), min(self.due[site] for site in waiting)
        gather, gather_max = self.settings.gather, self.settings.gather_max
        if not ready(first, self.last_due, now, gather, gather_max):
            return max(0.01, min(self.last_due + gather, first + gather_max) - now)
        came = {site: self.due.pop(site) for site in waiting}
        sites = waiting
        if self.wanted is not None:
            keep = self.wanted(sites)
            if dropped := [site for site in sites if site not in keep]:
                logger.info("not crawled, paused or removed since they came due: %s", ", ".join(dropped))
            sites = [site for site in sites if site in keep]
        held = self._holders(sites)
        for site_id, holder in held.items():
            logger.info("%s: skipped, busy: crawled by %s", site_id, holder)
        self.busy.update(held)
        sites = [site for site in sites if site not in held]
        if self.handout is not None:
            try:
                self.handout.hand_out(sites, self.together)
            except SQLAlchemyError as exc:  # due again: handed out once the catalog answers
                logger.warning("round not handed out (the catalog is away): %s", reason_of(exc))
                self.due.update((site, came[site]) for site in sites)
                return self.settings.fleet_check
            return later
        batches = split(sites, free, self.settings.round_sites, self.together)
        started = {site for batch in batches for site in batch}
        for site in sites:  # no slot for them yet: the next crawl that has room
            if site not in started:
                self.due[site] = came[site]
        for batch in batches:
            self._start(batch)
        return None

    def _holders(self, sites: list[str]) -> dict[str, str]:
        try:
            return self.catalog.site_holders(sites, self.settings.worker_timeout)
        except SQLAlchemyError as exc:  # the crawls' own leases still decide
            logger.warning("site leases not read: %s", reason_of(exc))
            return {}

    def _start(self, sites: list[str]) -> None:
        self.count += 1
        try:
            crawl = launch(self.home, self.count, sites, self.crawl_args, self.env)
        except OSError as exc:
            logger.error("crawl of %s not started: %s", ", ".join(sites), exc)
            self.not_started += sites
            return
        self.running[self.count] = crawl
        self._index(crawl)
        threading.Thread(target=self._wait, args=(crawl,), name=f"crawl-{crawl.number}", daemon=True).start()
        logger.info("crawl %d started (pid %d): %d site(s): %s", crawl.number, crawl.process.pid, len(sites),
                    _names(sites))

    def _index(self, crawl: Crawl) -> None:
        """A line per crawl in each site's file, naming the crawl's log: how a site's log is found."""
        directory = self.home / SITE_LOGS
        line = f"{isoformat(crawl.started_at)} crawl {crawl.number} (pid {crawl.process.pid}, " \
               f"{len(crawl.sites)} site(s)): {crawl.log}\n"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            for site in crawl.sites:
                with (directory / f"{site}.log").open("a", encoding="utf-8") as index:
                    index.write(line)
        except OSError as exc:
            logger.warning("sites' log index not written in %s: %s", directory, exc)

    def _wait(self, crawl: Crawl) -> None:
        reap(crawl)
        with self.changed:
            self.running.pop(crawl.number, None)
            self.finished.append(crawl)
            self.changed.notify_all()
        crawl.done.set()
        if self.ended is not None:
            self.ended(crawl)


def crawl_figures(catalog: Catalog, crawl: Crawl) -> dict[str, Any]:
    """What a round prints for one crawl: its run (found by the child's pid) and that run's figures."""
    since = crawl.started_at.replace(tzinfo=None)
    runs = [run for run in catalog.runs(limit=500) if run.pid == crawl.process.pid and run.started_at >= since]
    run = min(runs, key=lambda r: r.id) if runs else None
    stats = run.stats if run is not None else {}
    summary = catalog.site_summary(run.id) if run is not None else {}  # captures by kind per site, and errors
    captures = sum(n for kinds in summary.values() for kind, n in kinds.items() if kind != "errors")
    requests = int(stats.get("requests", 0))
    return {"crawl": crawl.number, "run": run.id if run else None, "sites": crawl.sites,
            "status": run.status if run else ("busy" if crawl.code == BUSY else "not started"),
            "exit": crawl.code, "requests": requests, "captures": captures, "errors": int(stats.get("errors", 0)),
            "seconds": round(crawl.seconds, 2), "requests_per_s": round(requests / crawl.seconds, 2)
            if crawl.seconds else 0.0, "peak_rss_mb": round(crawl.peak_rss / 2**20, 1),
            "busiest_second": stats.get("busiest_second", 0), "log": str(crawl.log)}


def _names(sites: list[str], at_most: int = 8) -> str:
    shown = ", ".join(sites[:at_most])
    return shown + (f" … (+{len(sites) - at_most})" if len(sites) > at_most else "")


def round_figures(catalog: Catalog, dispatcher: Dispatcher, sites: int) -> dict[str, Any]:
    """A round's figures: per crawl (crawl_figures), and in all; requests/s over the crawls' span."""
    crawls = sorted(dispatcher.finished, key=lambda c: c.number)
    rows = [crawl_figures(catalog, crawl) for crawl in crawls]
    begun = min((c.started for c in crawls), default=0.0)
    seconds = max((c.started + c.seconds for c in crawls), default=0.0) - begun
    requests = sum(row["requests"] for row in rows)
    return {"sites": sites, "crawls": rows, "requests": requests, "captures": sum(row["captures"] for row in rows),
            "errors": sum(row["errors"] for row in rows), "seconds": round(seconds, 2),
            "requests_per_s": round(requests / seconds, 2) if seconds else 0.0,
            "peak_rss_mb": max((row["peak_rss_mb"] for row in rows), default=0.0),
            "busy": dict(sorted(dispatcher.busy.items())), "not_started": list(dispatcher.not_started)}
