"""The crawl children of the service, a round and a worker: ``nianbao crawl --site …`` processes, started and
reaped here, so each is a process of its own (a crash, a leak or a hung reactor in one never reaches its parent)
and records its run and log exactly as a crawl started by hand.
"""

from __future__ import annotations

import ctypes
import os
import resource
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from archive.catalog import isoformat
from nianbao.config import Config

#: ``nianbao crawl``'s exit statuses (nianbao/cli/common.py).
FINISHED, FAILED, BAD_CONFIG, BUSY = 0, 1, 2, 3
#: Under NIANBAO_HOME: each crawl's output, and per site the names of its crawls' logs.
LOGS = Path("logs") / "schedule"
SITE_LOGS = LOGS / "sites"
#: Open files a crawl may need: a connection per host in flight and one kept alive per host, for
#: NIANBAO_ROUND_SITES hosts and more; a soft limit of 1,024 (systemd's default) would refuse connections.
OPEN_FILES = 65536
#: linux/prctl.h; prctl found now, not in a child forked from threads (no loader lock taken there).
PR_SET_PDEATHSIG = 1
_prctl = ctypes.CDLL(None, use_errno=True).prctl


def crawl_env(config: Config) -> dict[str, str]:
    """The crawls' environment: this one, with the archive this process opened (whatever flags chose it)."""
    return {**os.environ, "NIANBAO_HOME": str(config.home), "NIANBAO_STORAGE": config.storage,
            "NIANBAO_CATALOG": config.catalog}


def raise_open_files(wanted: int = OPEN_FILES) -> None:
    """Up to the hard limit, for this process and the crawls it starts (they inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


@dataclass
class Crawl:
    """One child crawl over ``sites``; ``code`` is its exit status once it ended."""

    number: int
    sites: list[str]
    log: Path
    process: subprocess.Popen[bytes]
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    code: int | None = None
    peak_rss: int = 0  # bytes (ru_maxrss of the child)
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def seconds(self) -> float:
        return (self.ended or time.monotonic()) - self.started

    def as_status(self) -> dict[str, Any]:
        return {"crawl": self.number, "pid": self.process.pid, "sites": self.sites,
                "started_at": isoformat(self.started_at), "log": str(self.log)}


def launch(home: Path, number: int, sites: list[str], crawl_args: list[str], env: dict[str, str],
           die_with_parent: bool = False) -> Crawl:
    """A child ``nianbao crawl`` over ``sites``, its output in its own log under ``home``.

    Its own session: a Ctrl-C at the terminal reaches the parent only, which forwards one SIGTERM.
    ``die_with_parent`` (a worker's crawls): killed with the parent however it dies, so a SIGKILLed worker
    leaves no crawl running beside the one its sites are handed to.
    """
    now = datetime.now(UTC)
    log = home / LOGS / f"crawl-{now:%Y%m%dT%H%M%SZ}-{os.getpid()}-{number}.log"
    command = [sys.executable, "-m", "nianbao", "crawl", "--trigger", "schedule", *crawl_args,
               *(arg for site in sites for arg in ("--site", site))]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"--- {isoformat(now)} scheduled crawl {number} of {len(sites)} site(s): {' '.join(sites)}\n"
                  .encode())
        out.flush()
        parent = os.getpid()
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env,
                                   start_new_session=True,
                                   preexec_fn=(lambda: _die_with(parent)) if die_with_parent else None)
    return Crawl(number, sites, log, process, started_at=now)


def reap(crawl: Crawl) -> None:
    """Wait for the crawl to end; its exit status and its own peak memory (wait4) recorded."""
    _pid, status, usage = os.wait4(crawl.process.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    crawl.process.returncode = code
    crawl.code, crawl.ended, crawl.peak_rss = code, time.monotonic(), usage.ru_maxrss * 1024


def _die_with(parent: int) -> None:
    """In the child before exec: SIGKILL when the thread that started it ends (Linux's PR_SET_PDEATHSIG); and
    gone at once if the parent already died before that was asked (the child would be an orphan no signal reaches).
    """
    _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


def kill(pid: int, sig: signal.Signals, group: bool) -> None:
    try:
        if group:  # the crawl leads its own process group: its browser goes with it
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except ProcessLookupError:
        pass
