"""Which pages need a browser, and what the browser brings back from a script-rendered list.

Such a page comes back from a plain fetch with an empty container and a script that fetches the
entries (fetch, XMLHttpRequest, jQuery.ajax, axios) or draws them from data of its own. Only then
is the page fetched again in Chromium; a list with entries of its own never is. While it renders,
the JSON answers the page fetched are kept (a few, bounded in size): when one lists the entries,
the rest of the list is that API's pages, asked for plainly like gkmlpt's — one browser pass per
list. Otherwise the page is driven — 下一页, 加载更多 or the next page number clicked, the page
scrolled — until no new entries appear or a bound is reached (the reason recorded); every link seen
on the way is put back on the page, so the ordinary readers see them all.
"""

from __future__ import annotations

import re
import time
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page
from playwright.async_api import Response as PageResponse
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import TextResponse
from scrapy_playwright.page import PageMethod

from crawler.downloadermiddlewares.revisit import unconditional
from crawler.listings import Listing
from crawler.listings.api import lists_entries, pageable
from crawler.titles import classify

#: A script that fetches entries, or one that draws them into the page (from data of its own).
_LOADS_DATA = re.compile(rb"fetch\s*\(|XMLHttpRequest|\$\.(ajax|get|getJSON|post)\s*\(|axios\.|\.load\s*\("
                         rb"|createElement\s*\(|\.innerHTML\s*[+]?=|insertAdjacentHTML|\.append(Child)?\s*\(")
_COLUMN = re.compile(r"(/|/index\.s?html?|/index\.(jsp|aspx?|php))$")
#: Request headers an API may insist on, repeated on the plain requests for its pages.
_KEPT_HEADERS = ("content-type", "x-requested-with", "accept")
_DRIVER = "nianbao_script_list"

# Every link on the page, as (absolute href, title attribute, text).
_ANCHORS = """() => Array.from(document.querySelectorAll("a[href]"),
  a => [a.href, a.getAttribute("title") || "", (a.textContent || "").trim()])"""
_MARK = """() => {
  window.__nianbaoBefore = Array.from(document.querySelectorAll("a[href]"), a => a.href).join("\\n"); }"""
_CHANGED = """() => window.__nianbaoBefore === undefined
  || Array.from(document.querySelectorAll("a[href]"), a => a.href).join("\\n") !== window.__nianbaoBefore"""
# Click the control that shows more entries without leaving the page: 下一页 (a javascript:; link with
# data-p, an onclick="goPage(3)" span, a button), 加载更多, else the next page number. Links that
# navigate are the spider's to follow. Returns the control's label, "" when there is none.
_CLICK = r"""(pageNo) => {
  const NEXT = /^(下一?页|后一?页|下页|next|›|»|>|>>|→)$/i;
  const MORE = /^((点击)?(加载|查看|显示)更多(内容)?|点击加载|更多|(load|show) ?more|more)$/i;
  const clean = s => { const t = (s || "").replace(/[\s\u3000]+/g, "");
    return t.replace(/[\[\]【】《》<>«»‹›]+/g, "") || t; };
  const label = el => clean(el.tagName === "INPUT" ? el.value : el.textContent);
  const navigates = el => { const a = el.closest("a[href]"); if (!a) return false;
    const h = (a.getAttribute("href") || "").trim();
    return !(h === "" || h.startsWith("#") || /^javascript:/i.test(h)); };
  const usable = el => el.getClientRects().length > 0 && !navigates(el)
    && !el.closest("[disabled], [class*=disable], [aria-disabled=true]");
  const tags = "a, button, input[type=button], input[type=submit], span, li, div, em, i, b, font, p, label";
  const all = Array.from(document.querySelectorAll(tags))
    .filter(el => { const t = label(el); return t.length > 0 && t.length <= 12; });
  const leaves = all.filter(el => !Array.from(el.children).some(c => label(c) === label(el)));
  const pick = test => leaves.find(el => test(label(el)) && usable(el));
  const el = pick(t => NEXT.test(t)) || pick(t => MORE.test(t)) || pick(t => t === String(pageNo + 1));
  if (!el) return "";
  el.scrollIntoView({block: "center"});
  el.click();
  return label(el) || el.tagName;
}"""
_SCROLL = """() => { const root = document.scrollingElement || document.documentElement;
  if (root.scrollHeight <= window.innerHeight + window.scrollY + 2) return false;
  window.scrollTo(0, root.scrollHeight); return true; }"""
