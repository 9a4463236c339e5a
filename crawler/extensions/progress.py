"""One line on stderr per report or attachment (archived, unchanged or gone), so a person watching sees the
crawl move; failures are warnings in the log, on stderr too."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawler.items import Capture
from crawler.pipelines.archive import outcome


class Progress:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Progress:
        if not crawler.settings.getbool("NIANBAO_PROGRESS"):
            raise NotConfigured
        extension = cls(sys.stderr)
        crawler.signals.connect(extension.item_scraped, signal=signals.item_scraped)
        return extension

    def item_scraped(self, item: Any) -> None:
        if isinstance(item, Capture) and item.kind in {"report", "attachment"}:
            what = item.title if item.kind == "report" else (item.filename or item.url)
            done = outcome(item)
            print(f"  {item.site}: {item.kind} {item.year or ''} {what}" + ("" if done == "archived" else f" ({done})"),
                  file=self.out, flush=True)
