"""TRS WCM: index.html, index_1.html … index_{n-1}.html with the pager ONLY in createPageHTML(…).

There is no <a> pager: a spider must read `createPageHTML(n, i, "index", "html")` to find the other
pages.  Articles sit at ./{YYYYMM}/t{YYYYMMDD}_{id}.html relative to the list, attachments next to them
(./P0….pdf listed under the article, ./W0….docx linked inside the body); the body is in .TRS_Editor.
Past the last page the site answers a meta-refresh back to ./ instead of a 404, as some TRS sites do.
"""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING

from .files import CONTENT_TYPES, FileFactory
from .pages import SiteConfig, article, document, encode, home_page, list_item
from .plan import Entry

if TYPE_CHECKING:
    from .world import World

# Inline as on real TRS pages; it writes the pager with document.write at run time.
PAGER_JS = """<script type="text/javascript">
function createPageHTML(_nPageCount, _nCurrIndex, _sPageName, _sPageExt) {
  if (_nPageCount == null || _nPageCount <= 1) { return; }
  var s = "";
  for (var i = 0; i < _nPageCount; i++) {
    var name = (i == 0) ? _sPageName + "." + _sPageExt : _sPageName + "_" + i + "." + _sPageExt;
    s += (i == _nCurrIndex) ? "<span>" + (i + 1) + "</span>" : "<a h" + "ref='" + name + "'>" + (i + 1) + "</a>";
  }
  document.write(s);
}
</script>
"""


def _file_name(e: Entry, prefix: str, ext: str, rng: random.Random) -> str:
    """TRS file names: P0/W0 + publication date + 12 digits, in the article's month directory."""
    return f"{prefix}0{e.published:%Y%m%d}{rng.randint(10**11, 10**12 - 1)}.{ext}"


def build(site: SiteConfig, entries: list[Entry], world: World, files: FileFactory, rng: random.Random) -> None:
    rel: dict[int, str] = {}  # id(entry) -> link relative to its list directory
    used: set[int] = set()
    for e in entries:
        base, month = site.columns[e.column].base, f"{e.published:%Y%m}"
        if e.direct_pdf:
            rel[id(e)] = f"./{month}/{_file_name(e, 'P', 'pdf', rng)}"
        else:
            art_id = rng.randint(100000, 9999999)
            while art_id in used:
                art_id += 1
            used.add(art_id)
            rel[id(e)] = f"./{month}/t{e.published:%Y%m%d}_{art_id}.html"
        e.url = site.url(base + rel[id(e)][2:])
    for e in entries:
        if e.direct_pdf:
            body = files.make("pdf", e.title, e.year, e.url, e.report)
            world.plant(site.id, e, world.add(e.url, body, CONTENT_TYPES["pdf"]))
            continue
        inline, listed = [], []
        month_dir = e.url.rsplit("/", 1)[0] + "/"
        for att in e.attachments:
            name = _file_name(e, "W" if att.embedded else "P", att.ext, rng)
            url = month_dir + name
            sha = world.add(url, files.make(att.ext, e.title, e.year, url, e.report), CONTENT_TYPES[att.ext])
            world.plant_attachment(url, e.url, sha, att.filename)
            (inline if att.embedded else listed).append((f"./{name}", att.filename))
        container = '<div class="TRS_Editor"><div class="view TRS_UEDITOR trs_paper_default trs_web">'
        markup = article(site, e, container, metas=True, inline=inline, listed=listed)
        world.plant(site.id, e, world.add(e.url, *encode(site, markup)))
    for c, col in enumerate(site.columns):
        items = sorted((e for e in entries if e.column == c), key=lambda e: e.published, reverse=True)
        n = max(1, math.ceil(len(items) / site.per_page))
        for i in range(n):
            rows = "\n".join(list_item(rel[id(e)], e) for e in items[i * site.per_page: (i + 1) * site.per_page])
            main = (f'<div class="list-title">{col.name}</div>\n<ul class="list">\n{rows}\n</ul>\n'
                    f'<div class="page"><script type="text/javascript">createPageHTML({n}, {i}, "index", "html");'
                    "</script></div>" + site.list_footer)
            body, ctype = encode(site, document(site, col.name, main, head=PAGER_JS))
            world.add(site.url(col.base + ("index.html" if i == 0 else f"index_{i}.html")), body, ctype)
            if i == 0:
                world.add(site.url(col.base), body, ctype, listed=False)
        stub = '<html><head><meta http-equiv="refresh" content="0;url=./"></head><body></body></html>'
        world.add(site.url(f"{col.base}index_{n}.html"), *encode(site, stub), listed=False)
    body, ctype = encode(site, home_page(site))
    world.add(site.home, body, ctype)
    world.add(site.url("/index.html"), body, ctype, listed=False)
