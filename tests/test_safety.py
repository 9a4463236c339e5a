"""Internal addresses are never fetched, whoever names them: the registry, a page, a redirect."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread

from tests.conftest import run_nianbao


class Quiet(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A loopback HTTP server (a stub portal, or a stub forward proxy) for the test's duration."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


REGISTRY = """sites:
  - id: metadata
    name: 元数据县
    home: http://169.254.169.254/
    report_lists: [http://169.254.169.254/latest/meta-data/]
  - id: loopback
    name: 本机县
    home: http://127.0.0.1:{port}/
    report_lists: [http://127.0.0.1:{port}/list.html]
  - id: named
    name: 本地县
    home: http://api.localhost:{port}/
    report_lists: [http://api.localhost:{port}/list.html]
"""


class Recorder(Quiet):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        Recorder.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


def test_internal_addresses_are_refused_with_a_reason(home_env, tmp_path):
    with serving(Recorder) as url:
        registry = tmp_path / "sites.yaml"
        registry.write_text(REGISTRY.format(port=url.rsplit(":", 1)[1]), "utf-8")
        # No proxy: names are resolved here, and IP literals are refused before anything is sent.
        result = run_nianbao("crawl", "--sites", str(registry), env=home_env)
    out = result.stdout.decode()
    assert "metadata: refused: 169.254.169.254 is an internal address" in out
    assert "loopback: refused: 127.0.0.1 is an internal address" in out
    assert "named: refused: api.localhost is this machine" in out
    assert Recorder.hits == []


class RedirectingProxy(Quiet):
    """A forward proxy whose every answer redirects to the cloud metadata service."""

    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        RedirectingProxy.seen.append(self.path)
        self.send_response(302)
        self.send_header("Location", "http://169.254.169.254/latest/meta-data/iam")
        self.send_header("Content-Length", "0")
        self.end_headers()


def test_redirects_to_internal_addresses_are_refused(home_env, tmp_path):
    registry = tmp_path / "sites.yaml"
    registry.write_text("sites:\n  - {id: evil, name: 恶意县, home: 'http://www.evil.gov.cn/',\n"
                        "     report_lists: ['http://www.evil.gov.cn/list.html']}\n", "utf-8")
    with serving(RedirectingProxy) as proxy:
        result = run_nianbao("crawl", "--sites", str(registry), "--proxy", proxy, env=home_env)
    assert "evil: refused: 169.254.169.254 is an internal address" in result.stdout.decode()
    assert all("169.254" not in path for path in RedirectingProxy.seen)
    assert any(path.startswith("http://www.evil.gov.cn/") for path in RedirectingProxy.seen)


class BusyProxy(Quiet):
    """A forward proxy for a busy portal: 503 with Retry-After first, the (empty) list after."""

    retry_after: str | None = "2"
    failing = 1  # answers to give 503 before the list
    seen: list[tuple[float, str]] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        import time

        failing = sum(path == self.path for _t, path in BusyProxy.seen) < BusyProxy.failing
        BusyProxy.seen.append((time.monotonic(), self.path))
        status, body = (503, b"busy") if failing and self.path.endswith("list.html") else (200, b"<html></html>")
        self.send_response(status)
        if status == 503 and BusyProxy.retry_after:
            self.send_header("Retry-After", BusyProxy.retry_after)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def crawl_busy_portal(home_env, tmp_path, retry_after: str | None, failing: int = 1) -> str:
    BusyProxy.retry_after, BusyProxy.failing, BusyProxy.seen = retry_after, failing, []
    registry = tmp_path / "sites.yaml"
    registry.write_text("sites:\n  - {id: busy, name: 繁忙县, home: 'http://www.busy.gov.cn/',\n"
                        "     report_lists: ['http://www.busy.gov.cn/list.html']}\n", "utf-8")
    with serving(BusyProxy) as proxy:
        return run_nianbao("crawl", "--sites", str(registry), "--proxy", proxy, env=home_env).stdout.decode()


def test_retry_after_is_honoured(home_env, tmp_path):
    out = crawl_busy_portal(home_env, tmp_path, "2")
    tries = [t for t, path in BusyProxy.seen if path.endswith("list.html")]
    assert len(tries) == 2 and tries[1] - tries[0] >= 1.9
    (row,) = [line.split() for line in out.splitlines() if line.startswith("busy ")]
    assert row == ["busy", "0", "0", "1", "0"]  # the list archived on the second try, no error


def test_transient_failures_back_off_doubling(home_env, tmp_path):
    out = crawl_busy_portal(home_env, tmp_path, None, failing=2)
    tries = [t for t, path in BusyProxy.seen if path.endswith("list.html")]
    assert len(tries) == 3 and tries[1] - tries[0] >= 0.9 and tries[2] - tries[1] >= 1.9  # 1 s, then 2 s
    (row,) = [line.split() for line in out.splitlines() if line.startswith("busy ")]
    assert row == ["busy", "0", "0", "1", "0"]


def test_too_long_retry_after_is_given_up_with_the_reason(home_env, tmp_path):
    out = crawl_busy_portal(home_env, tmp_path, "86400")
    assert "the server asks to retry after 86400 s" in out
    assert len([p for _t, p in BusyProxy.seen if p.endswith("list.html")]) == 1


class RobotsProxy(Quiet):
    """A forward proxy for a portal whose robots.txt keeps crawlers out of /private/."""

    pages = {
        "/robots.txt": b"User-agent: *\nDisallow: /private/\n",
        "/list.html": '<a href="/private/nb.html">万载县2023年政府信息公开工作年度报告</a>'.encode(),
        "/private/nb.html": "<title>万载县2023年政府信息公开工作年度报告</title>".encode(),
    }

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        from urllib.parse import urlsplit

        body = RobotsProxy.pages.get(urlsplit(self.path).path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "text/plain" if self.path.endswith(".txt") else "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")


def test_robots_txt_is_obeyed_unless_the_registry_says_otherwise(home_env, tmp_path):
    registry = tmp_path / "sites.yaml"
    registry.write_text("sites:\n"
                        "  - {id: polite, name: 万载县, home: 'http://www.polite.gov.cn/',\n"
                        "     report_lists: ['http://www.polite.gov.cn/list.html']}\n"
                        "  - {id: ours, name: 万载县, home: 'http://www.ours.gov.cn/', obey_robots: false,\n"
                        "     report_lists: ['http://www.ours.gov.cn/list.html']}\n", "utf-8")
    with serving(RobotsProxy) as proxy:
        out = run_nianbao("crawl", "--sites", str(registry), "--proxy", proxy,
                          "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=1", env=home_env).stdout.decode()
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.startswith(("polite ", "ours "))}
    assert rows == {"polite": ["0", "0", "1", "1"], "ours": ["1", "0", "1", "0"]}
    assert "polite: Forbidden by robots.txt: http://www.polite.gov.cn/private/nb.html" in out


def test_bad_setting_is_a_configuration_error(home_env, tmp_path):
    registry = tmp_path / "sites.yaml"
    registry.write_text("sites:\n  - {id: a, name: 甲县, home: 'http://www.a.gov.cn/'}\n", "utf-8")
    result = run_nianbao("crawl", "--sites", str(registry), "-s", "concurrency", env=home_env, check=False)
    assert result.returncode == 2 and b"NAME=VALUE" in result.stderr


def test_a_site_gets_at_most_its_request_budget(home_env, tmp_path):
    from tests.simulator.server import SimulatorServer
    from tests.simulator.world import build_world

    world = build_world(counties=1)
    registry = tmp_path / "sites.yaml"
    registry.write_text(world.registry_yaml(), "utf-8")
    with SimulatorServer(world) as server:
        out = run_nianbao("crawl", "--sites", str(registry), "--proxy", server.proxy_url,
                          "-s", "NIANBAO_MAX_REQUESTS_PER_SITE=10", env=home_env).stdout.decode()
        pages = [u for _m, u in server.requests if not u.endswith("/robots.txt")]
    assert "stopped: 10 requests for this site (NIANBAO_MAX_REQUESTS_PER_SITE)" in out
    assert len(pages) <= 10
