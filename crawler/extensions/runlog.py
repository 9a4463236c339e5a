"""The run's structured log: JSON lines on disk while the crawl goes, in object storage at its end."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from archive.runlogs import JsonLinesHandler, log_path
from archive.storage import ObjectStore, StorageError
from nianbao.config import from_settings

logger = logging.getLogger(__name__)


class RunLog:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.config = from_settings(crawler.settings)
        self.level = logging.getLevelName(crawler.settings.get("NIANBAO_RUN_LOG_LEVEL").upper())
        self.handler: JsonLinesHandler | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunLog:
        if not crawler.settings.get("NIANBAO_RUN_LOG_LEVEL"):
            raise NotConfigured
        extension = cls(crawler)
        crawler.signals.connect(extension.spider_opened, signal=signals.spider_opened)
        return extension

    def spider_opened(self, spider: Spider) -> None:
        run_id = self.crawler.stats.get_value("nianbao/run_id")  # the archive (opened first) started the run
        if run_id is None:  # no archive, no run
            return
        hosts = {host.lower(): site.id for site in getattr(spider, "sites", {}).values() for host in site.hosts}
        self.handler = JsonLinesHandler(log_path(self.config.home, run_id),
                                        lambda url: hosts.get((urlsplit(url).hostname or "").lower()), self.level)
        logging.getLogger().addHandler(self.handler)
        logger.info("run %s started: %s", run_id, ", ".join(getattr(spider, "sites", {})), extra={"event": "started"})

    def end(self, reason: str, store: ObjectStore) -> str | None:
        """Close the log and store it: the archive, closing the run, records its digest."""
        if self.handler is None:
            return None
        logger.info("run ending: %s", reason, extra={"event": "ended", "reason": reason})
        logging.getLogger().removeHandler(self.handler)
        self.handler.close()
        try:
            return store.put(self.handler.path.read_bytes())
        except (StorageError, OSError) as exc:
            logger.warning("the run log stays only in %s: %s", self.handler.path, exc)
            return None
