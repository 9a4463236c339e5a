"""A report as a PDF with a Chinese text layer (and a page of it as a PNG, as scans are published).

Laid out by MuPDF's HTML engine (pymupdf.Story) from the report's print version, in MuPDF's built-in CJK
font subset into the file (~40 KB; the system's Noto CJK collections cannot be subset and would weigh
13 MB a file). Font size and margins vary by report, so the application table starts at different heights
and sometimes runs across a page break, as in real PDFs.

The pages are cut here, not by the Story: at a page break inside a table MuPDF draws the rest of the table
(and what follows) past the page's edges or not at all, while the report claims those numbers. So each page
gets exactly the paragraphs and table rows that fit it, and a table cut by the page goes on as a table of its
own on the next, with the whole table's cell widths (as Word prints it) and a merged cell cut there going on
blank below the cut.
"""

from __future__ import annotations

import hashlib
import io
import random
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .documents import TABLE, TABLES, Grid, Report, Span, grids
from .report_html import Style, report_html, table_html

if TYPE_CHECKING:
    import pymupdf

_CSS = ("* {{font-size: {size}pt; line-height: 1.4}} p {{margin: 0 0 {gap}pt 0}} "
        "table {{border-collapse: collapse; margin: 4pt 0}} "
        "td, th {{border: 0.5pt solid black; padding: 1pt; text-align: center; font-weight: normal}}")
_CELL = re.compile(r"<(td|th)(?=[ >])")


@dataclass(frozen=True)
class _Layout:
    style: Style
    css: str
    frame: pymupdf.Rect  # the page inside its margins


@dataclass(frozen=True)
class _Rows:
    """Rows [start, end) of a table: the fewest a page may hold of it."""

    grid: Grid
    start: int
    end: int
    widths: dict[Span, float]  # every cell's width as the whole table lays it out


def make_pdf(report: Report, tables: tuple[str, ...] = ()) -> bytes:
    """The report's PDF; with `tables` (names in documents.TABLES) only its title and those tables, each under
    its section heading, in small print."""
    import pymupdf

    rng = random.Random(f"pdf:{report.identity}")
    size, margin = rng.choice([9, 10, 10.5, 11, 12]), rng.choice([40, 56, 72])
    if tables:
        wanted = {f"{TABLE}{name}" for name in tables}
        lines = report.lines
        kept = [line for k, line in enumerate(lines)
                if line in wanted or (k + 1 < len(lines) and lines[k + 1] in wanted)]  # a table and its heading
        report = replace(report, lines=tuple(kept))
        size, margin = 7.5, 24
    style = Style(header_tag=rng.choice(["td", "th"]))
    css = _CSS.format(size=size, gap=rng.choice([2, 4, 6]))
    page = pymupdf.paper_rect("a4")
    layout = _Layout(style, css, page + (margin, margin, -margin, -margin))
    raw = io.BytesIO()
    writer = pymupdf.DocumentWriter(raw)
    for html in _pages(_blocks(report, layout), layout):
        story = pymupdf.Story(html, user_css=layout.css)
        if not _fits(story, layout.frame):
            raise AssertionError(f"a page of {report.identity} overflows")
        device = writer.begin_page(page)
        story.draw(device)
        writer.end_page()
    writer.close()
    document = pymupdf.open("pdf", raw.getvalue())
    document.subset_fonts()
    document.set_metadata({"title": report.title, "producer": "nianbao simulator", "subject": "nianbao-sim"})
    body = document.tobytes(garbage=3, deflate=True)
    # MuPDF draws the file /ID at random; the same report must give the same bytes (same length: offsets hold).
    fixed = hashlib.md5(report.identity.encode()).hexdigest().upper().encode()
    return re.sub(rb"/ID\[<[0-9A-Fa-f]{32}><[0-9A-Fa-f]{32}>\]", b"/ID[<" + fixed + b"><" + fixed + b">]", body)


def _blocks(report: Report, layout: _Layout) -> list[str | _Rows]:
    """The print version in order: each paragraph's HTML (the title first), each table as its row groups."""
    tables = grids(report, layout.style.header, layout.style.merged)
    prose = replace(report, lines=tuple(line for line in report.lines if not line.startswith(TABLE)))
    paragraphs = iter(report_html(prose, layout.style, title=True).split("\n"))  # one line of HTML a paragraph
    out: list[str | _Rows] = [next(paragraphs)]
    for line in report.lines:
        if not line.startswith(TABLE):
            out.append(next(paragraphs))
            continue
        grid = tables[line.removeprefix(TABLE)]
        widths = _widths(grid, layout)
        cuts = _cuts(grid)
        out += [_Rows(grid, a, b, widths) for a, b in zip(cuts, cuts[1:], strict=False)]
    return out


