"""One key per URL, whatever variant of it was asked or linked: SURT, as web archives write it.

``http://www.Wanzai.gov.cn:80/a.html#top`` and ``https://wanzai.gov.cn/a.html`` are the same page to
a reader: the catalog's lookups (history, ``archive get``, Memento) match them by this key. It is
the ``surt`` package's key (scheme and ``www.`` dropped, host lower-cased, default port, user info and
fragment dropped, percent-encoding normalised, query arguments sorted) with one difference: the path
and query keep their case. Archives built for case-blind servers fold it; portals here run on case-
sensitive servers too, and two documents must never share a key (a CDX file for pywb, which folds
case itself, keeps using ``surt.surt``'s default).

No network: surt imports tldextract but only calls it for public-suffix options, not used here.
About 50 µs a URL on this machine, so keys are cached (a crawl keys the same URL on write and on lookup).
"""

from __future__ import annotations

from functools import lru_cache

_OPTIONS = {"path_lowercase": False, "query_lowercase": False}


@lru_cache(maxsize=1 << 16)
def url_key(url: str) -> str:
    """The SURT key of ``url`` (``cn,gov,wanzai)/a.html``); raises ValueError for what is not a URL."""
    if not isinstance(url, str) or not url.strip():
        raise ValueError(f"not a URL: {url!r}")
    import surt  # here, not at the top: it imports tldextract and requests (90 ms), which most commands never need

    return surt.surt(url.strip(), **_OPTIONS)
