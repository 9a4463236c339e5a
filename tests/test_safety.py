"""Internal addresses and other sites' hosts are never fetched, whoever names them: the registry, a page,
a redirect, a DNS answer."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Address, IPv4Network
from threading import Thread

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crawler.addresses import read_address, refusal
from tests.conftest import FAST, run_nianbao


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
    report_lists: [http://0x7f000001:{port}/list.html]
  - id: named
    name: 本地县
    home: http://localhost:{port}/
  - id: files
    name: 文件县
    home: http://www.files.gov.cn/
    attachment_hosts: ['[::1]', metadata.google.internal]
"""
#: What the registry and the crawl say of each internal address in REGISTRY: the same words.
REFUSALS = [
    "entry 1 (id 'metadata'): home: 'http://169.254.169.254/' refused: 169.254.169.254 is an internal address",
    "entry 2 (id 'loopback'): report_lists: 'http://0x7f000001:{port}/list.html' refused: "
    "0x7f000001 is an internal address (127.0.0.1)",
    "entry 3 (id 'named'): home: 'http://localhost:{port}/' refused: localhost is an internal address (this machine)",
    "entry 4 (id 'files'): attachment_hosts: '[::1]' refused: [::1] is an internal address",
    "entry 4 (id 'files'): attachment_hosts: 'metadata.google.internal' refused: metadata.google.internal is an "
    "internal address (a cloud metadata service)",
]


class Recorder(Quiet):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        Recorder.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


def test_internal_addresses_in_the_registry_are_refused_before_anything_is_fetched(home_env, tmp_path):
    Recorder.hits = []
    with serving(Recorder) as url:
        port = url.rsplit(":", 1)[1]
        registry = tmp_path / "sites.yaml"
        registry.write_text(REGISTRY.format(port=port), "utf-8")
        listed = run_nianbao("sites", "list", "--sites", str(registry), env=home_env, check=False)
        crawled = run_nianbao("crawl", "--sites", str(registry), env=home_env, check=False)
    assert listed.returncode == crawled.returncode == 2
    for said in REFUSALS:  # `sites list` and `crawl` say the same, entry by entry
        assert said.format(port=port) in listed.stderr.decode()
        assert said.format(port=port) in crawled.stderr.decode()
    assert Recorder.hits == []


def test_a_lab_allows_internal_addresses_in_the_registry_and_the_crawl_alike(home_env, tmp_path):
    Recorder.hits = []
    with serving(Recorder) as url:
        port = url.rsplit(":", 1)[1]
        registry = tmp_path / "sites.yaml"
        registry.write_text(f"sites:\n  - {{id: lab, name: 实验县, home: 'http://localhost:{port}/',\n"
                            f"     report_lists: ['http://127.1:{port}/list.html']}}\n", "utf-8")
        listed = run_nianbao("sites", "list", "--sites", str(registry),
                             env={**home_env, "NIANBAO_ALLOW_INTERNAL_ADDRESSES": "true"})
        by_setting = run_nianbao("crawl", "--sites", str(registry), "-s", "NIANBAO_ALLOW_INTERNAL_ADDRESSES=true",
                                 *FAST, env=home_env)
        assert "/list.html" in Recorder.hits
        Recorder.hits = []
        typo = run_nianbao("crawl", "--sites", str(registry), check=False,
                           env={**home_env, "NIANBAO_ALLOW_INTERNAL_ADDRESSES": "ture"})
    assert f"http://localhost:{port}/" in listed.stdout.decode()
    assert "run 1 finished" in by_setting.stdout.decode()
    assert typo.returncode == 2 and "NIANBAO_ALLOW_INTERNAL_ADDRESSES='ture': expected true or false" in \
        typo.stderr.decode()
    assert Recorder.hits == []


