"""The files of one WARC export: numbered, rolled over at a size, published only when complete.

Every file is written under a hidden temporary name and renamed when the whole export has
succeeded, and ``index.cdxj`` is renamed into place last: an export directory holds either a
finished export (its index present) or nothing of it. A failed export removes what it wrote,
so no truncated WARC is ever left looking like a good one.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any, BinaryIO

from warcio.recordloader import ArcWarcRecord
from warcio.utils import Digester
from warcio.warcwriter import WARCWriter

INDEX_NAME = "index.cdxj"


class ExportError(RuntimeError):
    """The export cannot be made or was abandoned; nothing of it is left in the output directory."""


class Writer(WARCWriter):
    """warcio's writer (a gzip member per record) with the archive's own digest, SHA-256.

    A metadata record describes the record it refers to; a payload digest on it would claim
    an HTTP payload it does not have.
    """

    NO_PAYLOAD_DIGEST_TYPES = ("warcinfo", "revisit", "metadata")

    @staticmethod
    def _create_digester() -> Digester:
        return Digester("sha256")


class WarcFiles:
    """``<prefix>-00000.warc.gz``, ``-00001`` … in ``out``, each opened by a ``warcinfo`` record."""

    def __init__(self, out: Path, prefix: str, max_size: int, info: dict[str, str]) -> None:
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ExportError(f"cannot create the output directory {out}: {exc.strerror or exc}") from exc
        if (out / INDEX_NAME).exists():
            raise ExportError(f"{out} already holds an export ({INDEX_NAME}); refusing to overwrite it: "
                              "give a new directory")
        self.out, self.prefix, self.max_size, self.info = out, prefix, max_size, info
        self.names: list[str] = []
        self._published: list[Path] = []  # renamed into place before the index: removed if that fails
        self.records = 0
        self._fh: BinaryIO | None = None
        self._writer: Writer | None = None
        self._info_id = ""

    @property
    def name(self) -> str:
        return self.names[-1]

    def write(self, records: list[ArcWarcRecord]) -> list[tuple[str, int, int]]:
        """Write ``records`` together in one file; (file name, offset, length) of each, for the index."""
        if self._fh is None:
            self._open()
        placed = []
        for record in records:
            record.rec_headers.replace_header("WARC-Warcinfo-ID", self._info_id)
            offset = self._fh.tell()
            self._writer.write_record(record)
            placed.append((self.name, offset, self._fh.tell() - offset))
        self.records += len(records)
        if self._fh.tell() >= self.max_size:
            self._close()
        return placed

    def finish(self, index_lines: list[str]) -> list[Path]:
        """Publish the files, then the sorted index; returns the WARC files' final paths (none: no index)."""
        self._close()
        if not self.names:
            return []
        finals = [self.out / name for name in self.names]
        taken = [p.name for p in finals if p.exists()]
        if taken:
            raise ExportError(f"{self.out} already has {', '.join(taken)}; refusing to overwrite")
        index_tmp = self._tmp(INDEX_NAME)
        with open(index_tmp, "w", encoding="utf-8", newline="\n") as fh:
            fh.writelines(sorted(index_lines))
            _sync(fh)
        for name, final in zip(self.names, finals, strict=True):
            os.replace(self._tmp(name), final)
            self._published.append(final)
        os.replace(index_tmp, self.out / INDEX_NAME)
        _sync_dir(self.out)
        self.names, self._published = [], []  # complete: nothing left for abort() to remove
        return finals

    def abort(self) -> None:
        """Remove everything this export wrote."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        for path in [*(self._tmp(name) for name in [*self.names, INDEX_NAME]), *self._published]:
            path.unlink(missing_ok=True)
        self.names, self._published = [], []

    def _open(self) -> None:
        name = f"{self.prefix}-{len(self.names):05d}.warc.gz"
        self.names.append(name)
        self._fh = open(self._tmp(name), "xb")  # noqa: SIM115 - kept open across records, closed by _close/abort
        self._writer = Writer(self._fh, gzip=True, warc_version="1.1")
        warcinfo = self._writer.create_warcinfo_record(name, self.info)
        self._info_id = warcinfo.rec_headers.get_header("WARC-Record-ID")
        self._writer.write_record(warcinfo)
        self.records += 1

    def _close(self) -> None:
        if self._fh is not None:
            _sync(self._fh)
            self._fh.close()
            self._fh = None

    def _tmp(self, name: str) -> Path:
        return self.out / f".{name}.part"


def _sync(fh: IO[Any]) -> None:
    fh.flush()
    os.fsync(fh.fileno())


def _sync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
