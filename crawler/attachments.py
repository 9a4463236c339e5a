"""Attachments of a report page, and their real file names.

Reports link their files directly (``./P020240115….pdf``), through download endpoints whose
URL says nothing (``downfile.jsp?filename=3f…pdf``, the name only in Content-Disposition),
or embed them as images (图片版). Names from servers are kept as text in the catalog only.
"""

from __future__ import annotations

import posixpath
import re
from urllib.parse import parse_qs, unquote, urlsplit

from scrapy.http import Response, TextResponse

#: Documents (pdf … dps), archives and images (图片版 reports are images).
EXTENSIONS = frozenset({
    "pdf", "doc", "docx", "wps", "xls", "xlsx", "et", "ofd", "rtf", "txt", "csv", "ppt", "pptx", "dps",
    "zip", "rar", "7z", "jpg", "jpeg", "png", "gif", "bmp", "tif", "tiff",
})
_ENDPOINT = re.compile(r"(downfile|download|filedown|getfile|attach)\w*(\.jsp|\.do|\.aspx?|\.php)?", re.I)
#: Where CMSs put a report's body; images are attachments only inside it, never the site chrome.
_BODY = "#zoom, .TRS_Editor, #UCAP-CONTENT, .article-content, .content, article, #content"
_NAME_PARAMS = ("showname", "filename", "fileName", "name", "title")


def attachment_links(response: TextResponse) -> dict[str, str]:
    """Attachment URLs of a report page, each with its link text (often the only real file name).

    Walks lxml's tree directly: a report page has a hundred links of site chrome, and building a
    Selector for each costs more than the rest of the page's handling.
    """
    links: dict[str, str] = {}
    for a in response.selector.root.iter("a"):
        href = (a.get("href") or "").strip()
        if not href:
            continue
        url = response.urljoin(href)
        if url != response.url and _is_attachment(url):
            links[url] = links.get(url) or " ".join(a.text_content().split())
    for body in response.css(_BODY)[:1]:
        for src in body.root.xpath(".//img/@src"):
            if src.strip() and not src.startswith("data:"):
                links.setdefault(response.urljoin(src.strip()), "")
    return links


def _is_attachment(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        return False
    ext = posixpath.splitext(parts.path)[1].lower().lstrip(".")
    return ext in EXTENSIONS or bool(_ENDPOINT.search(parts.path))


def filename_from(response: Response, link_text: str = "") -> str | None:
    """Content-Disposition (RFC 6266/5987, or raw GBK as many portals send), the link's text, the URL."""
    raw = response.headers.get("Content-Disposition")
    name = content_disposition_filename(raw) if raw else None
    if not name and link_text:
        name = re.sub(r"^附件\s*\d*\s*[:：.、]?\s*", "", link_text)
        ext = posixpath.splitext(urlsplit(response.url).path)[1]
        if ext and not name.lower().endswith(ext.lower()) and ext.lower().lstrip(".") in EXTENSIONS:
            name += ext
    if not name:
        query = parse_qs(urlsplit(response.url).query)
        name = next((query[p][0] for p in _NAME_PARAMS if query.get(p)), None)
    if not name:
        name = unquote(posixpath.basename(urlsplit(response.url).path))
    return safe_name(name) or None


def content_disposition_filename(raw: bytes) -> str | None:
    star = re.search(rb"filename\*\s*=\s*([\w-]+)'[^']*'([^;]+)", raw, re.I)
    if star:
        charset = star[1].decode("ascii", "replace")
        try:
            return unquote(star[2].strip().strip(b'"').decode("ascii", "replace"), encoding=charset, errors="strict")
        except (LookupError, UnicodeDecodeError):
            pass
    plain = re.search(rb'filename\s*=\s*("([^"]*)"|[^;]+)', raw, re.I)
    if not plain:
        return None
    value = (plain[2] if plain[2] is not None else plain[1]).strip()
    for charset in ("utf-8", "gb18030"):
        try:
            text = value.decode(charset)
            break
        except UnicodeDecodeError:
            continue
    else:
        text = value.decode("latin-1")
    return unquote(text) if "%" in text else text


def safe_name(name: str) -> str:
    """A bare file name: no directories, no control characters, at most 200 characters."""
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip().lstrip(".")
    return name[:200]
