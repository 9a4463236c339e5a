"""Rendered report files (PDF, DOCX, XLSX), kept on disk so a world builds fast after the first time.

Rendering takes ~0.1 s a file, and the suite builds its worlds again in every test module and worker. A
body is fully determined by the report's identity (world seed, site, agency, year) and the simulator's
code, so it is cached under both: a change to any module that shapes a report renders everything anew.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .legacy import cache_dir

if TYPE_CHECKING:
    from .documents import Report

#: The modules (and bundled files) a rendered body depends on.
_SOURCES = ("documents.py", "report_html.py", "pdfs.py", "office.py", "statistics.py", "texts.py", "rendered.py",
            "corpus/report-template-2021.docx")


@functools.cache
def code_version() -> str:
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for name in _SOURCES:
        digest.update((here / name).read_bytes())
    for seed in sorted((here / "corpus" / "seeds").glob("*.txt")):
        digest.update(seed.read_bytes())
    return digest.hexdigest()[:16]


def rendered(ext: str, report: Report) -> bytes:
    """`report` as a pdf, docx or xlsx file (untagged: files.retag makes each served copy unique)."""
    key = hashlib.sha256(f"{ext}|{report.identity}".encode()).hexdigest()[:32]
    path = _version_dir() / f"{key}.{ext}"
    if path.exists():
        return path.read_bytes()
    body = _render(ext, report)
    part = path.with_name(f"{path.name}.{os.getpid()}.part")
    part.write_bytes(body)
    os.replace(part, path)
    return body


#: Another code's directory untouched this long is removed (the cache would only grow); a younger one may be in
#: use by a process running other code (a CI run beside a working tree), so it is left alone.
_STALE_SECONDS = 24 * 3600


@functools.cache
def _version_dir() -> Path:
    """This code's directory of the cache; those of older code, stale for a day, are removed."""
    root = cache_dir() / "rendered"
    for old in root.glob("*") if root.is_dir() else ():
        if old.name != code_version() and time.time() - old.stat().st_mtime > _STALE_SECONDS:
            shutil.rmtree(old, ignore_errors=True)
    here = root / code_version()
    here.mkdir(parents=True, exist_ok=True)
    here.touch()  # in use
    return here


def _render(ext: str, report: Report) -> bytes:
    from . import office, pdfs

    return {"pdf": pdfs.make_pdf, "docx": office.make_docx, "xlsx": office.make_xlsx}[ext](report)
