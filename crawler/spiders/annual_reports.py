"""The ``annual_reports`` spider: from each site's report lists to every report and attachment.

Lists are read page by page to their end; each entry is judged by its title, then by its own text
(crawler.judge: a page that is no report is kept as a ``page``, with why); reports are fetched with
every attachment they link. Every body fetched — list pages too — is yielded as a Capture for the
archive pipeline; every failure as a FetchFailure.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from functools import cached_property
from typing import Any

from scrapy import Request, Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import DontCloseSpider
from scrapy.http import Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from archive.catalog import GONE_STATUSES, PARSED_KINDS, utcnow
from archive.catalog import Capture as CatalogCapture
from crawler import discovery
from crawler.attachments import filename_from
from crawler.downloadermiddlewares.redirectloop import RedirectLoop
from crawler.downloadhandlers.http import BODY_FILE
from crawler.extensions.archive import Archive
from crawler.extensions.documents import DocumentReaders, DocumentUnread
from crawler.failures import TOO_MANY_REDIRECTS, failure_reason, list_problem, too_large_to_read
from crawler.items import Capture, FetchFailure, FoundList, text_headers
from crawler.judge import judge
from crawler.listings import read_listing
from crawler.registry import RegistryError, Site, load_registry
from crawler.rendering import ScriptLists, needs_browser, script_list
from crawler.reportdoc import Fetched, Judged, Task, by_title, judged
from crawler.scope import Scope
from nianbao.config import internal_addresses_allowed


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
        spider.script_lists = ScriptLists.from_crawler(crawler)  # how far a browser pass of a list goes
        spider.max_reports_per_page = crawler.settings.getint("NIANBAO_MAX_REPORTS_PER_PAGE")
        spider.max_reports_per_list = crawler.settings.getint("NIANBAO_MAX_REPORTS_PER_LIST")
        spider.list_reports: dict[str, int] = {}  # report candidates followed per list (by its first page)
        spider.claims_said: set[str] = set()  # lists whose claimed page count was more than is followed
        spider.asked: set[str] = set()  # URLs requested in this crawl
        crawler.signals.connect(spider.recheck_known, signal=signals.spider_idle)
        return spider

    @cached_property
    def archive(self) -> Archive | None:
        """What the archive holds of these sites (known URLs, when each is due): crawler.extensions.archive
        (None only for a spider driven without its crawl's extensions, as unit tests do)."""
        return self.crawler.get_extension(Archive)

    @cached_property
    def readers(self) -> DocumentReaders:
        """Where fetched documents are read and judged: worker processes (crawler.extensions.documents), or
        for a spider driven without its crawl's extensions a thread."""
        return self.crawler.get_extension(DocumentReaders) or DocumentReaders(self.crawler, 0, 1, 0.0)

    async def start(self) -> AsyncIterator[Any]:
        for site in self.sites.values():
            lists = list(site.report_lists)
            if not lists:  # discovered by an earlier crawl, or to be discovered from home now
                lists = self.archive.catalog.discovered_lists(site.id)
                if not lists:
                    yield self._request(site, site.home, self.parse_home, kind="list", discovery_depth=0)
            for url in lists:  # a list is a column: its sub-columns (per year, per agency) are followed
                yield self._request(site, url, self.parse_column, kind="list", column_depth=0)

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
            yield self._request(site, url, self.parse_column, kind="list", referrer=response.url, column_depth=0)
        if not columns:
            sections = discovery.sections(response) if depth < 2 else []
            for url in sections:
                yield self._request(site, url, self.parse_home, kind="list", referrer=response.url,
                                    discovery_depth=depth + 1)
            if not sections and depth == 0:
                yield FetchFailure(site.id, response.url, "no annual-report column found from the home page", "list")

    def parse_column(self, response: Response) -> Iterator[Any]:
        """An annual-report column: read as a list, its sub-columns followed (NIANBAO_SUB_COLUMN_DEPTH levels).

        Found by discovery, it is remembered: the next crawl starts there (a site with ``report_lists``
        starts from those every time, so nothing of it is remembered)."""
        site, depth = self.sites[response.meta["site"]], response.meta.get("column_depth", 0)
        if not site.report_lists:
            yield FoundList(site.id, response.url)
        yield from self.parse_list(response)
        if isinstance(response, TextResponse) and depth < self.settings.getint("NIANBAO_SUB_COLUMN_DEPTH"):
            for url in discovery.sub_columns(response):
                yield self._request(site, url, self.parse_column, kind="list", referrer=response.url,
                                    column_depth=depth + 1)

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
        if stopped := script_list(response, listing):  # rendered: the rest is its data API's pages, or was driven
            yield FetchFailure(site.id, response.url, stopped, "list")
        root = response.meta.get("list_root", response.url)
        candidates = 0
        for entry in listing.entries:
            if entry.url in (response.url, root):  # the menu's link back to the list, named like a report
                continue
            if judge(entry.title, site.name).worth_fetching:  # recall first: the page or file decides (parse_report)
                bound = self._report_bound(root, candidates)
                if bound is not None:
                    if bound:  # "" once the list's bound was said
                        yield FetchFailure(site.id, response.url, bound, "list")
                    break
                candidates += 1
                self.list_reports[root] = self.list_reports.get(root, 0) + 1
                yield self._request(site, entry.url, self.parse_report, kind="report", referrer=response.url,
                                    list_title=entry.title)
        if needs_browser(response, listing, candidates):
            yield self.script_lists.rendered(response)
            return
        if listing.claimed_pages and root not in self.claims_said:  # every page of the list claims it again
            self.claims_said.add(root)
            yield FetchFailure(site.id, response.url, f"list claims {listing.claimed_pages} pages: following at most "
                               f"{self.max_list_pages} (NIANBAO_MAX_LIST_PAGES)", "list")
        for page in listing.pages:  # scope, NIANBAO_MAX_LIST_PAGES and the budget: crawler/spidermiddlewares
            self.asked.add(page.url)
            # Fetched plainly, like the first page: a page that needs the browser goes there the same way.
            yield page.replace(callback=self.parse_list, errback=self.failed,
                               meta={**page.meta, "site": site.id, "kind": "list", "list_root": root,
                                     "dont_obey_robotstxt": not site.obey_robots})

    # -- reports ----------------------------------------------------------------------------
    async def parse_report(self, response: Response) -> AsyncIterator[Any]:
        """Judged by its title and its own text (crawler.judge): a page that is no report is kept as a page."""
        site = self.sites[response.meta["site"]]
        is_page = isinstance(response, TextResponse) and _is_html(response)
        unread = too_large_to_read(response)
        task = self._task(response, response.meta["list_title"], site, is_page=is_page)
        read = by_title(task) if unread else await self._judged(task)
        found = read.judgement
        facts = {"title": read.title, "year": found.year, "agency": found.agency, "agency_kind": found.agency_kind,
                 "year_source": found.year_source}
        kind = found.kind if read.read else "report" if found.is_report else "page"
        yield capture(response, kind, judgement=found.why, **facts)
        if is_page and unread:
            yield FetchFailure(site.id, response.url, unread, "report")
            return
        if kind != "report":
            return
        for url, text in read.links.items():
            yield self._request(site, url, self.parse_attachment, kind="attachment", referrer=response.url,
                                link_text=text, report=facts)

    async def parse_attachment(self, response: Response) -> AsyncIterator[Any]:
        prior = response.meta.get("nianbao_prior") if "revisit" in response.flags else None
        # A revisit is the body first archived: its name is the one recorded then, whatever the link says now.
        filename = prior.filename if prior else filename_from(response, response.meta.get("link_text", ""))
        facts = dict(response.meta["report"])
        task = self._task(response, facts["title"] or filename or "", self.sites[response.meta["site"]],
                          filename=filename)
        # A body too large to hold is b"" here (it is in a file): no text, as a scan has none, judged here.
        found = (judged(task) if too_large_to_read(response) else await self._judged(task)).judgement
        if facts.get("year") is None and found.year_source == "document":  # the report's year is in its file
            facts.update(year=found.year, year_source="document")
        yield capture(response, "attachment", filename=filename, judgement=found.why, **facts)

    def _task(self, response: Response, title: str, site: Site, **how: Any) -> Task:
        return Task(Fetched.of(response), title, site.name, self.settings.getint("NIANBAO_REPORT_MIN_MARKERS"), **how)

    async def _judged(self, task: Task) -> Judged:
        try:
            return await self.readers.read(judged, task, task.fetched.url)
        except DocumentUnread as exc:
            return by_title(task, str(exc))

    # -- what the lists no longer show ------------------------------------------------------
    def recheck_known(self) -> None:
        """Once the lists are done: ask after every report and attachment archived before that no list led to.

        A report dropped from its list may still be online (a revisit) or gone (404/410,
        recorded as such); either way the archive learns it, and its versions stay.
        """
        if getattr(self, "_rechecked", False):
            return
        self._rechecked = True
        pending = [c for url, c in self.archive.known.items() if url == c.url and url not in self.asked
                   and c.kind in PARSED_KINDS and c.site in self.sites and self.archive.due(url)]
        for prior in pending:
            # Straight to the engine, past the spider middlewares: crawler.downloadermiddlewares.scope judges them.
            request = self._request(self.sites[prior.site], prior.url, self.parse_known, kind=prior.kind,
                                    referrer=prior.referrer)
            if request is not None:
                self.crawler.engine.crawl(request)
        if pending:
            raise DontCloseSpider

    def parse_known(self, response: Response) -> Iterator[Any]:
        yield capture(response, response.meta["kind"], **_facts(self.archive.known[_requested(response.request)]))

    # -- plumbing ---------------------------------------------------------------------------
    def _request(self, site: Site, url: str, callback: Any, kind: str, referrer: str | None = None,
                 **meta: Any) -> Request | None:
        """A request for the site (scope and budget are the spider middlewares'); None: archived, not due yet."""
        if kind != "list" and self.archive is not None and not self.archive.due(url):
            self.crawler.stats.inc_value("nianbao/fresh_skipped")  # its next check is later (the check schedule)
            return None
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

    def failed(self, failure: Failure) -> FetchFailure | Capture:
        request = failure.request
        prior = self.archive.known.get(_requested(request)) if self.archive else None
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
        replayed="replayed" in response.flags,
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
    return {name: getattr(prior, name) for name in ("title", "year", "year_source", "agency", "agency_kind", "filename",
                                                "judgement")}


def _is_html(response: TextResponse) -> bool:
    ctype = (response.headers.get("Content-Type") or b"").decode("latin-1").lower()
    return "html" in ctype or (not ctype and response.body.lstrip()[:1] == b"<")
