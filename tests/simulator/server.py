"""Loopback HTTP server that answers from a simulated `World`, usable as the crawler's forward proxy.

Pointing the crawler's proxy at it (`http_proxy=http://127.0.0.1:PORT`) lets it crawl the real-looking
`http://www.wanzai.gov.cn/…` URLs unchanged while nothing ever leaves the machine: absolute-URI request
lines are answered by that URL, plain paths by the Host header, everything else in the world is a 404.
Request cookies reach the world's anti-bot gates; oversize files are streamed chunk by chunk.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .files import LazyBody
from .world import World


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], world: World, latency: float = 0.0,
                 bandwidth: float | None = None) -> None:
        super().__init__(address, _Handler)
        self.world = world
        self.requests: list[tuple[str, str]] = []
        self.times: list[float] = []  # when each of `requests` arrived (time.time()), in the same order
        self.statuses: Counter[int] = Counter()
        self.lock = threading.Lock()
        self.latency, self.bandwidth = latency, bandwidth


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every answer carries Content-Length
    server: _Server

    def version_string(self) -> str:
        return "nginx"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        """Quiet: the request log is `server.requests`, not stderr."""

    def _answer(self, status: int, headers: dict[str, str], body: bytes | LazyBody, head: bool = False) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if head:
            return
        if self.server.bandwidth and len(body):  # a county portal's uplink, not loopback's
            time.sleep(len(body) / self.server.bandwidth)
        if isinstance(body, LazyBody):  # a client that gives up mid-way just closes the connection
            try:
                for chunk in body.chunks():
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
            return
        self.wfile.write(body)

    def _serve(self) -> None:
        method = self.command
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.startswith(("http://", "https://")):
            url = self.path
        else:
            url = f"http://{self.headers.get('Host', '')}{self.path}"
        with self.server.lock:
            self.server.requests.append((method, url))
            self.server.times.append(time.time())
        try:
            status, headers, data = self.server.world.resolve(method, url, body, self.headers)
        except Exception:  # a simulator bug must show up in the test, not as a dropped connection
            status, headers, data = 500, {"Content-Type": "text/plain"}, traceback.format_exc().encode()
        with self.server.lock:
            self.server.statuses[status] += 1
        if self.server.latency:
            time.sleep(self.server.latency)
        self._answer(status, headers, data, head=method == "HEAD")

    do_GET = do_HEAD = do_POST = _serve

    def do_CONNECT(self) -> None:
        with self.server.lock:
            self.server.requests.append(("CONNECT", self.path))
            self.server.times.append(time.time())
        msg = b"simulator: CONNECT (https) is not supported; the simulated world is http:// only\n"
        self.close_connection = True
        self._answer(501, {"Content-Type": "text/plain"}, msg)


class SimulatorServer:
    """Serve `world` on host:port (0 = any free port); a context manager, or call start()/stop()."""

    def __init__(self, world: World, host: str = "127.0.0.1", port: int = 0, latency: float = 0.0,
                 bandwidth: float | None = None) -> None:
        """``latency`` (seconds per answer) and ``bandwidth`` (bytes a second) make loopback as slow as a portal."""
        self.world = world
        self._server = _Server((host, port), world, latency, bandwidth)
        self._thread: threading.Thread | None = None
        self.host, self.port = self._server.server_address[:2]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    proxy_url = url

    @property
    def requests(self) -> list[tuple[str, str]]:
        """(method, absolute URL) of every request so far, in arrival order (live list; copy under lock)."""
        return self._server.requests

    def requests_snapshot(self) -> list[tuple[str, str]]:
        with self._server.lock:
            return list(self._server.requests)

    def timed_requests(self) -> list[tuple[float, str, str]]:
        """(arrival time as time.time(), method, absolute URL) of every request so far, in arrival order."""
        with self._server.lock:
            timed = zip(self._server.times, self._server.requests, strict=True)
            return [(t, method, url) for t, (method, url) in timed]

    @property
    def statuses(self) -> Counter[int]:
        """How many answers of each HTTP status were given."""
        return self._server.statuses

    def clear_requests(self) -> None:
        with self._server.lock:
            self._server.requests.clear()
            self._server.times.clear()
            self._server.statuses.clear()

    def start(self) -> SimulatorServer:
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever, args=(0.1,),
                                            name="nianbao-simulator", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
