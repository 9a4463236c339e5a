"""The service's heartbeat file, ``NIANBAO_HOME/scheduler.json``: what the dashboard and CLI show of it.

Written (atomically) at start, at every heartbeat and at the end::

    {"pid": 4242, "host": "crawler-1", "state": "running" | "stopping" | "stopped",
     "started_at": "…Z", "heartbeat_at": "…Z", "heartbeat_interval": 30.0, "stopped_at": "…Z" | null,
     "registry": "mysites.yaml", "sites": 2850, "max_crawls": 2, "timezone": "Asia/Shanghai",
     "crawls": [{"site": "wanzai", "pid": 4250, "started_at": "…Z"}]}

A file, not the catalog: the service must not need a writable catalog to say it is alive, and
a reader needs nothing but NIANBAO_HOME.
"""

from __future__ import annotations

import json
import os
import socket
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nianbao.processes import alive

FILE = "scheduler.json"
#: Heartbeats missed before a service counts as gone (killed, machine reset).
MISSED_BEATS = 3


def write(home: Path, data: dict[str, Any]) -> None:
    path = home / FILE
    tmp = path.with_name(f".{FILE}.{os.getpid()}")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), "utf-8")
    os.replace(tmp, path)


def status(home: Path) -> dict[str, Any] | None:
    """The last state the service wrote, plus ``alive``: running and heard from lately; None if it never ran."""
    try:
        data = json.loads((Path(home) / FILE).read_text("utf-8"))
        beat = datetime.fromisoformat(data["heartbeat_at"].removesuffix("Z")).replace(tzinfo=UTC)
        interval = float(data.get("heartbeat_interval") or 30)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {"state": "unknown", "alive": False, "crawls": []}
    age = (datetime.now(UTC) - beat).total_seconds()
    heard = data.get("state") in ("running", "stopping") and age <= MISSED_BEATS * interval + 5
    if heard and data.get("host") == socket.gethostname():
        heard = alive(int(data.get("pid") or 0))
    return {**data, "alive": heard, "heartbeat_age": round(age, 1)}
