"""JSON list answers: the data behind a script-rendered list, or a list page that is itself JSON.

Portals name their fields as they like (``title``/``name``/``bt``/``docTitle``, ``url``/``link``/
``href``, ``page``/``pageNo``/``pageIndex``/``start``, ``pages``/``totalPage``/``total``), so nothing
here knows a field name for sure: the entries are the array of objects whose values hold a title-like
text and a link-like string, the page parameter is the query (or form, or JSON body) field named
like one, and the count is whatever page- or record-total the answer carries. Names only break ties.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from scrapy import Request
from scrapy.http import TextResponse

from .base import Entry, Listing, capped

_CJK = re.compile(r"[\u3400-\u9fff]")
_LINK = re.compile(r"^(https?://|/|\./|\.\./)[^\s<>\"]*$|^[A-Za-z0-9_./-]+\.(s?html?|pdf|docx?|xlsx?|wps|jsp|aspx?|php)"
                   r"(\?[^\s<>\"]*)?$", re.IGNORECASE)
_IMAGE = re.compile(r"\.(jpe?g|png|gif|bmp|webp|svg|ico|css|js)(\?|$)", re.IGNORECASE)
_TITLE_KEY = re.compile(r"title|name|bt|biaoti|subject|标题", re.IGNORECASE)
_URL_KEY = re.compile(r"url|link|href|path|地址", re.IGNORECASE)
#: Query (or form) fields that number pages, from 1 (or 0); and those that count records from 0.
_PAGE_PARAM = re.compile(r"^(page|pageno|pagenum|pagenumber|pageindex|page_no|page_num|page_index|p|pn|pg|curpage|"
                         r"currpage|currentpage|current|cpage|nowpage|pagecurrent)$", re.IGNORECASE)
_OFFSET_PARAM = re.compile(r"^(start|offset|startrecord|startrow|from|skip|begin|first)$", re.IGNORECASE)
_SIZE_PARAM = re.compile(r"^(pagesize|page_size|size|limit|rows|perpage|per_page|ps|length|num|pagerows)$",
                         re.IGNORECASE)
_PAGES_FIELD = re.compile(r"^(pages|totalpages?|total_pages?|pagecount|page_count|pagetotal|totalpagenum|"
                          r"lastpage|last_page|maxpage|pagesum)$", re.IGNORECASE)
_TOTAL_FIELD = re.compile(r"^(total|totalcount|total_count|totalrecords?|total_records?|records|recordstotal|"
                          r"recordcount|totalelements|totalnum|totalsize|totalrows|rowcount|count|totalhits)$",
                          re.IGNORECASE)
_DEPTH = 6


def recognizes(response: TextResponse) -> bool:
    ctype = (response.headers.get("Content-Type") or b"").lower()
    return b"json" in ctype or response.body.lstrip()[:1] in (b"{", b"[") and b"html" not in ctype


def read(response: TextResponse, max_pages: int = 500, **_: object) -> Listing:
    listing = Listing("api")
    try:
        data = json.loads(response.text)
    except ValueError:
        return listing
    base = response.meta.get("list_document") or response.url  # entries' links are the page's, not the API's
    items = entry_objects(data)
    listing.entries = [e for item in items if (e := entry_of(item, base))]
    listing.pages = further_pages(response.request, data, len(items), max_pages, listing)
    for page in listing.pages:
        page.meta["list_document"] = base
    return listing


def lists_entries(body: bytes | str) -> list[Entry]:
    """The entries a JSON answer lists (none when it is not JSON, or lists nothing with titles and links)."""
    try:
        data = json.loads(body)
    except ValueError:
        return []
    return [e for item in entry_objects(data) if (e := entry_of(item, "http://x/"))]


def pageable(request: Request) -> bool:
    """Whether the request says which page it asks for (a field named like a page or an offset)."""
    return _page_field(request) is not None


def entry_objects(data: Any) -> list[dict[str, Any]]:
    """The array of objects that most looks like a list of entries (title-like and link-like values)."""
    best: list[dict[str, Any]] = []
    best_score = 0
    for array in _arrays(data, _DEPTH):
        objects = [item for item in array if isinstance(item, dict)]
        score = sum(1 for item in objects if _title(item) and _link(item))
        if score > best_score:
            best, best_score = objects, score
    return best


def entry_of(item: dict[str, Any], base: str) -> Entry | None:
    title, link = _title(item), _link(item)
    if not (title and link):
        return None
    return Entry(_join(base, link), title)


def further_pages(request: Request, data: Any, on_page: int, max_pages: int, listing: Listing) -> list[Request]:
    """The rest of the list, asked for from its first page: the same request with the page field changed.

    With a count in the answer, every page up to it (bounded by ``max_pages``, noted on the listing when the
    count is more); without one, the next page only, as long as pages come back with entries."""
    if not on_page:
        return []
    field = _page_field(request)
    if field is None:
        return []
    name, value, kind, size = field
    first = value in (0, 1) if kind == "page" else value == 0
    size = size or on_page
    pages = _page_count(data, size)
    if pages is None:  # no count: walk on while pages have entries
        steps = [1]
    elif first:
        steps = list(range(1, capped(pages, max_pages, listing)))
    else:
        return []
    pages = [_with_field(request, name, value + (step if kind == "page" else step * size)) for step in steps]
    for page in pages:  # the first page's validators are not the others'
        for header in ("If-None-Match", "If-Modified-Since"):
            page.headers.pop(header, None)
    return pages


def _arrays(data: Any, depth: int) -> Iterator[list[Any]]:
    if depth < 0:
        return
    if isinstance(data, list):
        yield data
        children = data[:50]  # an array of arrays, not every entry's own arrays
    elif isinstance(data, dict):
        children = list(data.values())
    else:
        return
    for child in children:
        if isinstance(child, (list, dict)):
            yield from _arrays(child, depth - 1)


def _strings(item: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for key, value in item.items():
        if isinstance(value, str):
            yield str(key), value.strip()


def _title(item: dict[str, Any]) -> str | None:
    texts = [(k, v) for k, v in _strings(item) if _CJK.search(v) and 4 <= len(v) <= 200 and "<" not in v
             and not _LINK.match(v)]
    if not texts:
        return None
    named = [v for k, v in texts if _TITLE_KEY.search(k)]
    return max(named or [v for _k, v in texts], key=len)


def _link(item: dict[str, Any]) -> str | None:
    links = [(k, v) for k, v in _strings(item) if _LINK.match(v) and not _IMAGE.search(v)]
    if not links:
        return None
    named = [v for k, v in links if _URL_KEY.search(k)]
    return (named or [v for _k, v in links])[0]


def _join(base: str, link: str) -> str:
    return urljoin(base, link.split("#", 1)[0])


def _fields(request: Request) -> tuple[str, list[tuple[str, Any]]]:
    """Where the request carries its fields: ``query``, ``form`` or ``json`` (a flat object), with them."""
    ctype = (request.headers.get("Content-Type") or b"").decode("latin-1").lower()
    if request.method == "POST" and request.body:
        if "json" in ctype or request.body.lstrip()[:1] == b"{":
            try:
                body = json.loads(request.body)
            except ValueError:
                body = None
            if isinstance(body, dict):
                return "json", list(body.items())
        else:
            return "form", parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True)
    return "query", parse_qsl(urlsplit(request.url).query, keep_blank_values=True)


def _page_field(request: Request) -> tuple[str, int, str, int | None] | None:
    """(name, value, "page" | "offset", page size or None) of the field that says which page this is."""
    _where, fields = _fields(request)
    size = next((_int(v) for k, v in fields if _SIZE_PARAM.match(k) and _int(v)), None)
    for pattern, kind in ((_PAGE_PARAM, "page"), (_OFFSET_PARAM, "offset")):
        for key, value in fields:
            if pattern.match(key) and (number := _int(value)) is not None:
                return key, number, kind, size
    return None


def _with_field(request: Request, name: str, value: int) -> Request:
    where, fields = _fields(request)
    changed = [(k, (type(v)(value) if isinstance(v, (int, str)) else value) if k == name else v) for k, v in fields]
    if where == "json":
        return request.replace(body=json.dumps(dict(changed), ensure_ascii=False), meta={})
    if where == "form":
        return request.replace(body=urlencode(changed), meta={})
    parts = urlsplit(request.url)
    return request.replace(url=urlunsplit(parts._replace(query=urlencode(changed))), meta={})


def _page_count(data: Any, size: int) -> int | None:
    """Pages the answer says the list has: a page total, or a record total over the page size."""
    pages = total = None
    for key, value in _scalars(data, 3):
        if pages is None and _PAGES_FIELD.match(key):
            pages = _int(value)
        elif total is None and _TOTAL_FIELD.match(key):
            total = _int(value)
    if pages is not None:
        return pages
    if total is not None and size:
        return math.ceil(total / size)
    return None


def _scalars(data: Any, depth: int) -> Iterator[tuple[str, Any]]:
    """Scalar fields of the answer's objects, shallowest first, outside its arrays (an entry's ``count`` is not
    the list's)."""
    level = [data] if isinstance(data, dict) else []
    for _ in range(depth):
        deeper = []
        for obj in level:
            for key, value in obj.items():
                if isinstance(value, dict):
                    deeper.append(value)
                elif not isinstance(value, list):
                    yield str(key), value
        level = deeper


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None
