"""Archived facts never change on a recrawl (issue 9): headers and file names are kept as received.

A first crawl of the simulated counties, then two ordinary recrawls (``NIANBAO_RECHECK_AFTER=0``,
answered 304 from the archive): every capture's headers and file name must be the first
capture's, byte for byte, apart from what a 304 legitimately freshens. A stub portal checks
what the simulator does not send (two Set-Cookie headers, a raw-GBK value, an HTTP/1.0 status
line), also from a catalog written before headers were kept as pairs; and ``archive diff``
reads a GBK page served as ``charset=iso-8859-1`` as the crawl did.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import sqlite3
from collections import defaultdict
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from archive.catalog import Catalog
from archive.headers import pairs
from archive.storage import open_store
from archive.warc import export_warc
from nianbao.config import Config
from tests.conftest import FAST, run_nianbao
from tests.simulator.hard import build_hard_world
from tests.simulator.server import SimulatorServer
from tests.simulator.world import build_world
from tests.support import nianbao_env
from tests.test_safety import serving

#: What a 304 may legitimately carry anew (RFC 9111 §4.3.4); everything else must stay as first received.
FRESHENED = {"date", "expires", "cache-control", "age", "etag", "last-modified"}
RECRAWL = ("-s", "NIANBAO_RECHECK_AFTER=0")


def _kept(stored: object) -> list[tuple[bytes, bytes]]:
    """A capture's headers as bytes, minus what a 304 freshens: what must never change."""
    return [(n.encode("latin-1"), v.encode("latin-1")) for n, v in pairs(stored) if n.lower() not in FRESHENED]


def _by_url(catalog: Catalog) -> dict[str, list]:
    captures = defaultdict(list)
    for capture in catalog.captures():
        captures[capture.url].append(capture)
    return captures


# -- the simulated counties -------------------------------------------------------------------
@pytest.fixture(scope="module")
def recrawled(tmp_path_factory):
    world = build_world(counties=3)  # plain HTML, Hanweb (raw-GBK Content-Disposition), TRS (GBK pages)
    tmp = tmp_path_factory.mktemp("recrawl")
    registry = tmp / "sites.yaml"
    registry.write_text(world.registry_yaml(), "utf-8")
    env = nianbao_env(tmp / "home")
    with SimulatorServer(world) as server:
        args = ["crawl", "--sites", str(registry), "--proxy", server.proxy_url, *FAST]
        for extra in ((), RECRAWL, RECRAWL):
            run_nianbao(*args, *extra, env=env)
    return world, Catalog(f"sqlite:///{tmp}/home/catalog.sqlite3", create=False)


def test_recrawls_leave_every_header_and_file_name_as_first_captured(recrawled):
    world, catalog = recrawled
    captures = _by_url(catalog)
    revisits = [c for cs in captures.values() for c in cs if c.status == 304]
    assert len(revisits) >= 2 * (len(world.reports) + len(world.attachments)) * 0.9  # the recrawls were 304s
    changed = []
    for url, (first, *later) in captures.items():
        assert isinstance(first.headers, list) and first.protocol == "HTTP/1.1"
        for capture in later:
            if (_kept(capture.headers), capture.filename) != (_kept(first.headers), first.filename):
                changed.append((url, capture.status, first.filename, capture.filename))
    assert not changed, f"{len(changed)} captures differ from the first: {changed[:3]}"


def test_a_raw_gbk_content_disposition_keeps_its_chinese_name(recrawled):
    world, catalog = recrawled
    captures = _by_url(catalog)
    raw_gbk = [a for a in world.attachments if "downfile.jsp" in a.url
               and b'filename="' + a.filename.encode("gbk") in world.resolve("GET", a.url)[1]
               ["Content-Disposition"].encode("latin-1")]
    assert raw_gbk, "the world has no raw-GBK Content-Disposition attachment"
    for planted in raw_gbk:
        seen = captures[planted.url]
        assert len(seen) == 3 and [c.status for c in seen[1:]] == [304, 304]
        assert {c.filename for c in seen} == {planted.filename}
        (disposition,) = [v for n, v in pairs(seen[-1].headers) if n.lower() == "content-disposition"]
        assert disposition.encode("latin-1") == f'attachment; filename="{planted.filename}"'.encode("gbk")


