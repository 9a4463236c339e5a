"""The crawl's one archive: configuration, store, catalog, run, and what the archive already holds.

The spider, the pipeline, the revisit and replay middlewares and the run log all work on the same
archive; each gets it with ``crawler.get_extension(Archive)`` instead of opening its own store and
catalog. It opens the run when the spider opens (before any request) and closes it last, when the
pipeline has drained and the run log is stored.

What it knows of the crawl's sites, read once at the start:

* ``known``: each archived URL's newest capture (a recrawl asks "changed since?" with its validators);
* ``next_checks``: when each known report, attachment or page is next due (the catalog's check schedule:
  soon after a first or changed capture, then less and less often while unchanged); a URL not due is
  not asked, wherever it is linked from;
* ``replay``: the list and report pages an interrupted run of a site (killed, failed, cancelled, within
  NIANBAO_RESUME_WITHIN) already fetched: read back from the archive instead of fetched again, so a crawl
  started again after a crash goes on where it was (crawler.downloadermiddlewares.replay).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from scrapy import Spider, signals
from scrapy.crawler import Crawler

from archive import runlogs
from archive.catalog import Capture, Catalog, RecheckPolicy, utcnow
from archive.storage import open_store
from crawler.runfigures import run_figures
from nianbao.config import from_settings

from .runlog import RunLog

logger = logging.getLogger(__name__)

#: Scrapy's reasons a spider closed, as the run's status.
_STATUSES = {"finished": "finished", "shutdown": "cancelled"}


class Archive:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.config = from_settings(crawler.settings)
        self.store = open_store(self.config)
        self.catalog = Catalog(self.config.catalog)
        settings = crawler.settings
        self.recheck = RecheckPolicy(first=settings.getfloat("NIANBAO_RECHECK_FIRST"),
                                     longest=settings.getfloat("NIANBAO_RECHECK_LONGEST"),
                                     age_factor=settings.getfloat("NIANBAO_RECHECK_AGE_FACTOR"))
        #: ``-s NIANBAO_RECHECK_AFTER=N``: everything last checked more than N s ago is due (0: everything).
        self.recheck_after = settings.getfloat("NIANBAO_RECHECK_AFTER")
        self.resume_within = timedelta(seconds=settings.getfloat("NIANBAO_RESUME_WITHIN"))
        self.run_id: int | None = None
        self.known: dict[str, Capture] = {}
        self.next_checks: dict[str, datetime] = {}
        self.replay: dict[str, Capture] = {}
        #: (URL, sha256) of what those runs recorded: fetched again (in flight then, or a POST), not recorded again.
        self.recorded: set[tuple[str, str]] = set()
        #: Per site, the interrupted runs this one goes on from.
        self.resumed: dict[str, list[int]] = {}
        self.started_at = utcnow()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Archive:
        archive = cls(crawler)
        crawler.signals.connect(archive.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(archive.spider_closed, signal=signals.spider_closed)
        return archive

    # -- the run ----------------------------------------------------------------------------
    def spider_opened(self, spider: Spider) -> None:
        sites = sorted(getattr(spider, "sites", {}))
        self.started_at = utcnow()
        # A crawl of this host killed before it could close its run: failed now, its log stored, and gone on from.
        ended = runlogs.end_dead_runs(self.catalog, self.config.home, lambda: self.store)
        if ended:
            logger.warning("run(s) %s of crawls that died marked failed", ", ".join(map(str, ended)))
        self.resumed = self.catalog.interrupted_runs(sites, self.started_at - self.resume_within)
        self.run_id = self.catalog.start_run(sites, self.crawler.settings.get("NIANBAO_RUN_TRIGGER"))
        self.crawler.stats.set_value("nianbao/run_id", self.run_id)
        self.known = self.catalog.known_urls(sites)
        self.next_checks = self.catalog.next_checks(sites)
        self.replay = self.catalog.replayable(self.resumed) if self.resumed else {}
        self.recorded = self.catalog.recorded(self.resumed) if self.resumed else set()
        if self.resumed:
            runs = sorted({run for runs in self.resumed.values() for run in runs})
            self.crawler.stats.set_value("nianbao/resumed_runs", runs)
            logger.info("run %s goes on from interrupted run(s) %s: %d page(s) read back from the archive",
                        self.run_id, ", ".join(map(str, runs)), len(self.replay))
        logger.info("run %s: archiving into %s, catalog %s", self.run_id, self.store.location,
                    self.catalog.engine.url.render_as_string(hide_password=True))

    def spider_closed(self, reason: str) -> None:
        """Last of all (the pipeline has drained): the run's status, figures and stored log."""
        stats = self.crawler.stats
        stats.set_value("nianbao/finish_reason", reason)
        log = self.crawler.get_extension(RunLog)
        digest = log.end(reason, self.store) if log else None
        # A crawl that ran to its end but could not keep everything (the spool outlasted NIANBAO_OUTAGE_MAX) failed.
        status = _STATUSES.get(reason, "failed")
        if stats.get_value("nianbao/stopped"):
            status = "failed" if status == "finished" else status
        self.catalog.finish_run(self.run_id, status, run_figures(stats.get_stats()), digest)

    # -- what is due ------------------------------------------------------------------------
    def due(self, url: str) -> bool:
        """Whether a known report, attachment or page should be asked after in this crawl."""
        prior = self.known.get(url)
        if prior is None or url in self.replay:  # new, or read back from the archive (no request)
            return True
        if (self.started_at - prior.fetched_at).total_seconds() >= self.recheck_after:
            return True
        next_check = self.next_checks.get(prior.url)
        return next_check is None or next_check <= self.started_at
