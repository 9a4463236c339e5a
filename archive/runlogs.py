"""Run logs: one JSON object a line (time, level, site, url, event, reason, message) per run.

Written to ``NIANBAO_HOME/logs/run-N.jsonl`` as the crawl goes (so it can be followed), and
stored in object storage when the run ends (so it outlives the machine); read back from
whichever is there, the stored copy checked against its digest like any body.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from archive.storage import ObjectStore, StorageError

if TYPE_CHECKING:
    from archive.catalog import Catalog

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_REQUEST = re.compile(r"<(?:GET|POST|HEAD) (\S+?)>")
_FORMATTER = logging.Formatter()
logger = logging.getLogger(__name__)


def log_path(home: Path, run_id: int) -> Path:
    return home / "logs" / f"run-{run_id}.jsonl"


class JsonLinesHandler(logging.Handler):
    """Every log record of the crawl as a JSON line, with the site and URL it concerns.

    Records may say ``extra={"event": …, "site": …, "url": …, "reason": …}``; Scrapy's own
    name their request in the message (``<GET url>``), and the site is then found by host.
    """

    def __init__(self, path: Path, site_of: Callable[[str], str | None], level: int = logging.INFO) -> None:
        super().__init__(level)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.site_of = site_of
        self.stream = path.open("a", encoding="utf-8", buffering=1)  # a line at a time: --follow sees it

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            url = getattr(record, "url", None)
            if url is None and (found := _REQUEST.search(message)):
                url = found[1]
            line = {
                "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")[:-6] + "Z",
                "level": record.levelname,
                "site": getattr(record, "site", None) or (self.site_of(url) if url else None),
                "url": url,
                "event": getattr(record, "event", None) or record.name,
                "reason": getattr(record, "reason", None),
                "message": message,
            }
            if record.exc_info and record.exc_info[0]:  # the traceback as text: still one JSON object a line
                line["exception"] = _FORMATTER.formatException(record.exc_info)
            with self.lock:
                self.stream.write(json.dumps(line, ensure_ascii=False) + "\n")
        except Exception:  # noqa: BLE001 - logging must never break the crawl
            self.handleError(record)

    def close(self) -> None:
        with self.lock:
            self.stream.close()
        super().close()


def end_dead_runs(catalog: Catalog, home: Path, store: Callable[[], ObjectStore]) -> list[int]:
    """Runs whose crawl process is gone: marked failed, and their logs stored where this machine has them.

    The one way the CLI, the dashboard and the scheduler close such runs; ``store`` is called only when a
    log is to be stored (opening S3 costs a round trip). Returns the runs ended.
    """
    ended = catalog.end_dead_runs()
    local = [run_id for run_id in ended if log_path(home, run_id).is_file()]
    if local:
        try:
            store_logs(catalog, home, store(), local)
        except StorageError as exc:
            logger.warning("the logs of runs %s stay only on this machine: %s", ", ".join(map(str, local)), exc)
    return ended


def store_logs(catalog: Catalog, home: Path, store: ObjectStore, run_ids: Iterable[int]) -> list[int]:
    """Store the logs of runs that ended without storing their own (a crawl stopped before it could
    close its run, a process killed and found dead), when their files are on this machine.

    Returns the runs whose logs were stored; a log that cannot be stored stays on disk, said once.
    """
    stored = []
    for run_id in run_ids:
        run, path = catalog.run(run_id), log_path(home, run_id)
        if run is None or run.log_sha256 or not path.is_file():
            continue
        try:
            digest = store.put(path.read_bytes())
            store.flush()
        except (StorageError, OSError) as exc:
            logger.warning("run %s: its log stays only in %s: %s", run_id, path, exc)
            continue
        catalog.set_run_log(run_id, digest)
        stored.append(run_id)
    return stored


def parse_lines(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    for line in lines:
        line = line.strip()
        if line:
            try:
                yield json.loads(line)
            except json.JSONDecodeError:  # a line cut by a crash: shown, not hidden
                yield {"level": "ERROR", "event": "unreadable log line", "message": line}


def read_log(home: Path, store: ObjectStore | None, run_id: int, log_sha256: str | None) -> Iterator[dict[str, Any]]:
    """A run's log: the file on this machine, else the copy in object storage (verified)."""
    path = log_path(home, run_id)
    if path.is_file():
        with path.open(encoding="utf-8", errors="replace") as fh:
            yield from parse_lines(fh)
    elif log_sha256 and store is not None:
        yield from parse_lines(store.get(log_sha256).decode("utf-8", "replace").splitlines())
    else:
        raise FileNotFoundError(f"run {run_id} has no log here ({path}) nor in object storage")


def at_least(level: str) -> Callable[[dict[str, Any]], bool]:
    floor = LEVELS.index(level.upper())
    return lambda line: LEVELS.index(line.get("level", "INFO")) >= floor if line.get("level") in LEVELS else True
