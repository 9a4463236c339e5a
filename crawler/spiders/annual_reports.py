"""The ``annual_reports`` spider: from each site's report lists to every report and attachment.

Lists are read page by page to their end; each entry is judged by its title (crawler.titles);
reports are fetched with every attachment they link. Every body fetched — list pages too —
is yielded as a Capture for the archive pipeline; every failure as a FetchFailure.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from archive.catalog import GONE_STATUSES, PARSED_KINDS, Catalog, utcnow
from archive.catalog import Capture as CatalogCapture
from crawler import discovery
from crawler.attachments import attachment_links, filename_from
from crawler.downloadermiddlewares.redirectloop import RedirectLoop
from crawler.downloadhandlers.http import BODY_FILE
from crawler.failures import TOO_MANY_REDIRECTS, failure_reason, list_problem, too_large_to_read
from crawler.items import Capture, FetchFailure, FoundList, text_headers
from crawler.listings import read_listing
from crawler.registry import RegistryError, Site, load_registry
from crawler.rendering import needs_browser, rendered
from crawler.scope import Scope
from crawler.titles import classify, is_truncated
from nianbao.config import from_settings, internal_addresses_allowed

_TITLE_SELECTORS = (
    'meta[name="ArticleTitle"]::attr(content)',
    'meta[name="articletitle"]::attr(content)',
    ".article-title::text, .xxgk-title::text, #title::text, h1::text",
    "title::text",
)


class AnnualReportsSpider(Spider):
    name = "annual_reports"

    def __init__(self, site: str | None = None, sites: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._site_arg, self._sites_arg = site, sites

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> AnnualReportsSpider:
        spider = super().from_crawler(crawler, *args, **kwargs)
        registry = load_registry(spider._sites_arg or crawler.settings.get("NIANBAO_SITES"),
                                 internal_addresses_allowed(crawler.settings.get("NIANBAO_ALLOW_INTERNAL_ADDRESSES")))
        keys = [k.strip() for k in (spider._site_arg or "").split(",") if k.strip()]
        if not keys:
            raise RegistryError("name the sites to crawl: -a site=ID[,ID…] (ids or names from the registry)")
        spider.sites = {s.id: s for s in registry.select(keys)}
        spider.scopes = {s.id: Scope(s) for s in spider.sites.values()}
        spider.max_list_pages = crawler.settings.getint("NIANBAO_MAX_LIST_PAGES")
        spider.hanweb_group = crawler.settings.getint("NIANBAO_HANWEB_GROUP")
        spider.max_reports_per_page = crawler.settings.getint("NIANBAO_MAX_REPORTS_PER_PAGE")
        spider.max_reports_per_list = crawler.settings.getint("NIANBAO_MAX_REPORTS_PER_LIST")
        spider.list_reports: dict[str, int] = {}  # report candidates followed per list (by its first page)
        spider.claims_said: set[str] = set()  # lists whose claimed page count was more than is followed
        spider.list_pages: dict[str, set[bytes]] = {}  # list pages asked for (fingerprints), per site
        spider.refused: set[tuple[str, str]] = set()  # (site, URL) already reported out of scope
        spider.max_requests = crawler.settings.getint("NIANBAO_MAX_REQUESTS_PER_SITE")
        spider.requests: dict[str, int] = {}  # requests made per site
        spider.asked: set[str] = set()  # URLs requested in this crawl
        spider.known: dict[str, CatalogCapture] = {}  # URLs archived before: asked "changed since?"
        spider.confirmed: set[str] = set()  # … and those confirmed within NIANBAO_RECHECK_AFTER: not asked
        recheck_after = timedelta(seconds=crawler.settings.getfloat("NIANBAO_RECHECK_AFTER"))
        spider.fresh_since = utcnow() - recheck_after
        crawler.signals.connect(spider.recheck_known, signal=signals.spider_idle)
        return spider

    async def start(self) -> AsyncIterator[Any]:
        catalog = Catalog(from_settings(self.crawler.settings).catalog)
        self.known = catalog.known_urls(sorted(self.sites))
        # Confirmed moments ago by a run that went to its end (a stopped one never reached the attachments).
        recent = {url: c for url, c in self.known.items() if c.fetched_at > self.fresh_since}
        finished = catalog.finished_runs(c.run_id for c in recent.values())
        self.confirmed = {url for url, c in recent.items() if c.run_id in finished}
        for site in self.sites.values():
            lists = list(site.report_lists)
            if not lists:  # discovered by an earlier crawl, or to be discovered from home now
                lists = catalog.discovered_lists(site.id)
                if not lists:
                    yield self._request(site, site.home, self.parse_home, kind="list", discovery_depth=0)
            for url in lists:
                yield self._request(site, url, self.parse_list, kind="list")

    # -- discovery --------------------------------------------------------------------------
    def parse_home(self, response: Response) -> Iterator[Any]:
        """Home or disclosure section: go to the annual-report columns, or one level deeper."""
        site, depth = self.sites[response.meta["site"]], response.meta["discovery_depth"]
        yield capture(response, "list")
        if unread := too_large_to_read(response):
            yield FetchFailure(site.id, response.url, unread, "list")
            return
        if not isinstance(response, TextResponse):
            return
        columns = discovery.report_columns(response)
        for url in columns:
            yield self._request(site, url, self.parse_column, kind="list", referrer=response.url)
        if not columns:
            sections = discovery.sections(response) if depth < 2 else []
            for url in sections:
                yield self._request(site, url, self.parse_home, kind="list", referrer=response.url,
                                    discovery_depth=depth + 1)
            if not sections and depth == 0:
                yield FetchFailure(site.id, response.url, "no annual-report column found from the home page", "list")

    def parse_column(self, response: Response) -> Iterator[Any]:
        """An annual-report column: remembered, read as a list, and its sub-columns followed."""
        site = self.sites[response.meta["site"]]
        yield FoundList(site.id, response.url)
        yield from self.parse_list(response)
        if isinstance(response, TextResponse):
            for url in discovery.sub_columns(response):
                yield self._request(site, url, self.parse_column, kind="list", referrer=response.url)

    # -- lists ------------------------------------------------------------------------------
    def parse_list(self, response: Response) -> Iterator[Any]:
        site = self.sites[response.meta["site"]]
        yield capture(response, "list")
        if unread := too_large_to_read(response):
            yield FetchFailure(site.id, response.url, unread, "list")
            return
        if response.meta.get("playwright"):
            self.crawler.stats.inc_value(f"nianbao/{site.id}/rendered")
        if not isinstance(response, TextResponse):
            yield FetchFailure(site.id, response.url, "list page is not text", "list")
            return
        try:
            listing = read_listing(response, self.hanweb_group, self.max_list_pages)
        except Exception as exc:  # a page no reader understands loses that page, not the crawl
            self.logger.exception("cannot read list page %s", response.url)
            yield FetchFailure(site.id, response.url, f"list page not understood: {type(exc).__name__}: {exc}", "list")
            return
        if problem := list_problem(response, listing):  # what it holds is lost unless someone is told
            yield FetchFailure(site.id, response.url, problem, "list")
        root = response.meta.get("list_root", response.url)
        candidates = 0
        for entry in listing.entries:
            verdict = classify(entry.title, county=site.name)
            if verdict.is_report or verdict.needs_full_title:
                bound = self._report_bound(root, candidates)
                if bound is not None:
                    if bound:  # "" once the list's bound was said
                        yield FetchFailure(site.id, response.url, bound, "list")
                    break
                candidates += 1
                self.list_reports[root] = self.list_reports.get(root, 0) + 1
                meta = {"list_title": entry.title, "verdict": verdict if verdict.is_report else None}
                yield self._request(site, entry.url, self.parse_report, kind="report", referrer=response.url,
                                    **meta)
        if needs_browser(response, listing, candidates):
            yield rendered(response)
            return
        if listing.claimed_pages and root not in self.claims_said:  # every page of the list claims it again
            self.claims_said.add(root)
            yield FetchFailure(site.id, response.url, f"list claims {listing.claimed_pages} pages: following at most "
                               f"{self.max_list_pages} (NIANBAO_MAX_LIST_PAGES)", "list")
        seen = self.list_pages.setdefault(site.id, set())
        for page in listing.pages:
            key = self.crawler.request_fingerprinter.fingerprint(page)  # two Hanweb columns POST to one URL
            if key in seen:  # every list page links its neighbours: count each page once
                continue
            if not self.scopes[site.id].allows(page.url):
                yield self._out_of_scope(site, page.url, "list")
                continue
            if len(seen) >= self.max_list_pages:
                yield FetchFailure(site.id, page.url, f"list pagination stopped after {self.max_list_pages} pages",
                                   "list")
                break
            if self._over_budget(site):
                yield self._budget_failure(site, page.url, "list")
                break
            seen.add(key)
            self.asked.add(page.url)
            # Fetched plainly, like the first page: a page that needs the browser goes there the same way.
            yield page.replace(callback=self.parse_list, errback=self.failed,
                               meta={**page.meta, "site": site.id, "kind": "list", "list_root": root,
                                     "dont_obey_robotstxt": not site.obey_robots})

    # -- reports ----------------------------------------------------------------------------
    def parse_report(self, response: Response) -> Iterator[Any]:
        site = self.sites[response.meta["site"]]
        title, verdict = response.meta["list_title"], response.meta["verdict"]  # verdict None: title cut short
        is_page = isinstance(response, TextResponse) and _is_html(response)
        if verdict is None or is_truncated(title):
            # The list cut the title short: the page (or the file's own name) has it in full.
            full_title = page_title(response) if is_page else filename_from(response)
            full = classify(full_title or "", county=site.name)
            if full.is_report:
                title, verdict = full_title, full
            elif verdict is None or (full_title and is_page):  # the page says it is not a report
                yield capture(response, "page", title=full_title)
                return
        yield capture(response, "report", title=title, year=verdict.year, agency=verdict.agency,
                      agency_kind=verdict.agency_kind)
        if is_page and (unread := too_large_to_read(response)):
            yield FetchFailure(site.id, response.url, unread, "report")
            return
        if not is_page:
            return
        for url, text in attachment_links(response).items():
            yield self._request(site, url, self.parse_attachment, kind="attachment", referrer=response.url,
                                link_text=text, report={"title": title, "year": verdict.year, "agency": verdict.agency,
                                        "agency_kind": verdict.agency_kind})

    def parse_attachment(self, response: Response) -> Iterator[Any]:
        prior = response.meta.get("nianbao_prior") if "revisit" in response.flags else None
        # A revisit is the body first archived: its name is the one recorded then, whatever the link says now.
        filename = prior.filename if prior else filename_from(response, response.meta.get("link_text", ""))
        yield capture(response, "attachment", filename=filename, **response.meta["report"])

    # -- what the lists no longer show ------------------------------------------------------
    def recheck_known(self) -> None:
        """Once the lists are done: ask after every report and attachment archived before that no list led to.

        A report dropped from its list may still be online (a revisit) or gone (404/410,
        recorded as such); either way the archive learns it, and its versions stay.
        """
        if getattr(self, "_rechecked", False):
            return
        self._rechecked = True
        pending = [c for url, c in self.known.items() if url == c.url and url not in self.asked
                   and c.kind in PARSED_KINDS and c.site in self.sites and url not in self.confirmed]
        for prior in pending:
            request = self._request(self.sites[prior.site], prior.url, self.parse_known, kind=prior.kind,
                                    referrer=prior.referrer)
            if isinstance(request, Request):
                self.crawler.engine.crawl(request)
            elif request is not None:  # no item can be sent from here: the run log says it
                self.logger.warning("not rechecked: %s: %s", request.reason, request.url,
                                    extra={"event": "failed", "site": request.site, "url": request.url,
                                           "reason": request.reason})
        if pending:
            raise DontCloseSpider

    def parse_known(self, response: Response) -> Iterator[Any]:
        yield capture(response, response.meta["kind"], **_facts(self.known[_requested(response.request)]))

    # -- plumbing ---------------------------------------------------------------------------
    def _request(self, site: Site, url: str, callback: Any, kind: str, referrer: str | None = None,
                 **meta: Any) -> Request | FetchFailure | None:
        if not self.scopes[site.id].allows(url):
            return self._out_of_scope(site, url, kind)
        if kind in PARSED_KINDS and url in self.confirmed:
            self.crawler.stats.inc_value("nianbao/fresh_skipped")  # confirmed moments ago (NIANBAO_RECHECK_AFTER)
            return None
        if self._over_budget(site):
            return self._budget_failure(site, url, kind)
        headers = {"Referer": referrer} if referrer else None
        self.asked.add(url)
        return Request(url, callback=callback, errback=self.failed, headers=headers,
                       meta={"site": site.id, "kind": kind, "dont_obey_robotstxt": not site.obey_robots, **meta})

    def _report_bound(self, root: str, on_page: int) -> str | None:
        """Why no more reports are followed from this page, if a bound is reached (a page of 100,000 links).

        The list's bound is said once, on the page that reached it (``""`` afterwards: stop, say nothing)."""
        if on_page >= self.max_reports_per_page:
            return f"more than {self.max_reports_per_page} report links on one list page: the rest not followed " \
                   "(NIANBAO_MAX_REPORTS_PER_PAGE)"
        followed = self.list_reports.get(root, 0)
        if followed > self.max_reports_per_list:
            return ""
        if followed == self.max_reports_per_list:
            self.list_reports[root] += 1  # past the bound from now on
            return f"more than {self.max_reports_per_list} report links in the list {root}: the rest not followed " \
                   "(NIANBAO_MAX_REPORTS_PER_LIST)"
        return None

    def _over_budget(self, site: Site) -> bool:
        """Counts a request for the site; True past NIANBAO_MAX_REQUESTS_PER_SITE (a trap nothing else caught)."""
        self.requests[site.id] = self.requests.get(site.id, 0) + 1
        return self.requests[site.id] > self.max_requests

    def _budget_failure(self, site: Site, url: str, kind: str) -> FetchFailure | None:
        if self.requests[site.id] != self.max_requests + 1:
            return None  # said once
        return FetchFailure(site.id, url, f"stopped: {self.max_requests} requests for this site "
                            "(NIANBAO_MAX_REQUESTS_PER_SITE)", kind)

    def _out_of_scope(self, site: Site, url: str, kind: str) -> FetchFailure | None:
        """Recorded once per URL: a mirror linked from every list page is one problem, not fifty."""
        if (site.id, url) in self.refused:
            return None  # Scrapy drops a None from a callback
        self.refused.add((site.id, url))
        return FetchFailure(site.id, url, "out of scope: not a host of this site", kind)

    def failed(self, failure: Failure) -> FetchFailure | Capture:
        request = failure.request
        prior = self.known.get(_requested(request))
        if prior and isinstance(failure.value, HttpError) and failure.value.response.status in GONE_STATUSES:
            return capture(failure.value.response, prior.kind, **_facts(prior))  # gone; its versions stay
        if (spooled := request.meta.pop(BODY_FILE, None)) is not None:  # an error page too large to hold
            spooled.close()
        # A redirect that went nowhere is the failure of the URL asked for, not of the last hop.
        redirected = isinstance(failure.value, RedirectLoop) or str(failure.value) == TOO_MANY_REDIRECTS
        url = _requested(request) if redirected else request.url
        return FetchFailure(request.meta["site"], url, failure_reason(failure), request.meta.get("kind"))


