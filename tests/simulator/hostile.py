"""A world of hostile county portals: what a broken or malicious server can send a crawler.

Each site is one attack, served through a forward proxy on loopback (as the simulator does), so
real-looking ``*.gov.cn`` names reach the crawler unchanged. Every site also publishes one genuine
report, so a crawl that survives the attack still has something to find. The crawler must come out
of each bounded in memory and time, fetch nothing out of scope, and record every loss.

``python -m tests.simulator.hostile`` serves it by hand and prints the registry and proxy.
"""

from __future__ import annotations

import hashlib
import threading
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

REPORT_TITLE = "{name}2023年政府信息公开工作年度报告"
#: The gzip bomb decodes to this much (10 GiB of zeros, ~10 MB on the wire).
BOMB_BYTES = 10 * 1024**3
#: A genuine attachment larger than any body held in memory.
BIG_FILE_BYTES = 60 * 1024 * 1024
#: A genuine report page too large to read (its links are not followed).
BIG_PAGE_BYTES = 20 * 1024 * 1024
FLOOD_LINKS = 60_000  # ~5 MB: a page still read whole (NIANBAO_MAX_BODY_IN_MEMORY)


@dataclass
class Reply:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    #: The body, or chunks of it (sent chunked when ``length`` is None).
    body: bytes | Iterator[bytes] = b""
    length: int | None = -1  # -1: len(body); None: Transfer-Encoding: chunked


Route = Callable[[str, str, bytes], Reply]  # (method, path with query, request body)


def page(title: str, main: str) -> bytes:
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title></head>'
            f"<body><h1>{title}</h1>{main}</body></html>").encode()


def html(body: bytes, status: int = 200, extra: list[tuple[str, str]] | None = None) -> Reply:
    return Reply(status, [("Content-Type", "text/html; charset=utf-8"), *(extra or [])], body)


def report_page(name: str, attachments: str = "") -> bytes:
    text = ("<p>一、总体情况</p><p>本年度报告由县人民政府办公室编制，统计期限自2023年1月1日起至2023年12月31日止。</p>"
            "<p>二、主动公开政府信息情况</p><p>三、收到和处理政府信息公开申请情况</p>")
    return page(REPORT_TITLE.format(name=name), text + attachments)


