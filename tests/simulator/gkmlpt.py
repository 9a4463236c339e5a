"""Guangdong 政府信息公开目录管理平台 (gkmlpt): an HTML shell plus a JSON API, no report links in any HTML.

`/gkmlpt/index` only embeds `window._CONFIG={SID:'…', TREE:[…]}` (the classify tree); the articles of
a classify come from `GET /gkmlpt/api/all/{classify}?page=N&sid=SID`:
`{"classify": {"id", "name", "post_count"}, "articles": [{id, title, identifier, publisher, url, post_url,
date, attachment: [{name, type, mime, size, url}]}]}`.  Real sites give 100 per page; here PAGE_SIZE is 20
so the report classify needs 2–3 pages.  Pages count from 1 (page 0 repeats page 1, a quirk of some
sites); past the last page the API answers 404; a missing or wrong `sid` gets an empty list (post_count 0).
Article pages live at /gkmlpt/content/{a}/{b}/post_{id}.html, attachments at /attachment/0/{a}/{b}/{n}.{ext}.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import random
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from .files import CONTENT_TYPES, FileFactory
from .pages import SiteConfig, article, document, encode
from .plan import Entry

if TYPE_CHECKING:
    from .world import Response, World

PAGE_SIZE = 20
_CST = dt.timezone(dt.timedelta(hours=8))
REPORT_CLASSIFY = "政府信息公开年报"
_JSON = "application/json;charset=UTF-8"
# The rest of a typical tree; reports are only in REPORT_CLASSIFY, interpretations in 政策解读.
_OTHER = ["机构职能", "政策文件", "政策解读", "规划计划", "财政资金", "通知公告", "工作动态"]


def _classify_of(e: Entry) -> str:
    if e.kind == "report":
        return REPORT_CLASSIFY
    return {"interpretation": "政策解读", "infographic": "政策解读", "key_points": "规划计划",
            "work_report": "规划计划", "guide": "机构职能", "notice": "通知公告"}.get(e.kind, "工作动态")


def _shell(site: SiteConfig, sid: str, tree: list[dict]) -> str:
    config = f"window._CONFIG={{SID:'{sid}',TREE:{json.dumps(tree, ensure_ascii=False)},SITE_NAME:'{site.name}'}};"
    main = (f'<div id="app" class="gkmlpt"><p class="loading">加载中…</p></div>\n<script>{config}</script>\n'
            '<script src="/gkmlpt/static/js/app.js"></script>')
    return document(site, "政府信息公开", main)


def _api(cid: int, name: str, articles: list[dict], sid: str):
    """GET /gkmlpt/api/all/{cid}?page=N&sid=SID for one classify."""

    def handle(method: str, query: str, body: bytes) -> Response:
        q = parse_qs(query)
        if q.get("sid", [""])[0] != sid:
            out = {"classify": {"id": cid, "name": name, "post_count": 0}, "articles": []}
            return 200, {"Content-Type": _JSON}, json.dumps(out, ensure_ascii=False).encode()
        try:
            page = max(1, int(q.get("page", ["1"])[0]))
        except ValueError:
            page = 1
        if page > max(1, math.ceil(len(articles) / PAGE_SIZE)):
            return 404, {"Content-Type": _JSON}, b'{"code":404,"msg":"not found"}'
        out = {"classify": {"id": cid, "name": name, "post_count": len(articles)},
               "articles": articles[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]}
        return 200, {"Content-Type": _JSON}, json.dumps(out, ensure_ascii=False).encode()

    return handle


def build(site: SiteConfig, entries: list[Entry], world: World, files: FileFactory, rng: random.Random) -> str:
    """Serve the site; returns the report classify's id (for tests and docs)."""
    sid = f"gkmlpt_{rng.randint(100000, 999999)}"
    root = rng.randint(1000, 5000)
    names = [REPORT_CLASSIFY, *_OTHER]
    rng.shuffle(names)
    ids, cid = {}, root
    for name in names:
        cid += rng.randint(1, 9)
        ids[name] = cid
    tree = [{"id": root, "parent": 0, "name": "政府信息公开目录", "jump": ""}]
    tree += [{"id": ids[n], "parent": root, "name": n, "jump": ""} for n in names]
    credit = f"11{rng.randint(10**13, 10**14 - 1)}Q"
    post_id = rng.randint(3_000_000, 3_500_000)
    for e in entries:  # gkmlpt always has an article page, never a bare PDF in the list
        e.direct_pdf = False
    by_classify: dict[int, tuple[str, list[dict]]] = {ids[n]: (n, []) for n in names}
    seq: dict[int, int] = {}
    records: dict[int, dict] = {}  # id(entry) -> its API record
    for e in sorted(entries, key=lambda e: e.published):
        post_id += rng.randint(1, 500)
        a, b = post_id // 1_000_000, post_id // 1000
        e.url = site.url(f"/gkmlpt/content/{a}/{b}/post_{post_id}.html")
        year = e.published.year
        seq[year] = seq.get(year, 0) + 1
        record = {"id": post_id, "title": e.title, "identifier": f"{credit}/{year}-{seq[year]:05d}",
                  "publisher": e.agency or f"{site.name}人民政府办公室", "url": e.url,
                  "post_url": f"/gkmlpt/content/{a}/{b}/post_{post_id}.html#{ids[_classify_of(e)]}",
                  "date": int(e.published.replace(tzinfo=_CST).timestamp()), "attachment": []}
        by_classify[ids[_classify_of(e)]][1].append(record)
        records[id(e)] = record
    for e in entries:
        listed = []
        for att in e.attachments:
            n = rng.randint(1_000_000, 9_999_999)
            url = site.url(f"/attachment/0/{n // 100000}/{n // 1000}/{n}.{att.ext}")
            body = files.make(att.ext, e.title, e.year, url, e.report)
            sha = world.add(url, body, CONTENT_TYPES[att.ext])
            world.plant_attachment(url, e.url, sha, att.filename)
            listed.append((url, att.filename))
            records[id(e)]["attachment"].append({"name": att.filename, "type": att.ext,
                                                 "mime": CONTENT_TYPES[att.ext], "size": len(body), "url": url})
        markup = article(site, e, '<div class="article-content">', metas=True, listed=listed)
        world.plant(site.id, e, world.add(e.url, *encode(site, markup)))
    for cid, (name, articles) in by_classify.items():
        articles.sort(key=lambda r: r["date"], reverse=True)
        world.add_handler(site.host, f"/gkmlpt/api/all/{cid}", _api(cid, name, articles, sid))
    shell = encode(site, _shell(site, sid, tree))
    world.add(site.url("/gkmlpt/index"), *shell)
    world.add(site.url("/gkmlpt/"), *shell, listed=False)
    home = document(site, "首页", '<h2>政府信息公开</h2><p><a href="/gkmlpt/index">政府信息公开目录</a></p>')
    world.add(site.home, *encode(site, home))
    return str(ids[REPORT_CLASSIFY])
