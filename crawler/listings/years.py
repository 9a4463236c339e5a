"""Lists filtered by a year in the query: ``index.html?nbYear=2023``, ``…&fbtime=2023``, ``&timeFrame=``.

The unfiltered page often shows only the newest year; the others are reached through a
``<select name="nbYear">`` (its script builds the URL) or links carrying the year. Every year
offered is asked for, by setting that one parameter on this page's own URL.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, urlsplit

from scrapy import Request
from scrapy.http import TextResponse

_YEAR = re.compile(r"^(19|20)\d{2}$")
#: Where a page of one year's list is: another year starts at its first page.
_PAGING = re.compile(r"^(page|pageno|pageindex|pagenum|curpage|currentpage|pn|p|start|startrecord|endrecord)$", re.I)


def offered(response: TextResponse) -> list[tuple[str, str]]:
    """(parameter, year) pairs the page offers: a select's year options, or links to this page with a year."""
    pairs = []
    for select in response.css("select[name]"):
        pairs += [(select.attrib["name"], v.strip()) for v in select.css("option::attr(value)").getall()
                  if _YEAR.match(v.strip())]
    here = urlsplit(response.url)
    for href in response.css("a[href*='?']::attr(href)").getall():
        there = urlsplit(response.urljoin(href.strip()))
        if (there.netloc, there.path) == (here.netloc, here.path):
            pairs += [(k, v) for k, v in parse_qsl(there.query) if _YEAR.match(v)]
    return list(dict.fromkeys(pairs))


def with_year(url: str, param: str, year: str) -> str:
    """``url`` with ``param`` set to ``year``, every other part of its query left as written (but its page)."""
    base, _, query = url.partition("?")
    parts = [p for p in query.split("&") if p and not _PAGING.match(p.split("=", 1)[0])]
    name = quote(param, safe="")
    ours = [p.split("=", 1)[0] in (param, name) for p in parts]
    replaced = [f"{name}={year}" if mine else p for p, mine in zip(parts, ours, strict=True)]
    if not any(ours):
        replaced.append(f"{name}={year}")
    return f"{base}?{'&'.join(replaced)}"


def year_pages(response: TextResponse, max_pages: int) -> list[Request]:
    """The page for every year offered but this one's, at most ``max_pages``."""
    urls = dict.fromkeys(with_year(response.url, param, year) for param, year in offered(response))
    return [Request(url) for url in urls if url != response.url][:max_pages]
