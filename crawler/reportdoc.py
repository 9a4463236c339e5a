"""What a fetched report candidate says of itself, for crawler.judge: its full title, text, files, date."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from scrapy.http import Response, TextResponse

from crawler.attachments import attachment_links, filename_from
from crawler.doctext import file_text, page_text
from crawler.judge import published_on
from crawler.titles import classify, is_truncated

_TITLE_SELECTORS = (
    'meta[name="ArticleTitle"]::attr(content)',
    'meta[name="articletitle"]::attr(content)',
    ".article-title::text, .xxgk-title::text, #title::text, h1::text",
    "title::text",
)
_PUBDATE = ('meta[name="PubDate"]::attr(content)', 'meta[name="pubdate"]::attr(content)',
            'meta[name="firstpublishedtime"]::attr(content)')
_SHOWN_DATE = re.compile(r"(发布|公开|成文|发文)(时间|日期)[:：]?\s*(\S{8,12})")


@dataclass
class Document:
    title: str
    #: The visible text of a page, the text of a file ("" for a scan); None when it was not read.
    text: str | None = None
    published: date | None = None
    #: A page's attachments and images (URL → link text): the report may be in them.
    links: dict[str, str] = field(default_factory=dict)


def read_document(response: Response, list_title: str, is_page: bool, unread: str | None) -> Document:
    """The list's title, or the page's (or file's) own where the list cut it short or worded it oddly.

    Runs in a thread: a PDF's text takes a moment to read."""
    if unread:  # too large to hold: judged by its title alone
        return Document(list_title)
    if is_page:
        assert isinstance(response, TextResponse)
        own = page_title(response)
        title = own if own and _better(own, list_title, True) else list_title
        shown = _SHOWN_DATE.search(response.text)
        published = published_on(response.url, *(response.css(s).get() for s in _PUBDATE),
                                 shown[3] if shown else None)
        return Document(title, page_text(response.text), published, attachment_links(response))
    name = filename_from(response)
    title = name if name and _better(name, list_title, False) else list_title
    ctype = content_type(response)
    return Document(title, file_text(response.body, ctype, name), published_on(response.url))


def _better(own: str, list_title: str, is_page: bool) -> bool:
    """The document's own title replaces the list's when the list cut it short or did not name the report;
    a page's own title (解读 …) replaces a title cut short whatever it says: it is the page's word."""
    if classify(own).worth_fetching:
        return is_truncated(list_title) or not classify(list_title).is_report
    return is_page and is_truncated(list_title)


def page_title(response: TextResponse) -> str | None:
    for selector in _TITLE_SELECTORS:
        text = " ".join(t.strip() for t in response.css(selector).getall() if t.strip())
        if text:
            return re.sub(r"\s*[-_|].{0,30}(政府|门户|网站)[^-_|]*$", "", text).strip()
    return None


def content_type(response: Response) -> str | None:
    return (response.headers.get("Content-Type") or b"").decode("latin-1") or None
