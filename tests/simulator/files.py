"""Attachment bodies: real PDFs/DOCX where we have them, small generated files otherwise.

Every body gets a unique tag (usually its URL) mixed in, so no two attachments share a sha256 —
the archive dedupes by content hash and a test must be able to tell planted files apart.
"""

from __future__ import annotations

import functools
import io
import os
import zipfile
from pathlib import Path

BUNDLED = Path(__file__).with_name("corpus")
TEMPLATE_DOCX = BUNDLED / "report-template-2021.docx"

CONTENT_TYPES = {
    "pdf": "application/pdf",
    "doc": "application/msword",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "wps": "application/kswps",
    "xls": "application/vnd.ms-excel",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def shared_corpus() -> Path | None:
    """The shared real corpus (`$NIANBAO_CORPUS`, else `../shared/corpus` next to the repo), if present."""
    env = os.environ.get("NIANBAO_CORPUS")
    path = Path(env) if env else Path(__file__).resolve().parents[3] / "shared" / "corpus"
    return path if path.is_dir() else None


@functools.cache
def real_pdfs() -> tuple[bytes, ...]:
    """Real published report PDFs, sorted by path so the choice is deterministic; () without the corpus."""
    corpus = shared_corpus()
    if corpus is None:
        return ()
    return tuple(p.read_bytes() for p in sorted((corpus / "real").rglob("*.pdf")))


def _pdf_text(s: str) -> str:
    return s.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(title: str, lines: list[str], tag: str) -> bytes:
    """A small but valid one-page PDF (correct xref) whose /Title carries the Chinese title."""
    ops = ["BT", "/F1 11 Tf", "14 TL", "72 770 Td"]
    ops += [f"({_pdf_text(line)}) '" for line in [*lines, f"id: {tag}"]]
    ops.append("ET")
    stream = "\n".join(ops).encode("latin-1", "replace")
    title_hex = (b"\xfe\xff" + title.encode("utf-16-be")).hex().upper()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Title <%s> /Producer (nianbao simulator) >>" % title_hex.encode(),
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, obj in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + obj + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\n" % (len(objects) + 1)
    out += b"startxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def make_docx(tag: str) -> bytes:
    """The bundled official blank template, re-zipped with the tag as the ZIP comment (stays a valid docx)."""
    src = zipfile.ZipFile(TEMPLATE_DOCX)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.comment = f"nianbao-sim {tag}".encode()
    return buf.getvalue()


def make_ole(title: str, tag: str) -> bytes:
    """Stand-in for .doc/.wps/.xls: OLE2 magic + text, enough for type sniffing, not a parseable file."""
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16 + b"\x3e\x00\x03\x00\xfe\xff\x09\x00"
    return header.ljust(512, b"\x00") + title.encode("utf-16-le") + f"\x00nianbao-sim {tag}".encode()


class FileFactory:
    """Makes attachment bodies; every third PDF is a real one, at most `real_pdf_budget` (they are large)."""

    def __init__(self, real_pdf_budget: int) -> None:
        self.real_pdf_budget = real_pdf_budget
        self._used = 0
        self._pdfs = 0

    def make(self, ext: str, title: str, year: int | None, tag: str) -> bytes:
        if ext == "pdf":
            reals = real_pdfs()
            self._pdfs += 1
            if reals and self._used < self.real_pdf_budget and self._pdfs % 3 == 1:
                body = reals[self._used % len(reals)]
                self._used += 1
                return body + f"\n%nianbao-sim {tag}\n".encode()
            lines = ["Government information disclosure annual report", f"Year: {year or '-'}"]
            return make_pdf(title, lines, tag)
        if ext == "docx":
            return make_docx(tag)
        return make_ole(title, tag)


class LazyBody:
    """A huge file body made on the fly in chunks: its length is known, its bytes are never all in memory.

    Oversize attachments (300 MB scans) must cost nothing unless a client actually downloads them.
    """

    CHUNK = 1 << 16

    def __init__(self, length: int, tag: str) -> None:
        self.length = length
        self._head = f"%PDF-1.4\n%nianbao-sim oversize {tag}\n".encode()
        self._fill = (b"% scanned page data " + b"." * 43 + b"\n") * (self.CHUNK // 64)

    def __len__(self) -> int:
        return self.length

    def chunks(self):
        """The body, CHUNK bytes at a time (deterministic)."""
        sent = 0
        first = self._head + self._fill[len(self._head):]
        while sent < self.length:
            piece = (first if sent == 0 else self._fill)[: self.length - sent]
            sent += len(piece)
            yield piece
