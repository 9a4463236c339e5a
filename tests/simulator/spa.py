"""Script-rendered report list (SPA portals such as Jiujiang's): without JavaScript there are no links at all.

The list page is an empty `<ul id="list"></ul>` plus an inline script that fetches
`/api/list.json?page=N` (N from the page's own `?page=`) and builds `<li><a href title>…</a><span>date</span>`
items and a `?page=k` pager with the DOM.  The JSON is `{"page", "pages", "total", "items": [{"title",
"text", "url", "date"}]}`; pages past the last are 404.  Article pages and files are ordinary HTML/files.
"""

from __future__ import annotations

import json
import math
import random
from typing import TYPE_CHECKING

from .files import CONTENT_TYPES, FileFactory
from .pages import SiteConfig, article, document, encode, home_page, root_href
from .plan import Entry

if TYPE_CHECKING:
    from .world import World

API = "/api/list.json"
# Plain ES5 + fetch so any Chromium runs it; the pager is rendered only after the data arrives.
LIST_JS = """<script>
(function () {
  var page = parseInt(new URLSearchParams(location.search).get("page") || "1", 10);
  fetch("%(api)s?page=" + page, {credentials: "same-origin"}).then(function (r) {
    if (!r.ok) { throw new Error("HTTP " + r.status); }
    return r.json();
  }).then(function (data) {
    var ul = document.getElementById("list");
    data.items.forEach(function (it) {
      var li = document.createElement("li"), a = document.createElement("a"), span = document.createElement("span");
      a.href = it.url; a.title = it.title; a.target = "_blank"; a.textContent = it.text;
      span.textContent = it.date;
      li.appendChild(a); li.appendChild(span); ul.appendChild(li);
    });
    var pager = document.getElementById("pager");
    for (var k = 1; k <= data.pages; k++) {
      var el = document.createElement(k === data.page ? "span" : "a");
      if (k !== data.page) { el.href = "?page=" + k; }
      el.textContent = String(k);
      pager.appendChild(el);
    }
    if (data.page < data.pages) {
      var next = document.createElement("a");
      next.href = "?page=" + (data.page + 1); next.textContent = "下一页"; next.className = "next";
      pager.appendChild(next);
    }
    document.body.setAttribute("data-loaded", "1");
  });
})();
</script>"""


def build(site: SiteConfig, entries: list[Entry], world: World, files: FileFactory, rng: random.Random) -> None:
    col = site.columns[0]
    plant_articles(site, entries, world, files, rng)
    items = sorted(entries, key=lambda e: e.published, reverse=True)
    pages = max(1, math.ceil(len(items) / site.per_page))
    for k in range(1, pages + 1):
        chunk = items[(k - 1) * site.per_page: k * site.per_page]
        data = {"page": k, "pages": pages, "total": len(items),
                "items": [{"title": e.title, "text": e.list_text, "url": root_href(site, e.url),
                           "date": f"{e.published:%Y-%m-%d}"} for e in chunk]}
        world.add(site.url(f"{API}?page={k}"), json.dumps(data, ensure_ascii=False).encode(),
                  "application/json; charset=utf-8")
    main = (f'<div class="list-title">{col.name}</div>\n<ul id="list" class="list"></ul>\n'
            f'<div id="pager" class="pagination"></div>\n{LIST_JS % {"api": API}}')
    body, ctype = encode(site, document(site, col.name, main))
    world.add(col.list_url, body, ctype)  # ?page=k is the same page (the script reads it)
    world.add(site.url(col.base), body, ctype, listed=False)
    body, ctype = encode(site, home_page(site))
    world.add(site.home, body, ctype)
    world.add(site.url("/index.html"), body, ctype, listed=False)


def plant_articles(site: SiteConfig, entries: list[Entry], world: World, files: FileFactory,
                   rng: random.Random) -> None:
    """Every entry's page (or PDF) and attachments, planted: what a script-rendered list links to."""
    for e in entries:
        art_id = rng.randint(10_000_000, 99_999_999)
        e.column = 0
        if e.direct_pdf:
            e.url = site.url(f"/static/upload/{e.published:%Y%m}/{art_id}.pdf")
        else:
            e.url = site.url(f"/art/{e.published:%Y/%m}/{art_id}.html")
    for e in entries:
        if e.direct_pdf:
            body = files.make("pdf", e.title, e.year, e.url, e.report)
            world.plant(site.id, e, world.add(e.url, body, CONTENT_TYPES["pdf"]))
            continue
        listed = []
        for att in e.attachments:
            url = site.url(f"/static/upload/{e.published:%Y%m}/{rng.getrandbits(64):016x}.{att.ext}")
            sha = world.add(url, files.make(att.ext, e.title, e.year, url, e.report), CONTENT_TYPES[att.ext])
            world.plant_attachment(url, e.url, sha, att.filename)
            listed.append((root_href(site, url), att.filename))
        world.plant(site.id, e, world.add(e.url, *encode(site, article(site, e, '<div id="content">', metas=True,
                                                                        listed=listed))))
