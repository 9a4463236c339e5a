"""One line on stderr per archived report or attachment, so a person watching sees the crawl move."""

from __future__ import annotations

import sys
from typing import Any, TextIO

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawler.items import Capture, FetchFailure


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
        if isinstance(item, FetchFailure):
            print(f"  {item.site}: ! {item.reason}: {item.url}", file=self.out, flush=True)
        elif isinstance(item, Capture) and item.kind in {"report", "attachment"}:
            what = item.title if item.kind == "report" else (item.filename or item.url)
            print(f"  {item.site}: {item.kind} {item.year or ''} {what}", file=self.out, flush=True)
