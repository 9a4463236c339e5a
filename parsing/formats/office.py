"""DOC, WPS, RTF and XLS turned into DOCX/XLSX by LibreOffice headless, so one reader each reads them.

The input filter is chosen from the file's container (as ``kinds`` tells it) rather than left to LibreOffice's
detection: detection falls back to importing anything as plain text, and a garbage body would come back as
a "document" of mojibake instead of being recorded as unreadable.

Each worker process has its own LibreOffice profile (``-env:UserInstallation``): two soffice runs on
one profile wait on its lock or hand their work to each other, so parallel parse workers would fight.
Within a process, calls take turns for the same reason.
"""

from __future__ import annotations

import atexit
import multiprocessing.util
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path

from parsing.document import Unreadable
from parsing.formats.kinds import OLE2, ZIP, is_rtf

#: Seconds a conversion may take: a real report converts in 2–10 s, a first run (profile created) in ~15 s.
TIMEOUT = 60.0
#: Address space soffice may take (its RLIMIT_AS): converting a report peaks near 600 MiB of it; a file made to
#: swell it fails to convert instead of taking the machine's memory.
MEMORY = 2 * 1024**3

#: kind → (output extension, LibreOffice export filter, Debian package that provides it).
OUTPUTS = {
    "doc": ("docx", "MS Word 2007 XML", "libreoffice-writer-nogui"),
    "wps": ("docx", "MS Word 2007 XML", "libreoffice-writer-nogui"),
    "rtf": ("docx", "MS Word 2007 XML", "libreoffice-writer-nogui"),
    "xls": ("xlsx", "Calc MS Excel 2007 XML", "libreoffice-calc-nogui"),
}

_lock = threading.Lock()
_profile: tuple[int, Path] | None = None  # (pid, directory): a forked child makes its own


def convert(body: bytes, kind: str, timeout: float = TIMEOUT) -> tuple[bytes, str]:
    """``body`` (a ``kind`` file: doc, wps, rtf, xls) as DOCX or XLSX bytes, and which of the two.

    Raises Unreadable naming what failed: no LibreOffice, not a file of that kind, a conversion
    that produced nothing or ran out of time."""
    if kind not in OUTPUTS:
        raise ValueError(f"office.convert: unknown kind {kind!r} (one of {', '.join(OUTPUTS)})")
    out_ext, export_filter, package = OUTPUTS[kind]
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        raise Unreadable(f"{kind.upper()} needs LibreOffice to convert it, which is not installed "
                         f"(Debian: apt-get install {package})")
    failures = []
    for in_filter in input_filters(body, kind):
        with _lock, tempfile.TemporaryDirectory(prefix="nianbao-office-") as work:
            source = Path(work, f"report.{kind}")
            source.write_bytes(body)
            command = [soffice, "--headless", "--norestore", "--nologo", "--nodefault", "--nolockcheck",
                       f"-env:UserInstallation={_profile_dir().as_uri()}",
                       "--convert-to", f"{out_ext}:{export_filter}", "--outdir", work, str(source)]
            if in_filter:
                command[1:1] = [f"--infilter={in_filter}"]
            result = _run(command, timeout, kind)
            target = Path(work, f"report.{out_ext}")
            if target.is_file() and target.stat().st_size:
                return target.read_bytes(), out_ext
            failures.append(f"{in_filter or 'detected type'}: {_complaint(result)}")
    raise Unreadable(f"LibreOffice could not convert this {kind.upper()} to {out_ext.upper()} ({'; '.join(failures)})")


def input_filters(body: bytes, kind: str) -> list[str | None]:
    """The LibreOffice import filters to try, in order, for a body claimed to be ``kind``.

    None means LibreOffice's own detection, used only where the container is known (an OLE2 .wps is
    Kingsoft WPS, which is Word 97 inside, or Microsoft Works, which detection tells apart). What
    ``kinds.kind_of`` hands over as doc, wps, rtf or xls is one of these containers; an RTF or a web page
    under an old name never comes here (kinds reads them as rtf and html by their bytes)."""
    sheet = kind == "xls"
    if body.startswith(OLE2):
        if sheet:
            return ["MS Excel 97"]
        return [None, "MS Word 97"] if kind == "wps" else ["MS Word 97"]
    if body.startswith(ZIP):  # an OOXML file under an old name that kinds could not place by its names
        return ["Calc MS Excel 2007 XML" if sheet else "MS Word 2007 XML"]
    if kind == "rtf" and is_rtf(body):
        return ["Rich Text Format"]
    lowered = body[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()  # Office 2003 XML: kinds knows it by its label
    if sheet and lowered.startswith(b"<?xml") and b"schemas-microsoft-com:office:spreadsheet" in lowered:
        return ["MS Excel 2003 XML"]
    if not sheet and lowered.startswith(b"<?xml") and b"schemas.microsoft.com/office/word/2003/wordml" in lowered:
        return ["MS Word 2003 XML"]
    raise Unreadable(f"not a {kind.upper()} file: neither OLE2, OOXML, RTF, Office XML nor HTML "
                     f"(it begins {body[:16]!r})")


def _run(command: list[str], timeout: float, kind: str) -> subprocess.CompletedProcess[bytes]:
    """Run soffice in its own process group, killed whole on timeout (soffice.bin outlives its wrapper)."""
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                          start_new_session=True, preexec_fn=_limit_memory) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            _discard_profile()  # a killed soffice leaves its profile locked and half-written
            raise Unreadable(f"LibreOffice took longer than {timeout:g} s to convert this {kind.upper()}") from None
        return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def _limit_memory() -> None:
    """In the child before soffice starts (inherited by soffice.bin): only setrlimit, as a preexec_fn must be."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def _complaint(result: subprocess.CompletedProcess[bytes]) -> str:
    """What soffice said about a conversion that made nothing (it exits 0 regardless), minus its noise."""
    said = [line.strip() for line in (result.stdout + result.stderr).decode("utf-8", "replace").splitlines()
            if line.strip() and "javaldx" not in line]
    errors = [line for line in said if "rror" in line]
    return (errors or said or [f"no output, exit status {result.returncode}"])[-1]


def _profile_dir() -> Path:
    """This process's LibreOffice profile, made on first use and removed when the process exits
    (atexit for a process started as a program, multiprocessing's finaliser for a worker it forked,
    which leaves by os._exit and skips atexit)."""
    global _profile
    if _profile is None or _profile[0] != os.getpid():
        _profile = (os.getpid(), Path(tempfile.mkdtemp(prefix="nianbao-soffice-profile-")))
        atexit.register(shutil.rmtree, _profile[1], True)
        multiprocessing.util.Finalize(None, shutil.rmtree, (_profile[1], True), exitpriority=0)
    return _profile[1]


def _discard_profile() -> None:
    global _profile
    if _profile is not None and _profile[0] == os.getpid():
        shutil.rmtree(_profile[1], ignore_errors=True)
    _profile = None
