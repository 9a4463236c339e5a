"""What any report file is once read, whatever its format: paragraphs and tables in reading order.

Every reader in ``parsing.formats`` produces this and nothing else, so the template reader
(``parsing.template``) never knows whether a grid came from HTML, a Word table, a PDF page or OCR.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Table:
    """A table as a full grid: a merged cell's text repeated in every grid position it covers
    (as python-docx's ``row.cells`` gives it), so row i column j is always ``rows[i][j]``."""

    rows: list[list[str]]
    #: Where it came from, for people: "page 3–4", "table 2", "sheet 1".
    where: str
    #: 1-based pages it spans (PDF, images); () where a format has no pages.
    pages: tuple[int, ...] = ()
    #: Mean OCR confidence (0–1) of its cells; None when the text was not recognised from pixels.
    confidence: float | None = None


#: A paragraph's text, or a table.
Block = str | Table


@dataclass
class Document:
    #: html, docx, pdf, doc, wps, rtf, xlsx, xls, image, text
    format: str
    blocks: list[Block] = field(default_factory=list)
    pages: int | None = None
    #: Mean OCR confidence (0–1) over the document; None when no OCR was needed.
    confidence: float | None = None
    #: What a reader noticed on the way (a garbled text layer re-read with PyMuPDF, a table stitched across pages).
    notes: list[str] = field(default_factory=list)

    @property
    def paragraphs(self) -> list[str]:
        return [b for b in self.blocks if isinstance(b, str)]

    @property
    def tables(self) -> list[Table]:
        return [b for b in self.blocks if isinstance(b, Table)]

    @property
    def text(self) -> str:
        """The paragraphs, one a line (table cells excluded)."""
        return "\n".join(self.paragraphs)


class Unreadable(Exception):
    """A file that cannot be read: the message says why (recorded against the body, never retried)."""
