"""Plain text (a report pasted as text, or text a converter gave): a line is a paragraph, a run of
tab-separated lines is a table (its cells split on tabs, as text extractors lay table rows out)."""

from __future__ import annotations

from parsing.document import Block, Document, Table


def read_text(text: str, format: str = "text") -> Document:
    blocks: list[Block] = []
    rows: list[list[str]] = []

    def flush() -> None:
        if rows:
            width = max(len(r) for r in rows)
            number = sum(isinstance(b, Table) for b in blocks) + 1
            blocks.append(Table([r + [""] * (width - len(r)) for r in rows], f"table {number}"))
            rows.clear()

    for line in text.splitlines():
        if "\t" in line.strip("\n"):
            rows.append([cell.strip() for cell in line.split("\t")])
        elif line.strip():
            flush()
            blocks.append(line.strip())
    flush()
    return Document(format, blocks)
