"""The visible text of an archived body, for people comparing versions (not for parsing reports).

Bodies are read in the charset the crawl read them in (``page_charset``, shared with the crawl's
CharsetMiddleware): Chinese portals often serve GBK / GB18030 pages with a server default of
``charset=iso-8859-1`` in the header, and trusting it would diff every character as mojibake.
"""

from __future__ import annotations

import re

from bs4 import BeautifulSoup
from w3lib.encoding import html_body_declared_encoding, html_to_unicode, http_content_type_encoding, resolve_encoding

#: What iso-8859-1, latin1, us-ascii and cp1252 all resolve to.
_LATIN = {resolve_encoding("iso-8859-1"), resolve_encoding("ascii")}


def page_charset(content_type: str | None, body: bytes) -> str | None:
    """The page's own ``<meta>`` charset where it overrules a header naming a Latin-1 family charset.

    None where the header is believed (as browsers and w3lib do): one naming anything else, or
    none at all (then the page's declaration is read anyway).
    """
    header = http_content_type_encoding(content_type or "")
    if header is None or resolve_encoding(header) not in _LATIN:
        return None
    declared = html_body_declared_encoding(body)
    if declared and resolve_encoding(declared) not in _LATIN:
        return resolve_encoding(declared)
    return None


def decoded(body: bytes, content_type: str | None) -> str:
    """The body as text by the crawl's rule: a BOM, then the header (unless overruled), then the page's own."""
    overruled = page_charset(content_type, body)
    return html_to_unicode(f"text/html; charset={overruled}" if overruled else content_type, body)[1]


def visible_text(body: bytes, content_type: str | None) -> str | None:
    """Lines of text a reader sees; None for bodies that are not text (PDF, Word, images)."""
    kind = (content_type or "").lower()
    head = body.lstrip()[:512].lower()
    if "html" in kind or (not kind and head.startswith((b"<!doctype html", b"<html"))):
        soup = BeautifulSoup(decoded(body, content_type), "lxml")
        for hidden in soup(["script", "style", "noscript", "template"]):
            hidden.decompose()
        text = soup.get_text("\n")
    elif kind.startswith("text/") or "json" in kind or "xml" in kind:
        text = decoded(body, content_type)
    else:
        return None
    lines = (re.sub(r"\s+", " ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)