#: Where each report of a hostile portal redirects (HTTP 302, or a <meta> refresh: "refresh:"), and the reason
#: its failure must give. Every address below is 169.254.169.254 or 127.0.0.1 as a resolver reads it.
REDIRECTS = {
    "other-host": ("http://www.attacker-example.com/nb.html",
                   "out of scope: redirect to www.attacker-example.com (not a host of this site)"),
    "refresh-other-host": ("refresh:http://www.attacker-example.com/refresh.html",
                           "out of scope: redirect to www.attacker-example.com (not a host of this site)"),
    "metadata": ("http://169.254.169.254/latest/meta-data/iam", "redirect to 169.254.169.254, an internal address"),
    "decimal": ("http://2852039166/latest/meta-data/", "redirect to 2852039166, an internal address (169.254.169.254)"),
    "hex": ("http://0xa9fea9fe/latest/", "redirect to 0xa9fea9fe, an internal address (169.254.169.254)"),
    "octal": ("http://0251.0376.0251.0376/latest/",
              "redirect to 0251.0376.0251.0376, an internal address (169.254.169.254)"),
    "short": ("http://169.254.43518/latest/", "redirect to 169.254.43518, an internal address (169.254.169.254)"),
    "mixed": ("http://0xa9.0376.43518/latest/", "redirect to 0xa9.0376.43518, an internal address (169.254.169.254)"),
    "mapped": ("http://[::ffff:169.254.169.254]/latest/",
               "redirect to ::ffff:169.254.169.254, an internal address (169.254.169.254)"),
    "refresh-decimal": ("refresh:http://2852039166/refresh/",
                        "redirect to 2852039166, an internal address (169.254.169.254)"),
    "loop-decimal": ("http://2130706433/admin", "redirect to 2130706433, an internal address (127.0.0.1)"),
    "loop-hex": ("http://0x7f000001/admin", "redirect to 0x7f000001, an internal address (127.0.0.1)"),
    "loop-octal": ("http://0177.0.0.1/admin", "redirect to 0177.0.0.1, an internal address (127.0.0.1)"),
    "loop-short": ("http://127.1/admin", "redirect to 127.1, an internal address (127.0.0.1)"),
    "loop-v6": ("http://[::1]/admin", "redirect to ::1, an internal address"),
    "metadata-name": ("http://metadata.google.internal/computeMetadata/v1/",
                      "redirect to metadata.google.internal, an internal address (a cloud metadata service)"),
    "wildcard-dns": ("http://169.254.169.254.nip.io/latest/",
                     "redirect to 169.254.169.254.nip.io, an internal address (nip.io answers 169.254.169.254)"),
}
REPORT = "<html><head><title>万载县2023年政府信息公开工作年度报告</title></head><body>{}</body></html>"


class HostileProxy(Quiet):
    """A forward proxy for a portal whose every report redirects somewhere it must not lead, but one: that one
    redirects to a host of the site, to show that redirects are followed at all."""

    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        from urllib.parse import urlsplit

        HostileProxy.seen.append(self.path)
        url = urlsplit(self.path)
        status, location, body = 200, None, REPORT.format("what must never be archived")
        if url.hostname == "www.evil.gov.cn" and url.path == "/list.html":
            links = [*REDIRECTS, "ok"]
            body = "<ul>" + "".join(f'<li><a href="/r/{name}.html">万载县2023年政府信息公开工作年度报告</a></li>'
                                    for name in links) + "</ul>"
        elif url.hostname == "www.evil.gov.cn" and url.path == "/r/ok.html":
            status, location = 302, "http://files.evil.gov.cn/nb-2023.html"
        elif url.hostname == "www.evil.gov.cn" and url.path.startswith("/r/"):
            target = REDIRECTS[url.path[3:].removesuffix(".html")][0]
            if target.startswith("refresh:"):
                body = f'<html><head><meta http-equiv="refresh" content="0;url={target[8:]}"></head></html>'
            else:
                status, location = 302, target
        elif url.hostname == "files.evil.gov.cn":
            body = REPORT.format("本机关2023年政府信息公开工作情况")
        elif url.path == "/robots.txt":
            status, body = 404, ""
        payload = body.encode()
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def test_redirects_out_of_scope_or_to_internal_addresses_are_refused_and_recorded(home_env, tmp_path):
    import json
    from urllib.parse import urlsplit

    from archive.catalog import Catalog

    HostileProxy.seen = []
    registry = tmp_path / "sites.yaml"
    registry.write_text("sites:\n  - {id: evil, name: 万载县, home: 'http://www.evil.gov.cn/',\n"
                        "     report_lists: ['http://www.evil.gov.cn/list.html']}\n", "utf-8")
    with serving(HostileProxy) as proxy:
        run_nianbao("crawl", "--sites", str(registry), "--proxy", proxy, *FAST, env=home_env)
    # Nothing but the site's own hosts was asked for, not even a robots.txt.
    assert {urlsplit(path).hostname for path in HostileProxy.seen} == {"www.evil.gov.cn", "files.evil.gov.cn"}
    catalog = Catalog(f"sqlite:///{tmp_path / 'home' / 'catalog.sqlite3'}", create=False)
    reasons = {f.reason for f in catalog.failures()}
    for name, (_target, reason) in REDIRECTS.items():
        assert (reason if reason.startswith("out of scope") else f"refused: {reason}") in reasons, name
    log = run_nianbao("runs", "log", "1", "--json", env=home_env).stdout.decode()
    logged = {json.loads(line).get("reason") for line in log.splitlines()}
    assert reasons <= logged  # and in the run's log
    captures = json.loads("[" + ",".join(run_nianbao("archive", "list", "--json", env=home_env).stdout.decode()
                                        .splitlines()) + "]")
    assert {(c["kind"], c["url"], c.get("final_url")) for c in captures if c["kind"] != "list"} == {
        ("report", "http://www.evil.gov.cn/r/ok.html", "http://files.evil.gov.cn/nb-2023.html")}
    queued = run_nianbao("parse", "queue", "--json", env=home_env).stdout.decode().splitlines()
    assert len(queued) == 1  # the one report that stayed on the site's hosts


