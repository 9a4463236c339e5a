"""Attachment bodies: a few real PDFs, the others rendered from the report they belong to — its own numbers
in a PDF, DOCX, XLSX, or LibreOffice's DOC/WPS/XLS — and small stand-ins where nothing is known of a report.

Every body gets a unique tag (usually its URL) mixed in, so no two attachments share a sha256 —
the archive dedupes by content hash and a test must be able to tell planted files apart. What each body
is (`Served`) is recorded by its tag, for `World.expected_readings()`.
"""

from __future__ import annotations

import functools
import io
import os
import random
import re
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import legacy
from .rendered import rendered

if TYPE_CHECKING:
    from .documents import Report

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


@dataclass(frozen=True)
class Served:
    """What the world serves at a URL: a rendered report (`report` known) or a body without known numbers
    (`report` None: a real PDF, an OLE2 stand-in when LibreOffice is missing, the blank template)."""

    format: str  # html, pdf, docx, doc, wps, xls, xlsx, png; real-pdf, stand-in
    report: Report | None = None

    def expected(self) -> dict | None:
        """The reading a parser should make of the body, or None when the simulator does not know it."""
        if self.report is None:
            return None
        r = self.report
        return {"format": self.format, "template": r.template, "year": r.year, "agency": r.agency, "title": r.title,
                "cells": dict(r.stats.cells), "failing": sorted(r.stats.failing), "planted": r.stats.planted}


class FileFactory:
    """Makes attachment bodies: every third PDF is a real one (at most `real_pdf_budget`: they are large), the
    others rendered from the report they belong to (pdfs.py, office.py; legacy.py pools the old binary kinds).

    `served` collects what each body is (by its tag, the URL it is served at) for `World.expected_readings()`.
    `distinct` bounds how many bodies of one kind are rendered; past it, rendered ones are served again with
    the new tag (the benchmark world's thousands of files stay cheap). Rendering is cached (rendered.py).
    """

    def __init__(self, real_pdf_budget: int, served: dict[str, Served] | None = None,
                 distinct: int | None = None) -> None:
        self.real_pdf_budget = real_pdf_budget
        self.served: dict[str, Served] = {} if served is None else served
        self.distinct = distinct
        self._used = 0
        self._pdfs = 0
        self._rendered: dict[str, list[tuple[Report, bytes]]] = {}
        self._counts: Counter[str] = Counter()

    def make(self, ext: str, title: str, year: int | None, tag: str, report: Report | None = None) -> bytes:
        if ext == "pdf":
            reals = real_pdfs()
            self._pdfs += 1
            if reals and self._used < self.real_pdf_budget and self._pdfs % 3 == 1:
                body = reals[self._used % len(reals)]
                self._used += 1
                self.served[tag] = Served("real-pdf")
                return body + f"\n%nianbao-sim {tag}\n".encode()
        if report is None:
            self.served[tag] = Served("stand-in")
            lines = ["Government information disclosure annual report", f"Year: {year or '-'}"]
            return make_pdf(title, lines, tag) if ext == "pdf" else make_docx(tag) if ext == "docx" else \
                make_ole(title, tag)
        if ext in legacy.TARGETS:
            pool = legacy_pool(ext)
            if pool is None:
                self.served[tag] = Served("stand-in")
                return make_ole(title, tag)
            pooled, body = pool[self._count(ext) % len(pool)]
            self.served[tag] = Served(ext, pooled)
            return body + f"\x00nianbao-sim {tag}".encode()
        made = self._rendered.setdefault(ext, [])
        if self.distinct is None or len(made) < self.distinct:
            made.append((report, rendered(ext, report)))
        report, body = made[self._count(ext) % len(made)]
        self.served[tag] = Served(ext, report)
        return retag(ext, body, tag)

    def _count(self, ext: str) -> int:
        """How many `ext` bodies were made before this one."""
        self._counts[ext] += 1
        return self._counts[ext] - 1


def retag(ext: str, body: bytes, tag: str) -> bytes:
    """A rendered body made unique: a comment after a PDF's %%EOF, the ZIP comment of a DOCX/XLSX."""
    if ext == "pdf":
        return body + f"\n%nianbao-sim {tag}\n".encode()
    comment = f"nianbao-sim {tag}".encode()[:65535]
    if body[-22:-18] != b"PK\x05\x06":  # stable_zip() leaves no comment: the end record closes the file
        raise ValueError("not a ZIP without a comment")
    return body[:-2] + len(comment).to_bytes(2, "little") + comment


_STAMP = (2024, 1, 1, 0, 0, 0)
_CORE_DATES = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def stable_zip(body: bytes) -> bytes:
    """An OOXML file re-zipped byte for byte the same for the same content: fixed member times and core
    dates (python-docx and openpyxl stamp the time of saving)."""
    src = zipfile.ZipFile(io.BytesIO(body))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "docProps/core.xml":
                data = _CORE_DATES.sub(rb"\g<1>2024-01-01T00:00:00Z\g<2>", data)
            dst.writestr(zipfile.ZipInfo(info.filename, _STAMP), data, zipfile.ZIP_DEFLATED)
    return buf.getvalue()


@functools.cache
def legacy_pool(kind: str) -> tuple[tuple[Report, bytes], ...] | None:
    """The pooled reports of an old binary kind, converted by LibreOffice (legacy.py); None without it."""
    from . import texts
    from .documents import make_report

    source_kind = legacy.TARGETS[kind][1]
    reports = []
    for year in (2021, 2023, 2019, 2020)[: 2 * legacy.POOL]:
        county, agency = "万载县", texts.Agency("万载县财政局", "万载县财政局", "department")
        title = f"{agency.full}{year}年政府信息公开工作年度报告"
        identity = f"pool|{source_kind}|{year}"
        reports.append(make_report(agency, county, "www.wanzai.gov.cn", year, title, agency.full, identity,
                                   random.Random(identity)))
    converted = legacy.convert([rendered(source_kind, r) for r in reports], kind)
    return None if converted is None else tuple(zip(reports, converted, strict=True))


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
