"""What a fetched report candidate says of itself, for crawler.judge: its full title, text, files, date.

Reading is the costliest part of a crawl after fetching (a page's tree, a PDF's text layer, a Word file's
XML), so it runs where the judge runs: in a worker process (crawler.extensions.documents). What crosses
to it is a ``Fetched`` (bytes in) and a ``Task``; what comes back is a ``Judged``: the judgement and the few
facts the spider needs, never the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date

from scrapy.http import Response, TextResponse

from crawler.attachments import attachment_links, filename_from
from crawler.doctext import file_text, visible_text
from crawler.judge import Judgement, judge, published_on
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


@dataclass(frozen=True)
class Fetched:
    """A response as a worker process gets it: what reading needs, and nothing a pipe cannot carry."""

    cls: type[Response]
    url: str
    status: int
    headers: dict[bytes, list[bytes]]
    body: bytes
    #: The encoding the crawl settled on (crawler.downloadermiddlewares.charset), if it overruled the header.
    encoding: str | None

    @classmethod
    def of(cls, response: Response) -> Fetched:
        # TextResponse keeps an explicitly given encoding in _encoding; the rest it infers from headers and body
        # again, as here: asking .encoding would decode a body without a declared charset in the reactor.
        return cls(type(response), response.url, response.status, dict(response.headers), response.body,
                   getattr(response, "_encoding", None))

    def response(self) -> Response:
        extra = {"encoding": self.encoding} if self.encoding else {}
        return self.cls(self.url, status=self.status, headers=self.headers, body=self.body, **extra)


@dataclass(frozen=True)
class Task:
    """How to judge a fetched report candidate or attachment (see ``judged``)."""

    fetched: Fetched
    #: The list's title of a report candidate; the report's title (or the file name) of an attachment.
    title: str
    county: str
    min_markers: int
    #: A report candidate: an HTML page (read as a page) or a directly linked file; None for an attachment.
    is_page: bool | None = None
    #: An attachment's file name, as the spider settled it (Content-Disposition, link text, URL).
    filename: str | None = None


@dataclass(frozen=True)
class Judged:
    """What the spider needs of a read document: the judgement and the facts a capture records."""

    judgement: Judgement
    title: str
    published: date | None = None
    links: dict[str, str] = field(default_factory=dict)
    #: False when judged by its title alone (too large to hold, not read in time).
    read: bool = True


def judged(task: Task) -> Judged:
    """Read a fetched document and judge it: the one function the worker processes run."""
    response = task.fetched.response()
    if task.is_page is None:
        text = file_text(response.body, content_type(response), task.filename)
        return Judged(judge(task.title, task.county, text, is_file=True, min_markers=task.min_markers), task.title)
    document = read_document(response, task.title, task.is_page)
    found = judge(document.title, task.county, document.text, published=document.published,
                  wraps=len(document.links), is_file=not task.is_page, min_markers=task.min_markers)
    return Judged(found, document.title, document.published, document.links)


def by_title(task: Task, why: str | None = None) -> Judged:
    """A document not read (too large to hold; ``why``: not read in time, its reader crashed): its title judged."""
    found = judge(task.title, task.county)
    return Judged(replace(found, why=f"{found.why}; {why}") if why else found, task.title, read=False)


def read_document(response: Response, list_title: str, is_page: bool) -> Document:
    """The list's title, or the page's (or file's) own where the list cut it short or worded it oddly."""
    if is_page:
        assert isinstance(response, TextResponse)
        own = page_title(response)
        title = own if own and _better(own, list_title, True) else list_title
        shown = _SHOWN_DATE.search(response.text)
        published = published_on(response.url, *(response.css(s).get() for s in _PUBDATE),
                                 shown[3] if shown else None)
        links = attachment_links(response)
        return Document(title, visible_text(response.selector.root), published, links)  # last: it prunes the tree
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