def _zeros_gzip(total: int) -> Iterator[bytes]:
    """``total`` zero bytes as one gzip stream, compressed as it is sent."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1024 * 1024)
    for _ in range(total // len(block)):
        if out := compressor.compress(block):
            yield out
    yield compressor.flush()


def _endless() -> Iterator[bytes]:
    chunk = b"%PDF-1.4 " + b"0" * 65_000
    while True:
        yield chunk


def _lazy_file(size: int, seed: bytes) -> Iterator[bytes]:
    """``size`` bytes that are not all alike (a digest mix-up would show), made as they are sent."""
    block = hashlib.sha256(seed).digest() * 32768  # 1 MiB
    for sent in range(0, size, len(block)):
        yield block[: min(len(block), size - sent)]


def big_file_sha256() -> str:
    digest = hashlib.sha256()
    for chunk in _lazy_file(BIG_FILE_BYTES, b"big"):
        digest.update(chunk)
    return digest.hexdigest()


@dataclass
class HostileSite:
    id: str
    name: str
    host: str
    list_path: str
    routes: dict[str, Route]
    #: What the crawler must record as a failure (a substring of the reason), for this site.
    expect_failure: str
    #: URLs whose bodies must never be archived (out of scope, bombs …).
    never_archived: list[str] = field(default_factory=list)

    @property
    def list_url(self) -> str:
        return f"http://{self.host}{self.list_path}"

    def url(self, path: str) -> str:
        return f"http://{self.host}{path}"


def _site(sid: str, name: str, list_main: str | Callable[[str], Reply], expect: str, extra: dict[str, Route],
          list_path: str = "/xxgk/ndbg/index.html", never: tuple[str, ...] = ()) -> HostileSite:
    host = f"www.{sid}.gov.cn"
    routes: dict[str, Route] = {"/nb/2023.html": lambda m, p, b: html(report_page(name))}
    if callable(list_main):
        routes[list_path] = lambda m, p, b: list_main(p)
    else:
        routes[list_path] = lambda m, p, b: html(page("政府信息公开年报", list_main))
    routes.update(extra)
    return HostileSite(sid, name, host, list_path, routes, expect, [f"http://{host}{p}" for p in never])


def _report_link(name: str) -> str:
    return f'<li><a href="/nb/2023.html">{REPORT_TITLE.format(name=name)}</a></li>'


def build_hostile_world() -> list[HostileSite]:
    sites = []
    # TRS pager claiming a billion pages.
    name = "特瑞思县"
    trs_list = (f"<ul>{_report_link(name)}</ul>"
                '<script>createPageHTML(1000000000, 0, "index", "html");</script>')
    sites.append(_site("trsbomb", name, lambda p: html(page("年报", trs_list)), "list claims 1000000000 pages",
                       {}, list_path="/xxgk/ndbg/index.html"))
    sites[-1].routes.update({f"/xxgk/ndbg/index_{i}.html": sites[-1].routes["/xxgk/ndbg/index.html"]
                             for i in range(1, 600)})
    # Hanweb data proxy whose total is two billion records.
    name = "大汉县"
    record = f'<record><![CDATA[<li><a href="/nb/2023.html">{REPORT_TITLE.format(name=name)}</a></li>]]></record>'
    hanweb_first = page("年报", '<script type="text/xml"><datastore><nextgroup><![CDATA[]]></nextgroup>'
                        f"<recordset>{record}</recordset></datastore></script>"
                        "<script>var param_1 = {col:1, webid:1, path:'/', columnid:1, unitid:1, "
                        "webname:'x', permissiontype:0};</script>")
    hanweb_answer = (f"<datastore><totalrecord>2000000000</totalrecord><recordset>{record}</recordset>"
                     "</datastore>").encode()
    sites.append(_site("hwbomb", name, lambda p: html(hanweb_first), "list claims", {
        "/module/web/jpage/dataproxy.jsp": lambda m, p, b: Reply(200, [("Content-Type", "text/xml")], hanweb_answer),
    }, list_path="/col/col1/index.html"))
    # One list page with 60,000 report-like links.
    name = "洪水县"
    flood = "".join(f"<a href=/nb/flood/{i}>{name}第{i}局2023年政府信息公开工作年度报告</a>"
                    for i in range(FLOOD_LINKS))
    sites.append(_site("flood", name, f"<ul>{_report_link(name)}{flood}</ul>", "report links on one list page", {
        "/nb/flood/": lambda m, p, b: html(report_page(name)),
    }))
    # A gzip bomb as the report's attachment.
    name = "炸弹县"
    sites.append(_site("gzbomb", name, f"<ul>{_report_link(name)}</ul>", "gzip body decodes to more than", {
        "/nb/2023.html": lambda m, p, b: html(report_page(name, '<a href="/files/nb2023.pdf">附件.pdf</a>')),
        "/files/nb2023.pdf": lambda m, p, b: Reply(200, [("Content-Type", "application/pdf"),
                                                         ("Content-Encoding", "gzip")], _zeros_gzip(BOMB_BYTES), None),
    }, never=("/files/nb2023.pdf",)))
    # An attachment whose chunked body never ends.
    name = "无尽县"
    sites.append(_site("endless", name, f"<ul>{_report_link(name)}</ul>", "too large: more than DOWNLOAD_MAXSIZE", {
        "/nb/2023.html": lambda m, p, b: html(report_page(name, '<a href="/files/nb2023.pdf">附件.pdf</a>')),
        "/files/nb2023.pdf": lambda m, p, b: Reply(200, [("Content-Type", "application/pdf")], _endless(), None),
    }, never=("/files/nb2023.pdf",)))
    # Genuine but large: a 60 MB attachment (archived whole) and a 20 MB report page (archived, not read).
    name = "巨幅县"
    padding = "<p>" + "附" * (BIG_PAGE_BYTES // 3) + "</p>"
    sites.append(_site("bigfile", name, f"<ul>{_report_link(name)}"
                       f'<li><a href="/nb/2022.html">{name}2022年政府信息公开工作年度报告</a></li></ul>',
                       "too large to read", {
        "/nb/2023.html": lambda m, p, b: html(report_page(name, '<a href="/files/scan.pdf">扫描件.pdf</a>')),
        "/nb/2022.html": lambda m, p, b: html(report_page(name, padding + '<a href="/files/never.pdf">附件.pdf</a>')),
        "/files/scan.pdf": lambda m, p, b: Reply(200, [("Content-Type", "application/pdf")],
                                                 _lazy_file(BIG_FILE_BYTES, b"big"), BIG_FILE_BYTES),
    }, never=("/files/never.pdf",)))
    return sites


def registry_yaml(sites: list[HostileSite]) -> str:
    lines = ["sites:"]
    for s in sites:
        lines.append(f"  - {{id: {s.id}, name: {s.name}, province: 测试省, home: 'http://{s.host}/', "
                     f"report_lists: ['{s.list_url}']}}")
    return "\n".join(lines) + "\n"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: HostileServer

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        url = self.path if self.path.startswith("http") else f"http://{self.headers.get('Host', '')}{self.path}"
        with self.server.lock:
            self.server.requests.append((self.command, url))
        parts = urlsplit(url)
        reply = self.server.reply(self.command, parts.hostname or "", parts.path, parts.query, body)
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        chunks = iter((reply.body,)) if isinstance(reply.body, bytes) else reply.body
        if reply.length is None:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            size = len(reply.body) if reply.length == -1 and isinstance(reply.body, bytes) else reply.length
            self.send_header("Content-Length", str(size))
        self.end_headers()
        if self.command == "HEAD":
            return
        try:
            for chunk in chunks:
                if not chunk:
                    continue
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if reply.length is None else chunk)
            if reply.length is None:
                self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):  # the crawler gave up: as it should
            self.close_connection = True

    do_GET = do_POST = do_HEAD = _serve


class HostileServer(ThreadingHTTPServer):
    """The hostile world's forward proxy on loopback; ``requests`` logs (method, URL)."""

    daemon_threads = True

    def __init__(self, sites: list[HostileSite]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.sites = {s.host: s for s in sites}
        self.requests: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def reply(self, method: str, host: str, path: str, query: str, body: bytes) -> Reply:
        site = self.sites.get(host)
        if path == "/robots.txt" or site is None:
            return Reply(404, [("Content-Type", "text/plain")], b"not found")
        route = site.routes.get(path) or next((r for prefix, r in site.routes.items()
                                               if prefix.endswith("/") and path.startswith(prefix)), None)
        if route is None:
            return Reply(404, [("Content-Type", "text/plain")], b"not found")
        return route(method, f"{path}?{query}" if query else path, body)

    def __enter__(self) -> HostileServer:
        threading.Thread(target=self.serve_forever, args=(0.1,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


def main() -> None:
    sites = build_hostile_world()
    Path("hostile-sites.yaml").write_text(registry_yaml(sites), "utf-8")
    with HostileServer(sites) as server:
        print(f"registry: hostile-sites.yaml  proxy: {server.proxy_url}  (Ctrl-C to stop)", flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
