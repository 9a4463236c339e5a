"""Ordinary HTML portal: <ul><li><a title>…</a><span>date</span></li></ul> lists with a real <a> pager.

Pagination is either `index_2.html` files or `index.html?page=2`; the pager shows 首页/上一页/下一页/尾页 and a
window of page numbers, like the static-site generators many county portals use.
"""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING

from .files import CONTENT_TYPES, FileFactory
from .pages import Column, SiteConfig, article, document, encode, home_page, list_item, root_href
from .plan import Entry

if TYPE_CHECKING:
    from .world import World


def _page_href(site: SiteConfig, k: int) -> str:
    """Relative link to list page k (1-based), as the pager writes it."""
    if site.pager == "query":
        return f"?page={k}"
    return "index.html" if k == 1 else f"index_{k}.html"


def _page_url(site: SiteConfig, col: Column, k: int) -> str:
    if k == 1:
        return col.list_url
    return col.list_url + f"?page={k}" if site.pager == "query" else site.url(f"{col.base}index_{k}.html")


def _pager(site: SiteConfig, k: int, n: int) -> str:
    def link(i: int, text: str) -> str:
        return f'<a href="{_page_href(site, i)}">{text}</a>'

    numbers = [f'<span class="current">{i}</span>' if i == k else link(i, str(i))
               for i in range(max(1, k - 4), min(n, k + 4) + 1)]
    prev = link(k - 1, "上一页") if k > 1 else '<span class="disabled">上一页</span>'
    nxt = link(k + 1, "下一页") if k < n else '<span class="disabled">下一页</span>'
    return (f'<div class="pagination"><span>共{n}页</span>{link(1, "首页")}{prev}{"".join(numbers)}'
            f'{nxt}{link(n, "尾页")}</div>')


def _file_url(site: SiteConfig, e: Entry, ext: str, rng: random.Random) -> str:
    return site.url(f"/uploadfiles/{e.published:%Y%m}/{rng.getrandbits(64):016x}.{ext}")


def build(site: SiteConfig, entries: list[Entry], world: World, files: FileFactory, rng: random.Random) -> None:
    used: set[int] = set()
    for e in entries:  # URLs first: 解读 pages link their report
        if e.direct_pdf:
            e.url = _file_url(site, e, "pdf", rng)
            continue
        art_id = rng.randint(100000, 999999)
        while art_id in used:
            art_id += 1
        used.add(art_id)
        base = site.columns[e.column].base
        e.url = site.url(f"{base}{e.published:%Y%m}/{art_id}.shtml" if site.pager == "index_n"
                         else f"/html/{e.published:%Y/%m%d}/{art_id}.html")
    for e in entries:
        if e.direct_pdf:
            body = files.make("pdf", e.title, e.year, e.url)
            world.plant(site.id, e, world.add(e.url, body, CONTENT_TYPES["pdf"]))
            continue
        inline, listed = [], []
        for att in e.attachments:
            url = _file_url(site, e, att.ext, rng)
            sha = world.add(url, files.make(att.ext, e.title, e.year, url), CONTENT_TYPES[att.ext])
            world.plant_attachment(url, e.url, sha, att.filename)
            (inline if att.embedded else listed).append((root_href(site, url), att.filename))
        markup = article(site, e, '<div class="article-content" id="content">', metas=False,
                         inline=inline, listed=listed)
        world.plant(site.id, e, world.add(e.url, *encode(site, markup)))
    for c, col in enumerate(site.columns):
        items = sorted((e for e in entries if e.column == c), key=lambda e: e.published, reverse=True)
        n = max(1, math.ceil(len(items) / site.per_page))
        for k in range(1, n + 1):
            chunk = items[(k - 1) * site.per_page: k * site.per_page]
            rows = "\n".join(list_item(root_href(site, e.url), e) for e in chunk)
            main = f'<div class="list-title">{col.name}</div>\n<ul class="list">\n{rows}\n</ul>\n{_pager(site, k, n)}'
            body, ctype = encode(site, document(site, col.name, main))
            world.add(_page_url(site, col, k), body, ctype)
            if k == 1:
                world.add(site.url(col.base), body, ctype, listed=False)
                if site.pager == "query":
                    world.add(col.list_url + "?page=1", body, ctype, listed=False)
    body, ctype = encode(site, home_page(site))
    world.add(site.home, body, ctype)
    world.add(site.url("/index.html"), body, ctype, listed=False)
