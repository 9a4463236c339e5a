"""Old binary Office files (.doc, .wps, .xls) made by LibreOffice from the simulator's DOCX/XLSX, cached on disk.

LibreOffice takes a second or two a file, too slow to convert every attachment of every world a test
builds; so each kind has a small pool of reports (`POOL` per template), converted once in one soffice run
and kept under the cache directory by the hash of what was converted, so later builds (and other test
workers: a lock file serialises them) read them back at once. A world serves a pooled file with its unique
tag appended (OLE2 readers ignore bytes past the last sector), so every body still has its own sha256.
A .wps is served as WPS Office writes one in compatibility mode: the Word 97 binary format.
Without LibreOffice, `convert()` returns None and the world serves its old OLE2 stand-ins.
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

#: target kind → (soffice --convert-to argument, source kind)
TARGETS = {"doc": ("doc:MS Word 97", "docx"), "wps": ("doc:MS Word 97", "docx"), "xls": ("xls:MS Excel 97", "xlsx")}
POOL = 2


def cache_dir() -> Path:
    """`$NIANBAO_SIM_CACHE`, else ~/.cache/nianbao/simulator."""
    env = os.environ.get("NIANBAO_SIM_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "nianbao" / "simulator"


@functools.cache
def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert(sources: list[bytes], kind: str) -> list[bytes] | None:
    """`sources` (DOCX or XLSX bytes) as `kind` files, from the cache or one LibreOffice run for the rest."""
    if soffice() is None:
        return None
    target, source_kind = TARGETS[kind]
    ext = target.split(":")[0]
    root = cache_dir()
    root.mkdir(parents=True, exist_ok=True)
    names = [root / f"{hashlib.sha256(s).hexdigest()[:32]}.{ext}" for s in sources]
    if not all(n.exists() for n in names):
        with open(root / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            missing = [(s, n) for s, n in zip(sources, names, strict=True) if not n.exists()]
            if missing:
                _run(missing, target, source_kind, root)
    if not all(n.exists() for n in names):
        return None
    return [n.read_bytes() for n in names]


def _run(missing: list[tuple[bytes, Path]], target: str, source_kind: str, root: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="nianbao-sim-") as tmp:
        work = Path(tmp)
        inputs = []
        for source, name in missing:
            path = work / f"{name.stem}.{source_kind}"
            path.write_bytes(source)
            inputs.append(path)
        profile = (root / "lo-profile").as_uri()
        command = [soffice() or "soffice", f"-env:UserInstallation={profile}", "--headless", "--norestore",
                   "--convert-to", target, "--outdir", str(work / "out"), *map(str, inputs)]
        subprocess.run(command, capture_output=True, timeout=180, check=False)
        for _, name in missing:
            made = work / "out" / name.name
            if made.exists():  # copied in under a temporary name, then renamed: readers never see half a file
                part = name.with_name(name.name + ".part")
                shutil.copyfile(made, part)
                os.replace(part, name)
