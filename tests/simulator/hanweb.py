"""大汉 Hanweb JCMS: /col/col{N}/index.html lists whose records live in a <script type="text/xml"> datastore.

Only the first 45 records are in the page; the rest come ONLY from POST /module/web/jpage/dataproxy.jsp
with the page's `param_…` object as form fields (a GET gets nothing), and each answer repeats the record
before the requested range, as real group boundaries do.  Files go through downfile.jsp, whose real
file name is only in Content-Disposition, sometimes on a separate file host.
"""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, quote

from .files import FileFactory
from .pages import Column, SiteConfig, article, document, encode, home_page, list_item, root_href
from .plan import Entry

if TYPE_CHECKING:
    from .world import Response, World

GROUP = 45  # records per group (one page holds one group)
PER_PAGE = 15
DATAPROXY = "/module/web/jpage/dataproxy.jsp"
DOWNFILE = "/module/download/downfile.jsp"


def _webname(site: SiteConfig) -> str:
    return f"{site.name}人民政府"


def _disposition(site: SiteConfig, name: str, fallback: str) -> str:
    if site.disposition == "gbk":  # raw GBK bytes in the header; the server writes headers as latin-1
        return f'attachment; filename="{name.encode("gbk", "replace").decode("latin-1")}"'
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"


def _records(site: SiteConfig, items: list[Entry]) -> str:
    return "".join(f"<record><![CDATA[\n{list_item(root_href(site, e.url), e)}\n]]></record>\n" for e in items)


def _nextgroup(site: SiteConfig, col: Column) -> str:
    return (f'<a href="{DATAPROXY}?page=1&appid=1&webid={site.webid}&path=/&columnid={col.col_id}'
            f'&unitid={col.unitid}&webname={quote(_webname(site))}&permissiontype=0"></a>')


def _list_page(site: SiteConfig, col: Column, items: list[Entry]) -> str:
    store = (f'<script type="text/xml"><datastore><nextgroup><![CDATA[{_nextgroup(site, col)}]]></nextgroup>'
             f"<recordset>\n{_records(site, items[:GROUP])}</recordset></datastore></script>")
    param = (f"{{col:1,appid:1,webid:{site.webid},path:'/',columnid:{col.col_id},sourceContentType:1,"
             f"unitid:'{col.unitid}',webname:'{_webname(site)}',permissiontype:0}}")
    script = (f'<script type="text/javascript" src="/module/web/jpage/jpage.js"></script>\n'
              f"<script type=\"text/javascript\">var param_{col.unitid}={param};\n"
              f"$('#{col.unitid}').jpage({{proxyUrl:'{DATAPROXY}',perPage:{PER_PAGE},groupSize:3,"
              f"totalRecord:{len(items)},totalPage:{math.ceil(len(items) / PER_PAGE)},"
              f"ajaxParam:param_{col.unitid},barPosition:'bottom'}});</script>")
    main = f'<div class="list-title">{col.name}</div>\n<div id="{col.unitid}">{store}</div>\n{script}{site.list_footer}'
    return document(site, col.name, main)


def _dataproxy(site: SiteConfig, lists: dict[tuple[str, str], tuple[Column, list[Entry]]]):
    def handle(method: str, query: str, body: bytes) -> Response:
        headers = {"Content-Type": "text/xml;charset=UTF-8"}
        q = parse_qs(query)
        form = parse_qs(body.decode("utf-8", "replace")) if method == "POST" else {}
        key = (form.get("columnid", [""])[0], form.get("unitid", [""])[0])
        if key not in lists:  # GET, or POST without the page's params: an empty store, like the real proxy
            return 200, headers, b'<?xml version="1.0" encoding="UTF-8"?><datastore><totalrecord>0</totalrecord>' \
                                 b"<recordset></recordset></datastore>"
        col, items = lists[key]
        value = {**form, **q}
        start = max(1, int(value.get("startrecord", ["1"])[0]))
        end = int(value.get("endrecord", [str(start + GROUP - 1)])[0])
        chunk = items[max(0, start - 2): end]  # 1-based inclusive, plus the record before start
        xml = (f'<?xml version="1.0" encoding="UTF-8"?><datastore><nextgroup><![CDATA[{_nextgroup(site, col)}]]>'
               f"</nextgroup><recordset>\n{_records(site, chunk)}</recordset>"
               f"<totalrecord>{len(items)}</totalrecord><totalpage>{math.ceil(len(items) / PER_PAGE)}</totalpage>"
               "</datastore>")
        return 200, headers, xml.encode("utf-8")

    return handle


def _downfile(world: World, urls: dict[str, str]):
    """Serve a downfile.jsp URL by its filename= parameter, whatever the order/encoding of the others."""

    def handle(method: str, query: str, body: bytes) -> Response:
        url = urls.get(parse_qs(query).get("filename", [""])[0])
        return world.resolve(method, url, body) if url else (404, {"Content-Type": "text/html"}, b"file not found")

    return handle


def build(site: SiteConfig, entries: list[Entry], world: World, files: FileFactory, rng: random.Random) -> None:
    file_host = site.file_host or site.host
    downloads: dict[str, str] = {}

    def downfile(e: Entry, ext: str, name: str, shown: str) -> tuple[str, str]:
        """Plant one downfile.jsp file; returns its URL and sha256."""
        hexname = f"{rng.getrandbits(128):032x}.{ext}"
        url = f"http://{file_host}{DOWNFILE}?classid=0&filename={hexname}&showname={quote(shown)}"
        body = files.make(ext, e.title, e.year, url, e.report)
        headers = {"Content-Disposition": _disposition(site, name, hexname)}
        downloads[hexname] = url
        return url, world.add(url, body, "application/octet-stream", headers)

    art_id = rng.randint(10000, 90000)
    for e in sorted(entries, key=lambda e: e.published):  # article ids grow with time
        art_id += rng.randint(1, 40)
        p, col = e.published, site.columns[e.column]
        if e.direct_pdf:
            e.url, sha = downfile(e, "pdf", f"{e.title}.pdf", "附件.pdf")
            world.plant(site.id, e, sha)
        else:
            e.url = site.url(f"/art/{p.year}/{p.month}/{p.day}/art_{col.col_id}_{art_id}.html")
    for e in (e for e in entries if not e.direct_pdf):
        links = []
        for k, att in enumerate(e.attachments, 1):
            url, sha = downfile(e, att.ext, att.filename, f"附件{k}.{att.ext}")
            world.plant_attachment(url, e.url, sha, att.filename)
            links.append((root_href(site, url), f"附件{k}"))
        markup = article(site, e, '<div id="zoom">', metas=True, inline=links)
        world.plant(site.id, e, world.add(e.url, *encode(site, markup)))
    lists = {}
    for c, col in enumerate(site.columns):
        items = sorted((e for e in entries if e.column == c), key=lambda e: e.published, reverse=True)
        lists[(str(col.col_id), col.unitid)] = (col, items)
        body, ctype = encode(site, _list_page(site, col, items))
        world.add(col.list_url, body, ctype)
        world.add(site.url(f"/col/col{col.col_id}/"), body, ctype, listed=False)
    world.add_handler(site.host, DATAPROXY, _dataproxy(site, lists))
    world.add_handler(file_host, DOWNFILE, _downfile(world, downloads))
    body, ctype = encode(site, home_page(site))
    world.add(site.home, body, ctype)
    world.add(site.url("/index.html"), body, ctype, listed=False)