# -- a stub portal: repeated headers, raw GBK, HTTP/1.0 -----------------------------------------
NAME = "巨野县2023年政府信息公开工作年度报告.docx"
AGENCY = "巨野县人民政府办公室".encode("gbk")
COOKIES = [b"JSESSIONID=8F2A; Path=/", b"lang=zh-CN; Path=/; HttpOnly"]
PAGES: dict[str, tuple[list[tuple[bytes, bytes]], bytes]] = {
    "/list.html": ([(b"Content-Type", b"text/html; charset=utf-8")],
                   '<a href="/nb.html">巨野县2023年政府信息公开工作年度报告</a>'.encode()),
    "/nb.html": ([(b"Content-Type", b"text/html; charset=utf-8"), (b"Set-Cookie", COOKIES[0]),
                  (b"X-Agency", AGENCY), (b"Set-Cookie", COOKIES[1])],
                 '<title>巨野县2023年政府信息公开工作年度报告</title><a href="/downfile.jsp?id=7">附件</a>'.encode()),
    "/downfile.jsp": ([(b"Content-Type", b"application/octet-stream"),
                       (b"Content-Disposition", b'attachment; filename="' + NAME.encode("gbk") + b'"')],
                      b"PK\x03\x04 a report in Word"),
}


class Portal(BaseHTTPRequestHandler):
    """A forward proxy for a portal (HTTP/1.0, as http.server speaks by default) that answers 304 to its ETags."""

    asked: list[tuple[str, str | None]] = []

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        Portal.asked.append((urlsplit(self.path).path, self.headers.get("If-None-Match")))
        headers, body = PAGES.get(urlsplit(self.path).path, ([], None))
        etag = f'"{hashlib.sha256(body or b"").hexdigest()[:16]}"'
        if body is None or self.headers.get("If-None-Match") == etag:
            self.send_response(404 if body is None else 304)
            self.send_header("ETag", etag)
            self.send_header("Cache-Control", "max-age=600")  # news a 304 may bring: the revisit's, not the body's
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        for name, value in [*headers, (b"ETag", etag.encode())]:
            self.send_header(name.decode("latin-1"), value.decode("latin-1"))  # http.server writes Latin-1
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def portal(tmp_path):
    registry = tmp_path / "sites.yaml"
    registry.write_text("sites:\n  - {id: juye, name: 巨野县, home: 'http://www.juye.gov.cn/',\n"
                        "     report_lists: ['http://www.juye.gov.cn/list.html']}\n", "utf-8")
    env = nianbao_env(tmp_path / "home")
    Portal.asked = []
    with serving(Portal) as proxy:
        yield lambda *extra: run_nianbao("crawl", "--sites", str(registry), "--proxy", proxy, *FAST, *extra,
                                         env=env), env


def _captures(env: dict[str, str], path: str) -> list:
    catalog = Catalog(f"sqlite:///{env['NIANBAO_HOME']}/catalog.sqlite3", create=False)
    return [c for c in catalog.captures() if urlsplit(c.url).path == path]


