"""Crawler traps on one site: an endless pager, off-scope links and an oversize file; robots.txt on another.

Each trap is something a polite, bounded crawler must not follow (or not download whole); the test
of the crawler is the simulator's request log, so every trap is served and would show up there.
"""

from __future__ import annotations

import html
import random
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from .pages import SiteConfig, document, encode
from .plan import Entry
from .world import Distractor

if TYPE_CHECKING:
    from .world import Response, World

ENDLESS = "/news/list.html"
MIRROR_HOST = "www.mirror-example.com"
OVERSIZE_BYTES = 300 * 1024 * 1024
PRIVATE = "/private/"
INTERNAL_LINKS = ("http://127.0.0.1:8080/admin/", "http://169.254.169.254/latest/meta-data/")


def endless_pager(site: SiteConfig):
    """/news/list.html?page=N for every N ≥ 1: each page links page N+1 (and a day calendar) forever."""

    def handle(method: str, query: str, body: bytes) -> Response:
        try:
            n = max(1, int(parse_qs(query).get("page", ["1"])[0]))
        except ValueError:
            n = 1
        rows = "".join(f"<li>{site.name}工作动态（第{n}页第{k}条）</li>" for k in range(1, 11))
        days = "".join(f'<a href="{ENDLESS}?page={n}&amp;day={d}">{d}</a>' for d in range(1, 8))
        main = (f'<div class="list-title">工作动态</div><ul class="list">{rows}</ul><div class="calendar">{days}</div>'
                f'<div class="pagination"><a href="{ENDLESS}?page={max(1, n - 1)}">上一页</a>'
                f'<span class="current">{n}</span><a href="{ENDLESS}?page={n + 1}">下一页</a></div>')
        return 200, {"Content-Type": "text/html; charset=utf-8"}, encode(site, document(site, "工作动态", main))[0]

    return handle


def arm(site: SiteConfig, entries: list[Entry], world: World, rng: random.Random) -> tuple[Entry, str]:
    """Before the site is built: links to the endless pager and the mirror under every list page, the
    internal-address links and the oversize scan inside one report.  Returns (that report, mirror URL)."""
    report = next(e for e in entries if e.kind == "report" and not e.direct_pdf and e.agency_kind == "county")
    mirror = f"http://{MIRROR_HOST}/gov/{site.id}/{rng.randint(100000, 999999)}.html"
    site.list_footer = (f'<div class="more"><a href="{ENDLESS}?page=1">更多工作动态</a></div>\n'
                        f'<div class="links">转载：<a href="{mirror}">{html.escape(report.title)}</a></div>\n')
    big = site.url(f"/uploadfiles/scan/{rng.getrandbits(64):016x}.pdf")
    report.body += (f'\n<p>内网预览：<a href="{INTERNAL_LINKS[0]}">后台预览</a>　'
                    f'<a href="{INTERNAL_LINKS[1]}">元数据</a></p>\n'
                    f'<p>附件：<a href="{big}">{html.escape(report.title)}（扫描件）.pdf</a></p>')
    world.add_lazy(big, OVERSIZE_BYTES, "application/pdf")
    world.add_handler(site.host, ENDLESS, endless_pager(site))
    return report, mirror


def serve_mirror(site: SiteConfig, report: Entry, mirror: str, world: World) -> None:
    """After the site is built: the mirror (a copy of the report's page on a non-gov host) is a distractor."""
    copy = world.resolve("GET", report.url)[2]
    world.add(mirror, copy, "text/html; charset=utf-8" if site.encoding == "utf-8" else "text/html")
    world.distractors.append(Distractor(mirror, site.id, report.title, "mirror"))


def robots(site: SiteConfig, entries: list[Entry], world: World, rng: random.Random) -> None:
    """robots.txt disallows /private/, where a report-like draft is linked from every list page."""
    world.add(site.url("/robots.txt"), f"User-agent: *\nDisallow: {PRIVATE}\n".encode(), "text/plain")
    year = max(e.year for e in entries if e.kind == "report" and e.year)
    title = f"{site.name}人民政府{year}年政府信息公开工作年度报告（内部审核稿）"
    url = site.url(f"{PRIVATE}xxgknb/{rng.randint(100000, 999999)}.html")
    main = (f'<h1 class="title">{html.escape(title)}</h1><div id="content"><p style="text-indent:2em;">'
            f"本稿为内部审核稿，请勿转载。</p></div>")
    world.add(url, *encode(site, document(site, title, main)))
    world.distractors.append(Distractor(url, site.id, title, "robots"))
    site.list_footer = f'<div class="links"><a href="{url}">{html.escape(title)}</a></div>\n'
