"""A site's own pace (``delay:`` and ``concurrency:`` in the registry) on every host it is crawled on.

Scrapy paces each host through its download slot (key: the host name), which takes its delay and
concurrency from DOWNLOAD_SLOTS when it is made. Not all of a site's hosts are known before the
crawl — any host under its ``*.gov.cn`` domain may turn up in a link — so each host gets its
site's pace here, from the first request for it, before its slot is made (and before
RobotsTxtMiddleware asks it for robots.txt). The limit is per host, as DOWNLOAD_DELAY is: a site
on three hosts gets up to three requests a second at a delay of 1 s. A host two sites share gets
the stricter pace of both. Sites that say nothing keep DOWNLOAD_DELAY and
CONCURRENT_REQUESTS_PER_DOMAIN.
"""

from __future__ import annotations

from typing import Any

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from crawler.registry import Site


def pace(site: Site) -> dict[str, Any]:
    """The site's DOWNLOAD_SLOTS entry: only what its registry entry says."""
    said = {"delay": site.delay, "concurrency": site.concurrency}
    return {name: value for name, value in said.items() if value is not None}


def stricter(one: dict[str, Any], other: dict[str, Any]) -> dict[str, Any]:
    merged = {**one, **other}
    if "delay" in one and "delay" in other:
        merged["delay"] = max(one["delay"], other["delay"])
    if "concurrency" in one and "concurrency" in other:
        merged["concurrency"] = min(one["concurrency"], other["concurrency"])
    return merged


class PolitenessMiddleware:
    def __init__(self, crawler: Crawler, paces: dict[str, dict[str, Any]]) -> None:
        self.crawler = crawler
        self.paces = paces  # site id → its DOWNLOAD_SLOTS entry
        self.paced: dict[str, set[str]] = {}  # host → sites whose pace it has

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> PolitenessMiddleware:
        sites: dict[str, Site] = getattr(crawler.spider, "sites", None) or {}
        paces = {site_id: p for site_id, site in sites.items() if (p := pace(site))}
        if not paces:
            raise NotConfigured
        return cls(crawler, paces)

    def process_request(self, request: Request) -> None:
        wanted = self.paces.get(request.meta.get("site"))
        if wanted is None:
            return
        downloader = self.crawler.engine.downloader
        key = downloader.get_slot_key(request)
        sites = self.paced.setdefault(key, set())
        if request.meta["site"] in sites:
            return
        sites.add(request.meta["site"])
        # The stricter of what this host has already (DOWNLOAD_SLOTS, another site sharing it) and this site's.
        slot_pace = stricter(downloader.per_slot_settings.get(key, {}), wanted)
        downloader.per_slot_settings[key] = slot_pace  # for a slot made (or remade after idling) from now on
        if (slot := downloader.slots.get(key)) is not None:  # made already, for another site's request
            slot.delay = max(slot.delay, slot_pace.get("delay", 0))
            slot.concurrency = min(slot.concurrency, slot_pace.get("concurrency", slot.concurrency))
