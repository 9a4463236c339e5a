"""Script-rendered lists with every kind of pager a script draws, drawn at random per site.

A list page is an empty ``<ul>`` and a script. Its entries come either from a JSON API the script
fetches (``source="fetch"``: the path, the page parameter — numbered from 1 or 0, or a record offset —,
the answer's shape and its field names all vary per site, and the count may be missing) or from data
inline in the script (``source="inline"``: there is no API to find, the page must be driven; ``"endless"``
goes on drawing news once its entries run out, a trap only a bound stops). The pager
(``PAGERS``) is ``?page=k`` links (the page reads its own query), ``javascript:;`` links with ``data-p``
and a delegated click handler, ``onclick="goPage(3)"`` spans, a 加载更多 button, or an infinite list
that grows as it is scrolled. `build_pager_world()` makes a small world of one site per kind.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass

from .files import FileFactory
from .pages import Column, SiteConfig, document, encode, home_page, root_href
from .plan import Entry, plan_county
from .spa import plant_articles
from .world import SimSite, World, _sim_site

PAGERS = ("links", "data-p", "goPage", "more", "scroll")
SOURCES = ("fetch", "inline")
TITLE_KEYS = ("title", "name", "bt", "docTitle", "biaoti", "articleName")
URL_KEYS = ("url", "link", "href", "docUrl", "path", "artUrl")
#: The page parameter, and where it starts: numbered pages from 1 or 0, or a record offset.
PAGE_PARAMS = (("page", 1), ("pageNo", 1), ("pageIndex", 0), ("p", 1), ("curPage", 1), ("start", None),
               ("offset", None))
SIZE_PARAMS = ("pageSize", "size", "limit", "rows")
#: Where the entries are in the answer, and the count beside them ("" for none).
SHAPES = (("items",), ("data", "list"), ("rows",), ("result", "records"))
COUNTS = ("pages", "totalPage", "total", "totalCount", "")

# ES5 and fetch, so any Chromium runs it. CFG carries the site's choices; DATA the inline entries (or null);
# LOAD is how page k's entries are had: from the API, or from DATA (then nothing on the page says fetch).
FETCH_LOAD = """  function load(k, done) {
    var value = CFG.first === null ? (k - 1) * CFG.size : CFG.first + k - 1;
    fetch(CFG.api + "?" + CFG.param + "=" + value + "&" + CFG.sizeParam + "=" + CFG.size,
          {credentials: "same-origin", headers: {"X-Requested-With": "XMLHttpRequest"}}).then(function (r) {
      if (!r.ok) { throw new Error("HTTP " + r.status); }
      return r.json();
    }).then(function (d) {
      var items = dig(d, CFG.shape), n = null;
      if (CFG.count === "pages" || CFG.count === "totalPage") { n = parseInt(dig(d, [CFG.count]), 10); }
      else if (CFG.count) { n = Math.ceil(parseInt(dig(d, [CFG.count]), 10) / CFG.size); }
      done(items, n === null ? (items.length < CFG.size ? k : k + 1) : n);
    });
  }"""
INLINE_LOAD = """  function load(k, done) {
    done(DATA.slice((k - 1) * CFG.size, k * CFG.size), Math.ceil(DATA.length / CFG.size));
  }"""
# A trap: once its entries run out, the list goes on drawing news for ever.
ENDLESS_LOAD = """  function load(k, done) {
    var items = DATA.slice((k - 1) * CFG.size, k * CFG.size);
    for (var i = items.length; i < CFG.size; i++) {
      var it = {showText: "第" + k + "批工作动态" + i, date: "2024-01-01"};
      it[CFG.titleKey] = it.showText; it[CFG.urlKey] = "/news/" + k + "_" + i + ".html"; items.push(it);
    }
    done(items, k + 1);
  }"""
LIST_JS = """<script>
(function () {
  var CFG = %(cfg)s, DATA = %(data)s;
  var ul = document.getElementById("list"), pager = document.getElementById("pager");
  var query = new URLSearchParams(location.search);
  var page = CFG.pager === "links" ? parseInt(query.get("page") || "1", 10) : 1, pages = null, busy = false;
  function dig(d, path) { for (var i = 0; i < path.length; i++) { d = d ? d[path[i]] : null; } return d || []; }
%(load)s  function draw(items, append) {
    if (!append) { ul.innerHTML = ""; }
    items.forEach(function (it) {
      var li = document.createElement("li"), a = document.createElement("a"), span = document.createElement("span");
      a.href = it[CFG.urlKey]; a.title = it[CFG.titleKey]; a.target = "_blank"; a.textContent = it.showText;
      span.textContent = it.date;
      if (CFG.pager === "scroll") { li.style.minHeight = "220px"; }
      li.appendChild(a); li.appendChild(span); ul.appendChild(li);
    });
  }
  function control(k, text) {
    var el;
    if (CFG.pager === "links") { el = document.createElement("a"); el.href = "?page=" + k; }
    else if (CFG.pager === "data-p") {
      el = document.createElement("a"); el.href = "javascript:;"; el.setAttribute("data-p", k);
    }
    else { el = document.createElement("span"); el.setAttribute("onclick", "goPage(" + k + ")"); }
    el.textContent = text;
    return el;
  }
  function drawPager() {
    pager.innerHTML = "";
    if (CFG.pager === "more") {
      var more = document.createElement("button");
      more.id = "more"; more.type = "button";
      more.textContent = page < pages ? CFG.moreText : "没有更多了";
      if (page >= pages) { more.disabled = true; more.className = "disabled"; }
      pager.appendChild(more);
      return;
    }
    if (CFG.pager === "scroll") { return; }
    for (var k = 1; k <= pages; k++) {
      if (k === page) { var cur = document.createElement("span"); cur.className = "current"; cur.textContent = k;
                        pager.appendChild(cur); }
      else { pager.appendChild(control(k, String(k))); }
    }
    if (page < pages && CFG.next) { pager.appendChild(control(page + 1, CFG.next)); }
  }
  function go(k, append) {
    if (busy || (pages !== null && (k < 1 || k > pages))) { return; }
    busy = true;
    load(k, function (items, n) { page = k; pages = n; draw(items, append); drawPager(); busy = false;
                                  document.body.setAttribute("data-page", String(k)); });
  }
  window.goPage = function (k) { go(k, false); };
  pager.addEventListener("click", function (e) {
    var t = e.target;
    if (t.getAttribute("data-p")) { e.preventDefault(); go(parseInt(t.getAttribute("data-p"), 10), false); }
    if (t.id === "more") { go(page + 1, true); }
  });
  window.addEventListener("scroll", function () {
    if (CFG.pager === "scroll" && window.innerHeight + window.scrollY >= document.body.offsetHeight - 200) {
      go(page + 1, true);
    }
  });
  go(page, false);
})();
</script>"""


@dataclass(frozen=True)
class Choice:
    """One site's script list: pager, source, and the API's names (those unused for inline data)."""

    pager: str
    source: str
    api: str
    param: str
    first: int | None
    size_param: str
    shape: tuple[str, ...]
    count: str
    title_key: str
    url_key: str
    next: str
    more: str


def choose(rng: random.Random, pager: str | None = None, source: str | None = None) -> Choice:
    param, first = rng.choice(PAGE_PARAMS)
    return Choice(pager or rng.choice(PAGERS), source or rng.choice(SOURCES),
                  rng.choice(["/api/list.json", "/api/article/list", "/gov/xxgk/queryList.do", "/service/news.action"]),
                  param, first, rng.choice(SIZE_PARAMS), rng.choice(SHAPES), rng.choice(COUNTS),
                  rng.choice(TITLE_KEYS), rng.choice(URL_KEYS), rng.choice(["下一页", "下页", "下一页>", "›", ""]),
                  rng.choice(["加载更多", "点击加载更多", "查看更多"]))


def build(site: SiteConfig, entries: list[Entry], world: World, files: FileFactory, rng: random.Random,
          choice: Choice | None = None) -> Choice:
    """The site's articles, its script list page, and (source "fetch") every page of its API."""
    choice = choice or choose(rng)
    plant_articles(site, entries, world, files, rng)
    items = [{"id": rng.randint(10_000, 99_999), choice.title_key: e.title, "showText": e.list_text,
              choice.url_key: root_href(site, e.url), "date": f"{e.published:%Y-%m-%d}", "pic": "/images/nopic.jpg",
              "channel": site.columns[0].name}
             for e in sorted(entries, key=lambda e: e.published, reverse=True)]
    size = site.per_page
    pages = max(1, math.ceil(len(items) / size))
    if choice.source == "fetch":
        for k in range(1, pages + 2):  # one past the last: an empty answer, as real APIs give
            value = (k - 1) * size if choice.first is None else choice.first + k - 1
            answer: object = items[(k - 1) * size: k * size]
            for key in reversed(choice.shape):
                answer = {key: answer}
            if choice.count:
                count = pages if choice.count in ("pages", "totalPage") else len(items)
                answer[choice.count] = str(count) if choice.count == "totalCount" else count  # type: ignore[index]
            world.add(site.url(f"{choice.api}?{choice.param}={value}&{choice.size_param}={size}"),
                      json.dumps(answer, ensure_ascii=False).encode(), "application/json; charset=utf-8",
                      listed=k <= pages)
    cfg = {"pager": choice.pager, "api": choice.api, "param": choice.param, "first": choice.first,
           "sizeParam": choice.size_param, "size": size, "shape": list(choice.shape), "count": choice.count,
           "titleKey": choice.title_key, "urlKey": choice.url_key, "next": choice.next, "moreText": choice.more}
    data = "null" if choice.source == "fetch" else json.dumps(items, ensure_ascii=False)
    load = {"inline": INLINE_LOAD, "endless": ENDLESS_LOAD}.get(choice.source, FETCH_LOAD)
    col = site.columns[0]
    main = (f'<div class="list-title">{col.name}</div>\n<ul id="list" class="list"></ul>\n'
            f'<div id="pager" class="pagination"></div>\n'
            f'{LIST_JS % {"cfg": json.dumps(cfg, ensure_ascii=False), "data": data, "load": load}}')
    body, ctype = encode(site, document(site, col.name, main))
    world.add(col.list_url, body, ctype)  # ?page=k is the same page (the script reads it)
    body, ctype = encode(site, home_page(site))
    world.add(site.home, body, ctype)
    return choice