class BusyProxy(Quiet):
    """A forward proxy for a busy portal: 503 with Retry-After first, the (empty) list after."""

    retry_after: str | None = "2"
    failing = 1  # answers to give 503 before the list
    seen: list[tuple[float, str]] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        import time

        failing = sum(path == self.path for _t, path in BusyProxy.seen) < BusyProxy.failing
        BusyProxy.seen.append((time.monotonic(), self.path))
        page = '<html><body><a href="/about.html">网站简介</a></body></html>'.encode()  # no reports yet: no error
        status, body = (503, b"busy") if failing and self.path.endswith("list.html") else (200, page)
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
        out = run_nianbao("crawl", "--sites", str(registry), "--proxy", proxy, *FAST,
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
                          "-s", "NIANBAO_MAX_REQUESTS_PER_SITE=10", *FAST, env=home_env).stdout.decode()
        pages = [u for _m, u in server.requests if not u.endswith("/robots.txt")]
    assert "stopped: 10 requests for this site (NIANBAO_MAX_REQUESTS_PER_SITE)" in out
    assert len(pages) <= 10


# -- the host judge (crawler.addresses) ----------------------------------------------------------------------------

REFUSED_HOSTS = [
    "169.254.169.254", "2852039166", "0xa9fea9fe", "0XA9FEA9FE", "0251.0376.0251.0376", "169.254.43518",
    "169.16689662", "0xa9.0xfe.0xa9.0xfe", "127.0.0.1", "127.1", "0x7f.1", "017700000001", "0", "0.0.0.0",
    "10.0.0.1", "10.1", "192.168.1.1", "172.16.0.1", "100.100.100.200", "224.0.0.1", "255.255.255.255",
    "::1", "[::1]", "::", "::ffff:169.254.169.254", "[::ffff:a9fe:a9fe]", "::ffff:127.0.0.1", "fe80::1%eth0",
    "fc00::1", "2002:a9fe:a9fe::1", "64:ff9b::a9fe:a9fe", "::169.254.169.254",
    "localhost", "LOCALHOST.", "api.localhost", "localhost.localdomain", "metadata", "metadata.google.internal",
    "instance-data", "metadata.azure.internal", "metadata.tencentyun.com", "printer.local", "db.internal",
    "wanzai", "169.254.169.254.nip.io", "app.169-254-169-254.sslip.io", "a9fea9fe.nip.io", "10.0.0.1.xip.io",
    "7f000001.08080808.rbndr.us", "nothing.nip.io", "--1.sslip.io", "localtest.me", "www.lvh.me",
    "%31%32%37.0.0.1", "１２７.０.０.１", "127。0。0。1",
]
ALLOWED_HOSTS = ["www.wanzai.gov.cn", "8.8.8.8", "134744072", "0x08080808", "2606:4700::1111", "::ffff:8.8.8.8",
                 "8.8.8.8.nip.io", "files.example.gov.cn", "metadata.gov.cn", "www.localhost.gov.cn", "1.2.3.4.5"]


@pytest.mark.parametrize("host", REFUSED_HOSTS)
def test_internal_hosts_in_every_spelling_are_refused(host):
    assert refusal(host) is not None


@pytest.mark.parametrize("host", ALLOWED_HOSTS)
def test_public_hosts_are_not_refused(host):
    assert refusal(host) is None


#: IANA's special-purpose IPv4 blocks (RFC 6890 and later): nothing in them is on the public Internet.
SPECIAL = [IPv4Network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.0.0.0/24",
    "192.0.2.0/24", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
    "224.0.0.0/4", "240.0.0.0/4")]
internal_ipv4 = st.builds(lambda net, n: net[n % net.num_addresses], st.sampled_from(SPECIAL), st.integers(0, 2**32))
global_ipv4 = st.integers(0, 2**32 - 1).map(IPv4Address).filter(lambda a: not any(a in net for net in SPECIAL))


