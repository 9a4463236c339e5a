"""An HTML report page: the report's own paragraphs and tables, without the portal around them.

A county portal's detail page wraps a report in navigation, headers, footers, sidebars, share
bars and lists of related links, and puts the report itself in one container (``#zoom``,
``.TRS_Editor``, ``#UCAP-CONTENT`` … in the common CMSes, an unnamed ``<div>`` or a layout table's
cell elsewhere). That container is where the page's own text is: chrome is mostly link text, so the
container is found by weighing text that is not inside a link, with the CMS names as the first guess.
"""

from __future__ import annotations

import re

import lxml.html
from lxml import etree
from w3lib.encoding import html_to_unicode

from parsing.document import Block, Document, Table, Unreadable
from parsing.formats.limits import CJK, MAX_DOCUMENT_CELLS, MAX_GRID_CELLS

#: Containers the common CMSes put a report's body in (ids and classes, compared case-insensitively).
CMS_CONTAINERS = frozenset(
    (
        "zoom", "trs_editor", "article-content", "ucap-content", "ucapcontent", "bt-content", "pages_content", "wzcon",
        "view", "content", "article_content", "news_content", "detail-content", "xxgk_content",
    )
)
#: Tokens of ids and classes that mark a portal's chrome rather than the report.
CHROME_TOKENS = frozenset(
    (
        "nav", "navbar", "menu", "footer", "sidebar", "breadcrumb", "crumb", "share", "bshare", "related", "relate",
        "xgxx", "xglj", "xgwz", "friendlink", "links", "copyright", "banner", "toolbar",
    )
)
_DROPPED_TAGS = frozenset(
    (
        "script", "style", "noscript", "template", "head", "title", "iframe", "object", "embed", "svg", "canvas",
        "select", "button", "input", "textarea", "nav", "aside", "footer",
    )
)
_BLOCK_TAGS = frozenset(
    (
        "html", "body", "p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol", "dl", "dt", "dd", "section",
        "article", "main", "blockquote", "pre", "center", "address", "figure", "figcaption", "header", "footer", "form",
        "fieldset", "hr", "caption", "tr", "td", "th", "ucapcontent",
    )
)
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_SIMPLE_SELECTOR = re.compile(r"^([.#])([\w-]+)$")
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>")
_SPACE = re.compile(r"[\s\u00a0\u3000\u200b\ufeff]+")
_SPACE_BETWEEN_CJK = re.compile(f"(?<=[{CJK}]) (?=[{CJK}])")
#: A child holding this share of its parent's own text is where the report is (the rest is chrome).
_DESCEND_SHARE = 0.85
_MAX_DEPTH = 200
#: Spans as browsers clamp them (the HTML standard: colspan at most 1000, rowspan 65534).
_MAX_COLSPAN, _MAX_ROWSPAN = 1000, 65534


def read_html(body: bytes, content_type: str | None = None) -> Document:
    _, text = html_to_unicode(content_type, body)
    text = _XML_DECLARATION.sub("", text)
    if not text.strip():
        raise Unreadable("HTML: the page is empty")
    try:
        root = lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError) as e:
        raise Unreadable(f"HTML: cannot parse the page ({e})") from e
    _drop_invisible_and_chrome(root)
    weights = _weights(root)
    container = _container(root, weights)
    blocks = _Flow().read(container)
    cells = sum(len(b.rows) * len(b.rows[0]) for b in blocks if isinstance(b, Table) and b.rows)
    if cells > MAX_DOCUMENT_CELLS:
        raise Unreadable(f"HTML: its tables hold {cells} cells, more than the {MAX_DOCUMENT_CELLS} a report can")
    title = _title_before(root, container)
    if title and not any(isinstance(b, str) and title in b and len(b) < 2 * len(title) for b in blocks[:3]):
        blocks.insert(0, title)  # unless the body repeats it as its own heading (a sentence naming it does not)
    return Document("html", blocks)