# One site per (pager, source) the tests crawl; id, county, host.
PAGER_SITES = [
    (("links", "fetch"), "wuning", "武宁县", "www.wuning.gov.cn"),
    (("data-p", "fetch"), "yongxiu", "永修县", "www.yongxiu.gov.cn"),
    (("goPage", "fetch"), "duchang", "都昌县", "www.duchang.gov.cn"),
    (("more", "fetch"), "hukou", "湖口县", "www.hukou.gov.cn"),
    (("scroll", "fetch"), "pengze", "彭泽县", "www.pengze.gov.cn"),
    (("links", "inline"), "dean", "德安县", "www.dean.gov.cn"),
    (("data-p", "inline"), "lushan", "庐山市", "www.lushan.gov.cn"),
    (("goPage", "inline"), "ruichang", "瑞昌市", "www.ruichang.gov.cn"),
    (("more", "inline"), "gongqing", "共青城市", "www.gongqing.gov.cn"),
    (("scroll", "inline"), "chaisang", "柴桑区", "www.chaisang.gov.cn"),
    (("more", "endless"), "xingzi", "星子县", "www.xingzi.gov.cn"),  # never ends: a bound must stop it
]


def build_pager_world(seed: int = 2026, kinds: list[tuple[str, str]] | None = None, per_page: int = 4,
                      reports: int = 8) -> World:
    """One small site per (pager, source) in ``kinds`` (all by default); names and shapes drawn per seed."""
    world = World()
    files = FileFactory(real_pdf_budget=0, served=world.documents)
    for (pager, source), sid, name, host in PAGER_SITES:
        if kinds is not None and (pager, source) not in kinds:
            continue
        rng = random.Random(f"{seed}:pager:{sid}")
        site = SiteConfig(sid, name, "江西省", "九江市", host, f"script_{pager}_{source}", per_page=per_page)
        site.columns = [Column(site.url("/xxgk/zfxxgknb/index.html"), "/xxgk/zfxxgknb/")]
        planned = plan_county(name, host, rng, departments=1, townships=1, two_columns=False)
        # Few entries, so few pages (the browser is slow): reports and a few near misses.
        entries = [e for e in planned if e.kind == "report"][:reports] + [e for e in planned if e.kind != "report"][:3]
        build(site, entries, world, files, rng, choose(rng, pager, source))
        sim: SimSite = _sim_site(site)
        sim.needs_browser = True
        world.sites.append(sim)
    return world