def capture(response: Response, kind: str, **facts: Any) -> Capture:
    request = response.request
    redirects = response.meta.get("redirect_urls") or []
    revisit = response.meta.get("nianbao_revisit") if "revisit" in response.flags else None  # 304: archived body
    return Capture(
        site=response.meta["site"],
        kind=kind,
        url=redirects[0] if redirects else request.url,
        final_url=response.url,
        method=request.method,
        status=304 if revisit else response.status,
        stored=revisit,
        headers=text_headers(response.headers), protocol=response.protocol,
        body=response.body,
        body_file=response.meta.get(BODY_FILE),
        size=response.meta["nianbao_prior"].size if revisit else None,
        fetched_at=utcnow(),
        content_type=(response.headers.get("Content-Type") or b"").decode("latin-1") or None,
        referrer=(request.headers.get("Referer") or b"").decode("latin-1") or None,
        **facts,
    )


def _requested(request: Request) -> str:
    """The URL the spider asked for, before any redirect."""
    return (request.meta.get("redirect_urls") or [request.url])[0]


def _facts(prior: CatalogCapture) -> dict[str, Any]:
    """What was known of an archived URL, for a capture made without its list (revisit or gone)."""
    return {name: getattr(prior, name) for name in ("title", "year", "agency", "agency_kind", "filename")}


def page_title(response: TextResponse) -> str | None:
    for selector in _TITLE_SELECTORS:
        text = " ".join(t.strip() for t in response.css(selector).getall() if t.strip())
        if text:
            return re.sub(r"\s*[-_|].{0,30}(政府|门户|网站)[^-_|]*$", "", text).strip()
    return None


def _is_html(response: TextResponse) -> bool:
    ctype = (response.headers.get("Content-Type") or b"").decode("latin-1").lower()
    return "html" in ctype or (not ctype and response.body.lstrip()[:1] == b"<")