def test_repeated_and_raw_gbk_headers_are_stored_apart_and_byte_exact(portal, tmp_path):
    crawl, env = portal
    for extra in ((), RECRAWL, RECRAWL):
        crawl(*extra)
    report, attachment = _captures(env, "/nb.html"), _captures(env, "/downfile.jsp")
    assert [c.status for c in report] == [c.status for c in attachment] == [200, 304, 304]
    for capture in report:
        stored = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in capture.headers]  # the column itself
        assert [v for n, v in stored if n == b"Set-Cookie"] == COOKIES  # apart, never joined with ", "
        assert (b"X-Agency", AGENCY) in stored and capture.protocol == "HTTP/1.0"
        assert _kept(capture.headers) == _kept(report[0].headers)
    assert [c.headers[-1] for c in report[1:]] == [["Cache-Control", "max-age=600"]] * 2  # what the 304 added
    assert {c.filename for c in attachment} == {NAME}
    history = [json.loads(line) for line in run_nianbao("archive", "history", report[0].url, "--json",
                                                        env=env).stdout.decode().splitlines()]
    assert [h["headers"] for h in history] == [[list(p) for p in pairs(c.headers)] for c in report]
    config = Config.from_env(env)
    catalog = Catalog(config.catalog)
    export_warc(catalog, open_store(config), tmp_path / "warc")
    written = b"".join(gzip.decompress(p.read_bytes()) for p in (tmp_path / "warc").glob("*.warc.gz"))
    assert written.count(b"HTTP/1.0 200 OK\r\n") == len(list(catalog.captures()))  # the status line's protocol
    assert written.count(b"\r\nX-Agency: " + AGENCY + b"\r\n") == 3
    assert written.count(b"\r\nSet-Cookie: " + COOKIES[1] + b"\r\n") == 3  # its own line each time


def test_a_catalog_from_before_keeps_its_headers_on_a_recrawl(portal):
    """Rows of the earlier form (a dict, repeats joined) are read as they are and never rewritten."""
    crawl, env = portal
    crawl()
    database = sqlite3.connect(Path(env["NIANBAO_HOME"]) / "catalog.sqlite3")
    with database:
        for capture_id, stored in database.execute("SELECT id, headers FROM captures").fetchall():
            joined: dict[str, str] = {}
            for name, value in json.loads(stored):
                joined[name] = f"{joined[name]}, {value}" if name in joined else value
            database.execute("UPDATE captures SET headers = ?, protocol = NULL WHERE id = ?",
                             (json.dumps(joined), capture_id))
    old = {c.url: c.headers for c in _captures(env, "/nb.html") + _captures(env, "/downfile.jsp")}
    before = len(Portal.asked)
    crawl(*RECRAWL)
    asked = dict(Portal.asked[before:])
    assert asked["/nb.html"] and asked["/downfile.jsp"]  # the old rows' ETags made the requests conditional
    for path in ("/nb.html", "/downfile.jsp"):
        first, revisit = _captures(env, path)
        assert first.headers == old[first.url] and revisit.status == 304  # the old row is untouched
        assert _kept(revisit.headers) == _kept(first.headers)
    assert {c.filename for c in _captures(env, "/downfile.jsp")} == {NAME}


# -- archive diff of a GBK page served as iso-8859-1 ------------------------------------------
def test_diff_reads_a_gbk_page_served_as_latin_1_as_chinese(tmp_path):
    world = build_hard_world()
    registry = tmp_path / "sites.yaml"
    registry.write_text(world.registry_yaml(), "utf-8")
    env = nianbao_env(tmp_path / "home")
    page = next(r for r in world.reports if r.site == "changsha"
                and "iso-8859-1" in world.resolve("GET", r.url)[1]["Content-Type"])
    correction = "<p>更正说明：㮾梨街道的数据已更正。</p>".encode("gb18030")
    with SimulatorServer(world) as server:
        args = ["crawl", "--sites", str(registry), "--site", "changsha", "--proxy", server.proxy_url, *FAST]
        run_nianbao(*args, env=env)
        restore = world.revise(page.url, correction)
        try:
            run_nianbao(*args, *RECRAWL, env=env)
        finally:
            restore()
    diff = run_nianbao("archive", "diff", page.url, env=env).stdout.decode()
    added = [line for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert added == ["+更正说明：㮾梨街道的数据已更正。"]
    context = [line[1:] for line in diff.splitlines() if line.startswith(" ")]
    assert any("\u4e00" <= ch <= "\u9fff" for line in context for ch in line), context  # the page's own text
    assert not [ch for ch in diff if "\x80" <= ch <= "\xff"], diff  # no mojibake (GB18030 bytes read as Latin-1)