def _cuts(grid: Grid) -> list[int]:
    """Where a page may cut the table: between any two rows after its head and first row of numbers (the head
    is not left alone at a page's foot)."""
    first = min(s.row for s in grid.spans if s.key)
    return [0, *range(first + 1, grid.rows + 1)]


def _widths(grid: Grid, layout: _Layout) -> dict[Span, float]:
    """Each cell's width in the whole table, laid out alone in the page's width."""
    import pymupdf

    cells = [s for row in grid.by_row() for s in row]
    numbered = iter(range(len(cells)))
    html = _CELL.sub(lambda m: f'<{m[1]} id="cell{next(numbered)}"', table_html(grid, layout.style))
    story = pymupdf.Story(html, user_css=layout.css)
    story.place(layout.frame + (0, 0, 0, 1e5))
    widths: dict[Span, float] = {}

    def seen(position: pymupdf.ElementPosition) -> None:
        if position.open_close & 1 and position.id.startswith("cell"):
            widths[cells[int(position.id.removeprefix("cell"))]] = position.rect[2] - position.rect[0]

    story.element_positions(seen)
    return widths


def _part(rows: _Rows, end: int, style: Style) -> str:
    """Rows [rows.start, end) of the table as a table of their own, each cell as wide as in the whole table; a
    merged cell cut by a bound is cut there too, its text in its first part."""
    width: dict[Span, float] = {}
    for s in rows.grid.spans:
        top, bottom = max(s.row, rows.start), min(s.row + s.rowspan, end)
        if top < bottom:
            cut = replace(s, row=top - rows.start, rowspan=bottom - top, text=s.text if top == s.row else "")
            width[cut] = rows.widths[s]
    part = Grid(rows.grid.name, end - rows.start, rows.grid.cols, tuple(width))
    ordered = iter([width[s] for row in part.by_row() for s in row])  # table_html's order of the cells
    return _CELL.sub(lambda m: f'<{m[1]} style="width:{next(ordered):.2f}pt"', table_html(part, style))


def _html(blocks: list[str | _Rows], layout: _Layout) -> str:
    """A page's HTML: its paragraphs, and the rows of each table on it as one table."""
    out: list[str] = []
    k = 0
    while k < len(blocks):
        block = blocks[k]
        if isinstance(block, str):
            out.append(block)
            k += 1
            continue
        end = k
        while end + 1 < len(blocks) and isinstance(blocks[end + 1], _Rows) and blocks[end + 1].grid is block.grid:
            end += 1
        out.append(_part(block, blocks[end].end, layout.style))
        k = end + 1
    return "\n".join(out)


def _fits(story: pymupdf.Story, frame: pymupdf.Rect) -> bool:
    """Whether all of the story is placed in the frame. MuPDF does not cut a table at the frame's foot: it
    places it whole, past the foot, and may still say nothing is left, so where it ended must be looked at."""
    more, filled = story.place(frame)
    return not more and filled[3] <= frame.y1 + 0.01


def _pages(blocks: list[str | _Rows], layout: _Layout) -> list[str]:
    """The blocks cut into pages, each with as many as fit it (found by bisection, a Story laid out a try)."""
    import pymupdf

    def fits(start: int, end: int) -> bool:
        return _fits(pymupdf.Story(_html(blocks[start:end], layout), user_css=layout.css), layout.frame)

    pages = []
    start = 0
    while start < len(blocks):
        if not fits(start, start + 1):
            raise ValueError(f"a block is taller than a page: {blocks[start]!r:.80}")
        low, high = start + 1, len(blocks)  # blocks[start:low] fit; the most that fit end in [low, high]
        while low < high:
            mid = (low + high + 1) // 2
            low, high = (mid, high) if fits(start, mid) else (low, mid - 1)
        pages.append(_html(blocks[start:low], layout))
        start = low
    return pages


def make_png(report: Report, tables: tuple[str, ...] = TABLES, dpi: int = 150) -> bytes:
    """The report's tables as pixels, as an image-only (图片版) report or a scanned 附表 shows them."""
    import pymupdf

    document = pymupdf.open("pdf", make_pdf(report, tables))
    if len(document) != 1:
        raise ValueError(f"the tables of {report.identity} take {len(document)} pages")
    page = document[0]
    inked = pymupdf.Rect()
    for drawn in page.get_drawings():
        inked |= drawn["rect"]
    for block in page.get_text("blocks"):
        inked |= block[:4]
    clip = (inked + (-12, -12, 12, 12)) & page.rect  # the page cropped to what is printed, as a scanner's
    return page.get_pixmap(dpi=dpi, clip=clip).tobytes("png")