_PUT_BACK = """(kept) => { const here = new Set(Array.from(document.querySelectorAll("a[href]"), a => a.href));
  const box = document.createElement("div"); box.id = "nianbao-seen"; box.hidden = true;
  for (const [href, title, text] of kept) { if (here.has(href)) continue;
    const a = document.createElement("a"); a.href = href; if (title) a.title = title;
    a.textContent = text; box.appendChild(a); }
  document.body.appendChild(box); }"""


def needs_browser(response: TextResponse, listing: Listing, candidates: int) -> bool:
    """``candidates``: the report links followed from the page. Links to columns (the list itself, named
    政府信息公开年报 in the menu) may be among them: an empty list with a menu is still empty."""
    if listing.platform == "api":  # data, not a page: nothing there runs
        return False
    columns = sum(1 for e in listing.entries if (e.url == response.url or _COLUMN.search(urlsplit(e.url).path))
                  and _followed(e.title))
    if response.meta.get("playwright") or candidates > columns or listing.pages:
        return False
    scripts = b" ".join(s.encode() for s in response.xpath("//script[not(@src)]/text()").getall())
    return bool(_LOADS_DATA.search(scripts))


def _followed(title: str) -> bool:
    verdict = classify(title)
    return verdict.is_report or verdict.needs_full_title


@dataclass(frozen=True)
class Answer:
    """A JSON answer the page fetched that lists entries: the request to repeat plainly, and what it listed."""

    url: str
    method: str
    body: bytes | None
    headers: dict[str, str]
    titles: list[str]

    def request(self, **kwargs: Any) -> Request:
        return Request(self.url, method=self.method, body=self.body, headers=self.headers, **kwargs)


@dataclass
class Recording:
    """What one browser pass of a list saw: the page's JSON answers, and why driving it stopped short."""

    max_answers: int
    max_answer_size: int
    pending: list[PageResponse] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)
    steps: int = 0
    stopped: str | None = None

    def on_response(self, response: PageResponse) -> None:
        if response.request.resource_type in ("fetch", "xhr") and len(self.pending) < self.max_answers:
            self.pending.append(response)

    async def read_answers(self) -> None:
        for response in self.pending:
            declared = response.headers.get("content-length", "0")
            if not declared.isdigit() or int(declared) > self.max_answer_size:
                continue
            try:
                body = await response.body()
            except PlaywrightError:  # gone with a redirect, or the page navigated
                continue
            if len(body) > self.max_answer_size or body.lstrip()[:1] not in (b"{", b"["):
                continue
            if entries := lists_entries(body):
                request = response.request
                headers = {k: v for k, v in (await request.all_headers()).items() if k in _KEPT_HEADERS}
                answer = Answer(request.url, request.method, request.post_data_buffer, headers,
                                [e.title for e in entries])
                if pageable(answer.request()):  # else its other pages cannot be asked for: drive the page
                    self.answers.append(answer)
        self.pending.clear()