def _drop_invisible_and_chrome(root: lxml.html.HtmlElement) -> None:
    hidden_classes, hidden_ids = _hidden_by_stylesheet(root)
    doomed = []
    for el in root.iter():
        if not isinstance(el.tag, str):  # comments, processing instructions
            doomed.append(el)
            continue
        tag = el.tag.lower()
        tokens = {t for v in (el.get("id", ""), el.get("class", "")) for t in re.split(r"[\s_-]+", v.lower()) if t}
        if (
            tag in _DROPPED_TAGS
            or el.get("hidden") is not None
            or _HIDDEN_STYLE.search(el.get("style", ""))
            or el.get("id") in hidden_ids
            or hidden_classes.intersection(el.get("class", "").split())
            or (tokens & CHROME_TOKENS and not _names_container(el))
            or (tag in ("ul", "ol") and _is_link_list(el))
        ):
            doomed.append(el)
    for el in doomed:
        if el.getparent() is not None:
            el.drop_tree()  # keeps the tail text, which belongs to the parent


def _hidden_by_stylesheet(root: lxml.html.HtmlElement) -> tuple[set[str], set[str]]:
    """Classes and ids the page's own ``<style>`` hides (``.hide{display:none}``): CMSes keep old
    versions and print-only copies of a report in the page that way. Only plain ``.class`` and ``#id``
    selectors are believed; a compound selector could hide more than it says."""
    classes: set[str] = set()
    ids: set[str] = set()
    for style in root.iter("style"):
        for selectors, declarations in _rules(style.text_content()):
            if _HIDDEN_STYLE.search(declarations):
                for selector in selectors.split(","):
                    match = _SIMPLE_SELECTOR.match(selector.strip())
                    if match:
                        (classes if match.group(1) == "." else ids).add(match.group(2))
    return classes, ids


def _rules(css: str) -> list[tuple[str, str]]:
    """(selectors, declarations) of a stylesheet's plain rules, in one pass (a backtracking pattern over a
    style without braces is quadratic: 20 KB took 3.5 s). Rules nested in @media are read as plain ones."""
    rules = []
    for chunk in css.split("}"):
        selectors, brace, declarations = chunk.rpartition("{")
        if brace and selectors.strip():
            rules.append((selectors.rpartition("{")[2], declarations))
    return rules


def _names_container(el: lxml.html.HtmlElement) -> bool:
    names = {el.get("id", "").lower(), *el.get("class", "").lower().split()}
    return bool(names & CMS_CONTAINERS)


def _is_link_list(el: lxml.html.HtmlElement) -> bool:
    links = el.findall(".//a")
    text = _compact(el.text_content())
    return len(links) >= 3 and sum(len(_compact(a.text_content())) for a in links) >= 0.8 * len(text)


def _compact(s: str) -> str:
    return "".join(s.split())


def _weights(root: lxml.html.HtmlElement) -> dict[lxml.html.HtmlElement, int]:
    """Each element's count of visible characters not inside a link, children before parents."""
    weights: dict[lxml.html.HtmlElement, int] = {}
    for el in reversed(list(root.iter())):
        if el.tag == "a":
            weights[el] = 0
            continue
        own = len(_compact(el.text or ""))
        weights[el] = own + sum(weights.get(c, 0) + len(_compact(c.tail or "")) for c in el)
    return weights


def _container(root: lxml.html.HtmlElement, weights: dict) -> lxml.html.HtmlElement:
    body = root.find("body")
    top = body if body is not None else root
    total = weights.get(top, 0)
    named = [el for el in top.iter() if _names_container(el) and weights.get(el, 0) >= 0.5 * total]
    if named:
        # the innermost of nested names (``.content`` around ``#zoom``) unless it leaves much outside
        heaviest = max(weights[el] for el in named)
        return max(named, key=lambda el: (weights[el] >= 0.7 * heaviest, len(list(el.iterancestors()))))
    here = top
    while True:
        heavy = [c for c in here if weights.get(c, 0) >= _DESCEND_SHARE * max(weights.get(here, 0), 1)]
        if not heavy or (heavy[0].tag == "table" and not _is_layout(heavy[0])):
            return here
        here = heavy[0]


def _title_before(root: lxml.html.HtmlElement, container: lxml.html.HtmlElement) -> str | None:
    """The page's heading when it stands outside the body's container (``<h1>`` above ``#zoom``)."""
    title = None
    for el in root.iter():
        if el is container:
            return title
        if el.tag in ("h1", "h2", "h3") or "title" in re.split(r"[\s_-]+", el.get("class", "").lower()):
            text = _clean(el.text_content())
            if 4 <= len(text) <= 120 and el.find(".//a") is None:
                title = text
    return None


