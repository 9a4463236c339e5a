"""The visible text of an archived body, for people comparing versions (not for parsing reports)."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup
from w3lib.encoding import http_content_type_encoding


def visible_text(body: bytes, content_type: str | None) -> str | None:
    """Lines of text a reader sees; None for bodies that are not text (PDF, Word, images)."""
    kind = (content_type or "").lower()
    head = body.lstrip()[:512].lower()
    if "html" in kind or (not kind and head.startswith((b"<!doctype html", b"<html"))):
        soup = BeautifulSoup(body, "lxml", from_encoding=http_content_type_encoding(content_type or ""))
        for hidden in soup(["script", "style", "noscript", "template"]):
            hidden.decompose()
        text = soup.get_text("\n")
    elif kind.startswith("text/") or "json" in kind or "xml" in kind:
        text = body.decode(http_content_type_encoding(content_type or "") or "utf-8", "replace")
    else:
        return None
    lines = (re.sub(r"\s+", " ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)
