"""Ordinary HTML portal: <ul><li><a title>…</a><span>date</span></li></ul> lists with a real <a> pager.

Pagination is either `index_2.html` files or `index.html?page=2`; the pager shows 首页/上一页/下一页/尾页 and a
window of page numbers, like the static-site generators many county portals use.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
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


# Where a file goes: (entry, ext, file name) -> (url, extra headers, content type, link text).
FilePlacer = Callable[[Entry, str, str], tuple[str, dict[str, str], str, str]]


def default_placer(site: SiteConfig, rng: random.Random) -> FilePlacer:
    """Files under /uploadfiles/ on the site's host, linked by their name."""

    def place(e: Entry, ext: str, name: str) -> tuple[str, dict[str, str], str, str]:
        return _file_url(site, e, ext, rng), {}, CONTENT_TYPES[ext], name

    return place


def build(site: SiteConfig, entries: list[Entry], world: World, files: FileFactory, rng: random.Random,
          place: FilePlacer | None = None, home: bool = True) -> None:
    """Lists, articles and files of `entries`; `place` puts files elsewhere, `home=False` leaves / to the caller."""
    place = place or default_placer(site, rng)
    used: set[int] = set()
    pdf_headers: dict[str, tuple[dict[str, str], str]] = {}
    for e in entries:  # URLs first: 解读 pages link their report
        if e.direct_pdf:
            e.url, headers, ctype, _ = place(e, "pdf", f"{e.title}.pdf")
            pdf_headers[e.url] = headers, ctype
            continue
        art_id = rng.randint(100000, 999999)
        while art_id in used:
            art_id += 1
        used.add(art_id)
        base = site.columns[e.column].base
        e.url = site.url(site.article_path.format(id=art_id) if site.article_path
                         else f"{base}{e.published:%Y%m}/{art_id}.shtml" if site.pager == "index_n"
                         else f"/html/{e.published:%Y/%m%d}/{art_id}.html")
    for e in entries:
        if e.direct_pdf:
            body = files.make("pdf", e.title, e.year, e.url, e.report)
            headers, ctype = pdf_headers[e.url]
            world.plant(site.id, e, world.add(e.url, body, ctype, headers))
            continue
        inline, listed = [], []
        for att in e.attachments:
            url, headers, ctype, text = place(e, att.ext, att.filename)
            sha = world.add(url, files.make(att.ext, e.title, e.year, url, e.report), ctype, headers)
            world.plant_attachment(url, e.url, sha, att.filename)
            (inline if att.embedded else listed).append((root_href(site, url), text))
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
            main += site.list_footer
            body, ctype = encode(site, document(site, col.name, main))
            world.add(_page_url(site, col, k), body, ctype)
            if k == 1:
                world.add(site.url(col.base), body, ctype, listed=False)
                if site.pager == "query":
                    world.add(col.list_url + "?page=1", body, ctype, listed=False)
    if not home:
        return
    body, ctype = encode(site, home_page(site))
    world.add(site.home, body, ctype)
    world.add(site.url("/index.html"), body, ctype, listed=False)
