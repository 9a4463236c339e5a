"""Guangdong's gkmlpt (政府信息公开目录管理平台): a page with no links, and a JSON API behind it.

``/gkmlpt/index`` carries ``window._CONFIG={SID:…, TREE:[…]}``: the directory's nodes. The
annual-report node is found by name, and its articles come from
``/gkmlpt/api/all/{node}?page=N&sid=SID`` — no browser needed. Department portals live under a
path prefix (``/{dept}/gkmlpt/…``), which is kept.
"""

from __future__ import annotations

import json
import math
import re
from urllib.parse import parse_qs, urlsplit

from scrapy import Request
from scrapy.http import TextResponse

from .base import Entry, Listing, capped

_SID = re.compile(r"SID\s*:\s*['\"]([^'\"]+)['\"]")
#: A TREE node, JSON or a JS object literal: {id: 4977, …, name: '政府信息公开年报', …}
_NODE = re.compile(r"\{[^{}]*?['\"]?id['\"]?\s*:\s*['\"]?(\d+)[^{}]*?['\"]?name['\"]?\s*:\s*['\"]([^'\"]+)['\"]")
_REPORT_NODE = re.compile(r"年报|年度报告")
_API = re.compile(r"/gkmlpt/api/all/(\d+)$")


def recognizes(response: TextResponse) -> bool:
    path = urlsplit(response.url).path
    return "/gkmlpt/" in path and (bool(_API.search(path)) or b"window._CONFIG" in response.body)


def read(response: TextResponse, max_pages: int = 500, **_: object) -> Listing:
    path = urlsplit(response.url).path
    if _API.search(path):
        return _read_api(response, max_pages)
    listing = Listing("gkmlpt")
    sid = _SID.search(response.text)
    if sid is None:
        return listing
    prefix = path[: path.index("/gkmlpt/")]
    for node, name in _NODE.findall(response.text):
        if _REPORT_NODE.search(name) and "解读" not in name:
            listing.pages.append(Request(response.urljoin(f"{prefix}/gkmlpt/api/all/{node}?page=1&sid={sid[1]}")))
    return listing


def _read_api(response: TextResponse, max_pages: int) -> Listing:
    listing = Listing("gkmlpt")
    try:
        data = json.loads(response.text)
    except ValueError:
        return listing
    articles = data.get("articles") or []
    for article in articles:
        url = article.get("url") or article.get("post_url")
        if url and article.get("title"):
            listing.entries.append(Entry(response.urljoin(url.split("#", 1)[0]), article["title"]))
    query = parse_qs(urlsplit(response.url).query)
    if query.get("page") == ["1"] and articles:  # page 1 tells how many pages there are; ask for the rest
        pages = capped(math.ceil(int((data.get("classify") or {}).get("post_count") or 0) / len(articles)),
                       max_pages, listing)
        base = response.url.split("?", 1)[0]
        sid = query.get("sid", [""])[0]
        listing.pages = [Request(f"{base}?page={n}&sid={sid}") for n in range(2, pages + 1)]
    return listing