def spellings(address: IPv4Address) -> list[str]:
    """Every way a resolver (inet_aton) or a URL can spell ``address``."""
    n, b = int(address), address.packed
    return [str(address), str(n), hex(n), hex(n).upper().replace("0X", "0x"), "0" + format(n, "o"),
            ".".join(f"0{x:o}" for x in b), ".".join(hex(x) for x in b), f"{b[0]}.{n & 0xFFFFFF}",
            f"{b[0]}.{b[1]}.{n & 0xFFFF}", f"0x{b[0]:x}.0{b[1]:o}.{n & 0xFFFF}", f"::ffff:{address}",
            f"[::ffff:{address}]", f"{address}.nip.io", f"x-{str(address).replace('.', '-')}.sslip.io"]


@given(internal_ipv4)
def test_every_spelling_of_an_internal_address_is_refused(address):
    for spelling in spellings(address):
        assert refusal(spelling) is not None, spelling


@given(global_ipv4)
def test_no_spelling_of_a_global_address_is_refused(address):
    for spelling in spellings(address):
        assert refusal(spelling) is None, spelling


@given(st.text(alphabet="0123456789abcdefxX.", min_size=1, max_size=24))
def test_numeric_hosts_are_read_as_inet_aton_reads_them(text):
    import socket

    try:
        expected = IPv4Address(socket.inet_aton(text))
    except OSError:
        expected = None
    read = read_address(text)
    assert (read if isinstance(read, IPv4Address) else None) == expected


RESOLVE = """
import sys
from twisted.internet import asyncioreactor
asyncioreactor.install()
from twisted.internet import reactor
from scrapy.settings import Settings
from scrapy.utils.misc import build_from_crawler, load_object
from crawler.runner import project_settings

class Process:  # what Scrapy hands a resolver: the CrawlerProcess, for its settings
    settings = project_settings()
    settings.setdict(dict(a.split("=", 1) for a in sys.argv[2:]), priority="cmdline")

resolver = build_from_crawler(load_object(Process.settings["TWISTED_DNS_RESOLVER"]), Process, reactor=reactor)
done = resolver.getHostByName(sys.argv[1])
done.addCallbacks(lambda a: print("resolved", a), lambda f: print(type(f.value).__name__, f.value))
done.addBoth(lambda _: reactor.stop())
reactor.run()
"""


@pytest.mark.parametrize(("name", "settings", "said"), [
    ("localhost", [], "InternalAddressError refused: localhost is an internal address (it resolves to 127.0.0.1)"),
    ("localhost", ["NIANBAO_PROXY=http://localhost:3128"], "resolved 127.0.0.1"),  # the proxy's own host
    ("localhost", ["NIANBAO_ALLOW_INTERNAL_ADDRESSES=true"], "resolved 127.0.0.1"),
])
def test_the_resolver_refuses_internal_answers_when_it_connects(name, settings, said, home_env):
    """What a name resolves to when Scrapy connects is judged again (DNS rebinding: a second answer differs)."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    result = subprocess.run([sys.executable, "-c", RESOLVE, name, *settings], env=home_env, cwd=ROOT,
                            capture_output=True, timeout=60)
    assert result.stdout.decode().strip() == said, result.stderr.decode()[-2000:]


def test_the_browser_aborts_what_a_page_script_asks_of_internal_addresses():
    import asyncio
    from types import SimpleNamespace

    from crawler.addons.browser import browser_abort

    def aborted(url: str, proxy: str | None = None, kind: str = "document", allow: bool = False) -> bool:
        return asyncio.run(browser_abort(proxy, allow)(SimpleNamespace(url=url, resource_type=kind)))

    for url in ("http://169.254.169.254/latest/meta-data/", "http://0xa9fea9fe/", "http://metadata.google.internal/",
                "http://127.0.0.1:8080/admin", "http://169.254.169.254.nip.io/"):
        assert aborted(url) and aborted(url, proxy="http://proxy.example:8080"), url
    assert not aborted("http://www.wanzai.gov.cn/col/col1/index.html", proxy="http://proxy.example:8080")
    assert not aborted("data:text/html,<p>x</p>")
    assert not aborted("http://127.0.0.1:8080/admin", allow=True)  # a lab
    # What a page loads only to look right is never fetched: one more request to a small server.
    assert aborted("http://www.wanzai.gov.cn/images/logo.png", kind="image")
    assert aborted("http://www.wanzai.gov.cn/css/style.css", kind="stylesheet")
    assert not aborted("http://www.wanzai.gov.cn/api/list.json?page=1", kind="fetch")