def _is_layout(table: lxml.html.HtmlElement) -> bool:
    """A table used to lay the page out, not to hold data: it holds tables, has one column, or long text."""
    if table.find(".//table") is not None:
        return True
    rows = _rows(table)
    if max((len(_cells(tr)) for tr in rows), default=0) <= 1:
        return True
    return any(len(_compact(c.text_content())) > 400 for tr in rows for c in _cells(tr))


def _rows(table: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
    rows = []
    for child in table:
        if child.tag == "tr":
            rows.append(child)
        elif child.tag in ("thead", "tbody", "tfoot"):
            rows.extend(tr for tr in child if tr.tag == "tr")
    return rows


def _cells(tr: lxml.html.HtmlElement) -> list[lxml.html.HtmlElement]:
    return [c for c in tr if c.tag in ("td", "th")]


def _span(cell: lxml.html.HtmlElement, attribute: str, rest: int) -> int:
    match = re.match(r"\s*(\d+)", cell.get(attribute, "1"))
    n = int(match.group(1)) if match else 1
    if n == 0 and attribute == "rowspan":
        return rest  # rowspan="0": to the end of the table
    return max(1, min(n, _MAX_ROWSPAN, rest) if attribute == "rowspan" else min(n, _MAX_COLSPAN))


def table_grid(table: lxml.html.HtmlElement) -> list[list[str]]:
    """The table as a full grid, rowspans and colspans expanded as a browser lays them out. Raises
    Unreadable for a grid past ``MAX_GRID_CELLS`` (spans are what make a small page a huge grid)."""
    rows = _rows(table)
    grid: dict[tuple[int, int], str] = {}
    for r, tr in enumerate(rows):
        c = 0
        for cell in _cells(tr):
            while (r, c) in grid:
                c += 1
            rowspan, colspan = _span(cell, "rowspan", len(rows) - r), _span(cell, "colspan", 0)
            if len(grid) + rowspan * colspan > MAX_GRID_CELLS:
                raise Unreadable(f"HTML: a table of more than {MAX_GRID_CELLS} cells (its spans reach "
                                 f"{len(rows)} rows × {c + colspan} columns)")
            text = "\n".join(b for b in _Flow(flat=True).read(cell) if isinstance(b, str))
            for dr in range(rowspan):
                for dc in range(colspan):
                    grid[(r + dr, c + dc)] = text
            c += colspan
    width = max((c for _, c in grid), default=-1) + 1
    if width * len(rows) > MAX_GRID_CELLS:
        raise Unreadable(f"HTML: a table of {len(rows)} rows × {width} columns, more than {MAX_GRID_CELLS} cells")
    return [[grid.get((r, c), "") for c in range(width)] for r in range(len(rows))]


def _clean(text: str) -> str:
    return _SPACE_BETWEEN_CJK.sub("", _SPACE.sub(" ", text)).strip()


class _Flow:
    """Walks an element in document order, making a paragraph of each run of inline text between
    block boundaries (and ``<br>``s) and a Table of each data table. ``flat`` (a cell's content)
    reads a nested table as lines of text instead."""

    def __init__(self, flat: bool = False) -> None:
        self.flat = flat
        self.blocks: list[Block] = []
        self.line: list[str] = []

    def read(self, el: lxml.html.HtmlElement) -> list[Block]:
        self._walk(el, 0)
        self._flush()
        return self.blocks

    def _flush(self) -> None:
        text = _clean("".join(self.line))
        if text:
            self.blocks.append(text)
        self.line.clear()

    def _walk(self, el: lxml.html.HtmlElement, depth: int) -> None:
        tag = el.tag
        if tag == "br":
            self._flush()
        elif tag == "table" and not _is_layout(el):
            self._flush()
            grid = table_grid(el)
            caption = el.find("caption")
            if caption is not None and _clean(caption.text_content()):
                self.blocks.append(_clean(caption.text_content()))
            if self.flat:
                self.blocks.extend(" ".join(row) for row in grid)
            elif grid:
                tables = sum(isinstance(b, Table) for b in self.blocks)
                self.blocks.append(Table(grid, f"table {tables + 1}"))
        elif depth > _MAX_DEPTH:
            self.line.append(el.text_content())
        else:
            block = tag in _BLOCK_TAGS or tag == "table"
            if block:
                self._flush()
            if tag != "caption":
                self.line.append(el.text or "")
                for child in el:
                    self._walk(child, depth + 1)
                    self.line.append(child.tail or "")
            if block:
                self._flush()
