"""Whether a process of this machine still runs: how a run or a service left behind is told from a live one."""

from __future__ import annotations

import os


def alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def boot_id() -> str | None:
    """This boot of this machine: a pid seen on a host that booted again since is gone, whatever runs under it now."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as source:
            return source.read().strip() or None
    except OSError:
        return None