class ScriptLists:
    """How far a browser pass goes: the bounds from settings (NIANBAO_SCRIPT_PAGER_*, NIANBAO_MAX_LIST_PAGES)."""

    def __init__(self, max_steps: int, timeout: float, wait: float, max_answers: int, max_answer_size: int) -> None:
        self.max_steps, self.timeout, self.wait = max_steps, timeout, wait
        self.max_answers, self.max_answer_size = max_answers, max_answer_size

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> ScriptLists:
        s = crawler.settings
        return cls(s.getint("NIANBAO_MAX_LIST_PAGES"), s.getfloat("NIANBAO_SCRIPT_PAGER_TIMEOUT"),
                   s.getfloat("NIANBAO_SCRIPT_PAGER_WAIT"), s.getint("NIANBAO_SCRIPT_PAGER_ANSWERS"),
                   s.getint("NIANBAO_SCRIPT_PAGER_ANSWER_SIZE"))

    def rendered(self, response: TextResponse) -> Request:
        """The same request, fetched in the browser until the script has added links, its answers recorded."""
        recording = Recording(self.max_answers, self.max_answer_size)
        links = len(response.xpath("//a[@href]"))
        return unconditional(response.request, playwright=True,  # what the archive held was the empty shell
                             playwright_page_event_handlers={"response": recording.on_response},
                             playwright_page_methods=[PageMethod(self._render, recording, links)],
                             **{_DRIVER: recording}).replace(dont_filter=True)

    async def _render(self, page: Page, recording: Recording, links: int) -> None:
        await page.wait_for_function(f"() => document.querySelectorAll('a[href]').length > {links}", timeout=30_000)
        with suppress(PlaywrightError):  # answers still arriving (a second list, its count)
            await page.wait_for_load_state("networkidle", timeout=self.wait * 1000)
        await recording.read_answers()
        if not recording.answers:
            await self._drive(page, recording)

    async def _drive(self, page: Page, recording: Recording) -> None:
        kept: dict[tuple[str, str, str], None] = {}
        deadline = time.monotonic() + self.timeout
        fresh = await _collect(page, kept)
        while fresh:
            if recording.steps >= self.max_steps or time.monotonic() >= deadline:
                bound = f"{self.max_steps} steps (NIANBAO_MAX_LIST_PAGES)" if recording.steps >= self.max_steps \
                    else f"{self.timeout:g} s (NIANBAO_SCRIPT_PAGER_TIMEOUT)"
                recording.stopped = f"script pager still showing new entries after {recording.steps} clicks or " \
                                    f"scrolls: stopped at {bound}"
                break
            recording.steps += 1
            fresh = 0
            for action, arg in ((_CLICK, recording.steps), (_SCROLL, None)):
                if await _step(page, action, arg, self.wait):
                    fresh = await _collect(page, kept)
                    if fresh:
                        break
        with suppress(PlaywrightError):
            await page.evaluate(_PUT_BACK, list(kept))


async def _step(page: Page, action: str, arg: Any, wait: float) -> bool:
    """One click or scroll; True when it did something and the links changed within ``wait`` seconds."""
    try:
        await page.evaluate(_MARK)
        if not await page.evaluate(action, arg):
            return False
        await page.wait_for_function(_CHANGED, timeout=wait * 1000)
        return True
    except PlaywrightError:  # nothing changed in time, or the page went elsewhere
        return False


async def _collect(page: Page, kept: dict[tuple[str, str, str], None]) -> int:
    """Adds the page's links to ``kept``; how many were new."""
    try:
        await page.wait_for_load_state("load")
        anchors = await page.evaluate(_ANCHORS)
    except PlaywrightError:
        return 0
    before = len(kept)
    kept.update((tuple(a), None) for a in anchors)
    return len(kept) - before


def script_list(response: TextResponse, listing: Listing) -> str | None:
    """A rendered list's rest: its data API's pages (replacing the rendered pager's, which would each need
    the browser), asked for plainly. Returns why driving the page stopped short, if it did."""
    recording: Recording | None = response.meta.get(_DRIVER)
    if recording is None:
        return None
    answers = recording.answers
    reports = [a for a in answers if any(_followed(t) for t in a.titles)]
    if answers:
        listing.pages = [a.request(meta={"list_document": response.url}) for a in reports or answers]
        for page in listing.pages:
            page.headers["Referer"] = response.url
    return recording.stopped
