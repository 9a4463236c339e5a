"""Hanweb's annual-report module: ``/module/xxgk/xxgkAnnualReport.jsp?area=…&fbtime=YEAR``.

One page per agency (``area``) and year (``fbtime``), each an ordinary list of that agency's
report; the column links each agency's newest year only. Some pages offer the other years in a
``<select>``; where none does, every year since the 条例 took effect (2008, the first reports)
is asked for: an agency's page for a year it has no report is a short empty list.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit

from scrapy import Request
from scrapy.http import TextResponse

from . import html, years
from .base import Listing

MODULE = "/module/xxgk/xxgkannualreport.jsp"
FIRST_YEAR = 2008


def recognizes(response: TextResponse) -> bool:
    return urlsplit(response.url).path.lower().endswith(MODULE)


def read(response: TextResponse, max_pages: int = 500, **_: object) -> Listing:
    listing = html.read(response, max_pages=max_pages)
    listing.platform = "hanweb-annual"
    asked = "fbtime" in parse_qs(urlsplit(response.url).query)
    if asked and not any(param == "fbtime" for param, _ in years.offered(response)):
        known = {r.url for r in listing.pages} | {response.url}
        every = range(FIRST_YEAR, dt.date.today().year + 1)
        listing.pages += [Request(url) for url in (years.with_year(response.url, "fbtime", str(y)) for y in every)
                          if url not in known]
    return listing
