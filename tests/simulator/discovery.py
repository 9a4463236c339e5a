"""A site the crawler must explore: its registry entry has no report_lists.

Home → 政府信息公开 (/zwgk/index.html) → the annual-report column (/zwgk/xxgknb/index.html, named one
of 政府信息公开年报 / 信息公开年报 / 年度报告) → sub-columns per year (/zwgk/xxgknb/2023nb/index.html: the
county government's report of that year and its 解读) and per kind of agency (/zwgk/xxgknb/bmnb/ 部门,
/zwgk/xxgknb/xzjd/ 乡镇街道).  The same 政务公开 page links /zwgk/zfgzbg/ as 政府工作报告 — a trap, since
`zfgzbg` is the annual report's slug elsewhere — and a 通知公告 column with the other near misses.
No page's nav links the report columns directly; every list is an ordinary HTML list with a pager.
"""

from __future__ import annotations

import html
import random
from typing import TYPE_CHECKING

from . import html_portal
from .files import FileFactory
from .pages import Column, SiteConfig, document, encode
from .plan import YEARS, Entry

if TYPE_CHECKING:
    from .world import World

REPORT_NAMES = ("政府信息公开年报", "信息公开年报", "年度报告")


def build(site: SiteConfig, entries: list[Entry], world: World, files: FileFactory, rng: random.Random) -> None:
    top = rng.choice(REPORT_NAMES)
    years = sorted({e.year for e in entries if e.kind == "report" and e.year} | set(YEARS), reverse=True)
    cols = [Column(site.url(f"/zwgk/xxgknb/{y}nb/index.html"), f"/zwgk/xxgknb/{y}nb/", f"{y}年度") for y in years]
    cols += [Column(site.url("/zwgk/xxgknb/bmnb/index.html"), "/zwgk/xxgknb/bmnb/", "部门"),
             Column(site.url("/zwgk/xxgknb/xzjd/index.html"), "/zwgk/xxgknb/xzjd/", "乡镇街道"),
             Column(site.url("/zwgk/zfgzbg/index.html"), "/zwgk/zfgzbg/", "政府工作报告"),
             Column(site.url("/zwgk/tzgg/index.html"), "/zwgk/tzgg/", "通知公告")]
    by_name = {c.name: k for k, c in enumerate(cols)}
    for e in entries:
        if e.kind == "report" and e.agency_kind == "department":
            e.column = by_name["部门"]
        elif e.kind == "report" and e.agency_kind == "township":
            e.column = by_name["乡镇街道"]
        elif e.kind in ("report", "interpretation", "infographic"):
            e.column = by_name[f"{e.year}年度"]
        elif e.kind == "work_report":
            e.column = by_name["政府工作报告"]
        else:
            e.column = by_name["通知公告"]
    site.columns = cols
    site.nav = [(site.home, "首页"), ("/zwgk/index.html", "政务公开"), ("/hdjl/index.html", "互动交流")]
    site.per_page = 12
    html_portal.build(site, entries, world, files, rng, home=False)

    def page(title: str, links: list[tuple[str, str]]) -> tuple[bytes, str]:
        items = "".join(f'<li><a href="{href}">{html.escape(text)}</a></li>' for href, text in links)
        return encode(site, document(site, title, f'<div class="list-title">{title}</div><ul class="col">{items}</ul>'))

    sub = [(c.list_url, c.name) for c in cols[: len(years) + 2]]
    world.add(site.url("/zwgk/xxgknb/index.html"), *page(top, sub))
    world.add(site.url("/zwgk/index.html"), *page("政府信息公开", [
        ("/zwgk/zcwj/index.html", "政策文件"), ("/zwgk/xxgknb/index.html", top),
        ("/zwgk/zfgzbg/index.html", "政府工作报告"), ("/zwgk/tzgg/index.html", "通知公告"),
        ("/zwgk/xxgkzn/index.html", "政府信息公开指南")]))
    home = encode(site, document(site, "首页", '<h2>政务公开</h2><p><a href="/zwgk/index.html">政府信息公开</a></p>'
                                              '<p><a href="/xwzx/index.html">新闻中心</a></p>'))
    world.add(site.home, *home)
    world.add(site.url("/index.html"), *home, listed=False)
