"""A plain HTTP client for tests of nianbao's server: no redirects followed, errors as answers, header names
in lower case."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from typing import Any


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def call(url: str, token: str | None = None, cookie: str | None = None, data: bytes | None = None,
         headers: dict[str, str] | None = None, method: str | None = None) -> tuple[int, dict[str, str], bytes]:
    headers = {**(headers or {}), **({"Authorization": f"Bearer {token}"} if token else {})}
    if cookie:
        headers["Cookie"] = cookie
    try:
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        with _opener.open(request, timeout=10) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()
    except OSError:
        return 0, {}, b""


def start_serve(args: list[str], env: dict[str, str], cwd: Any, stdout: Any = None,
                stderr: Any = None) -> tuple[subprocess.Popen, str]:
    """``nianbao serve ARGS`` on a free port, once it answers /healthz: (its process, its base URL)."""
    from tests.support import free_ports

    (port,) = free_ports(1)
    process = subprocess.Popen([sys.executable, "-m", "nianbao", "serve", "--port", str(port), *args], env=env,
                               cwd=cwd, stdout=stdout or subprocess.DEVNULL, stderr=stderr or subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while call(base + "/healthz")[0] != 200:
        assert process.poll() is None and time.monotonic() < deadline, "nianbao serve did not start"
        time.sleep(0.1)
    return process, base
