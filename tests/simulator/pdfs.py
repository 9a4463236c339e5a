"""A report as a PDF with a Chinese text layer (and a page of it as a PNG, as scans are published).

Laid out by MuPDF's HTML engine (pymupdf.Story) from the report's print version, in MuPDF's built-in CJK
font subset into the file (~40 KB; the system's Noto CJK collections cannot be subset and would weigh
13 MB a file). Font size and margins vary by report, so the application table starts at different heights
and sometimes runs across a page break, as in real PDFs.
"""

from __future__ import annotations

import hashlib
import io
import random
import re
from dataclasses import replace

from .documents import TABLE, TABLES, Report
from .report_html import Style, report_html

_CSS = ("* {{font-size: {size}pt; line-height: 1.4}} p {{margin: 0 0 {gap}pt 0}} "
        "table {{border-collapse: collapse; margin: 4pt 0}} "
        "td, th {{border: 0.5pt solid black; padding: 1pt; text-align: center; font-weight: normal}}")


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
    story = pymupdf.Story(report_html(report, Style(header_tag=rng.choice(["td", "th"])), title=True),
                          user_css=_CSS.format(size=size, gap=rng.choice([2, 4, 6])))
    page = pymupdf.paper_rect("a4")
    raw = io.BytesIO()
    writer = pymupdf.DocumentWriter(raw)
    more = True
    while more:
        device = writer.begin_page(page)
        more, _ = story.place(page + (margin, margin, -margin, -margin))
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
