"""Hanweb / 大汉 JCMS column pages (``/col/colN/index.html``).

The page carries its first records as CDATA inside ``<script type="text/xml"><datastore>``;
later ones come only from POSTs to ``/module/web/jpage/dataproxy.jsp`` with the column's
``param_…`` object as form fields. One record may repeat at group boundaries, so entries are
de-duplicated by the spider's request fingerprints, not counted on.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from parsel import Selector
from scrapy import FormRequest
from scrapy.http import TextResponse

from .base import Listing, anchors, capped

DATAPROXY = "/module/web/jpage/dataproxy.jsp"
_RECORD = re.compile(r"<record>\s*<!\[CDATA\[(.*?)\]\]>\s*</record>", re.S)
_TOTAL = re.compile(r"<totalrecord>\s*(\d+)\s*</totalrecord>", re.I)
_PARAMS = re.compile(r"var\s+param_\w+\s*=\s*\{(.*?)\}", re.S)
_PAIR = re.compile(r"['\"]?(\w+)['\"]?\s*:\s*(?:'([^']*)'|\"([^\"]*)\"|([\w.-]+))")
_PER_PAGE = re.compile(r"perpage\s*[:=]\s*['\"]?(\d+)", re.I)


def recognizes(response: TextResponse) -> bool:
    return b"<datastore>" in response.body or urlsplit(response.url).path.endswith(DATAPROXY)


def read(response: TextResponse, hanweb_group: int = 45, max_pages: int = 500, **_: object) -> Listing:
    listing = Listing("hanweb")
    records = _RECORD.findall(response.text)
    for record in records:
        listing.entries += anchors(Selector(text=record), response)
    if urlsplit(response.url).path.endswith(DATAPROXY):
        listing.pages = _later_groups(response, len(records), hanweb_group, max_pages, listing)
    elif records:
        listing.pages = _first_proxy_request(response, len(records), hanweb_group)
    return listing


def malformed(response: TextResponse) -> str | None:
    """Why the page's ``<datastore>`` cannot be read in full (a record whose CDATA is broken), or None."""
    text = response.text
    found, read = text.count("<record>"), len(_RECORD.findall(text))
    if found > read:
        return f"malformed Hanweb XML: {found - read} of {found} <record> elements unreadable (broken CDATA)"
    return None


def _first_proxy_request(response: TextResponse, shown: int, group: int) -> list[FormRequest]:
    params = _params(response.text)
    if params is None:
        return []
    per_page = _PER_PAGE.search(response.text)
    return [_proxy_request(response, params, shown + 1, shown + group, int(per_page[1]) if per_page else 15)]


def _later_groups(response: TextResponse, received: int, group: int, max_pages: int,
                  listing: Listing) -> list[FormRequest]:
    """After the first POST answers with ``<totalrecord>``, ask for every remaining group at once.

    The total is the server's word: groups are derived only up to ``max_pages`` of them.
    """
    query = {k: v[0] for k, v in parse_qs(urlsplit(response.url).query).items()}
    start = int(query.get("startrecord", 1))
    per_page = int(query.get("perpage", 15))
    total = _TOTAL.search(response.text)
    if not received or response.meta.get("hanweb_followup"):
        return []
    params = response.meta.get("hanweb_params") or {}
    end_of_all = int(total[1]) if total else start + group * 50
    count = max(0, (end_of_all - start) // group)  # arithmetic, not len(range): a total may exceed sys.maxsize
    requests = []
    for first in range(start + group, start + group * (capped(count, max_pages, listing) + 1), group):
        request = _proxy_request(response, params, first, first + group - 1, per_page)
        if not total:  # no total: walk one group at a time until a group comes back empty
            return [request]
        request.meta["hanweb_followup"] = True
        requests.append(request)
    return requests


def _proxy_request(response: TextResponse, params: dict[str, str], start: int, end: int,
                   per_page: int) -> FormRequest:
    url = response.urljoin(f"{DATAPROXY}?startrecord={start}&endrecord={end}&perpage={per_page}")
    return FormRequest(url, formdata=params, meta={"hanweb_params": params})


def _params(text: str) -> dict[str, str] | None:
    match = _PARAMS.search(text)
    if match is None:
        return None
    return {m[1]: next(v for v in m.groups()[1:] if v is not None) for m in _PAIR.finditer(match[1])}
