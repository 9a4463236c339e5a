"""WARC export, checked by the field's own tools: warcio's checker and reader, pywb's indexer and replay."""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import subprocess
import sys
import sysconfig
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive.catalog import Capture, Catalog, isoformat
from archive.headers import pairs as header_pairs
from archive.storage import object_key, open_store
from archive.warc import export_warc
from nianbao.config import Config
from tests.conftest import FAST, run_nianbao
from tests.simulator.server import SimulatorServer
from tests.simulator.world import build_world
from tests.support import free_ports, nianbao_env, stop_process

#: Transfer headers the export rewrites (the stored body is the decoded one).
_REWRITTEN = {"content-length", "content-encoding", "transfer-encoding"}


def _tool(name: str) -> str:
    """A console script of pywb or warcio: from pywb's own environment (``make test`` puts it in
    ``.venv/pywb``, apart from the crawler's), else from PATH or this interpreter's."""
    for folder in (Path(sys.prefix) / "pywb" / "bin", *os.get_exec_path(), sysconfig.get_path("scripts")):
        if (Path(folder) / name).is_file():
            return str(Path(folder) / name)
    raise AssertionError(f"{name} is not installed: make test installs pywb in .venv/pywb")


@pytest.fixture(scope="module")
def world():
    return build_world(counties=1)


@pytest.fixture(scope="module")
def archived(world, tmp_path_factory) -> dict[str, str]:
    """Two crawls with one report revised in between: new captures, revisits and a changed version."""
    tmp = tmp_path_factory.mktemp("warc")
    registry = tmp / "sites.yaml"
    registry.write_text(world.registry_yaml(), "utf-8")
    env = nianbao_env(tmp / "home")
    with SimulatorServer(world) as server:
        crawl = ("crawl", "--sites", str(registry), "--proxy", server.proxy_url, *FAST)
        run_nianbao(*crawl, env=env, timeout=120)
        restore = world.revise(world.reports[0].url)
        try:  # reports confirmed moments ago are not asked about again, unless told to
            run_nianbao(*crawl, "-s", "NIANBAO_RECHECK_AFTER=0", env=env, timeout=120)
        finally:
            restore()
    return env


@pytest.fixture(scope="module")
def catalog(archived) -> Catalog:
    return Catalog(Config.from_env(archived).catalog, create=False)


@pytest.fixture(scope="module")
def exported(archived, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("export") / "warc"
    result = export(archived, out, "--max-size", "100K")  # small: several files, revisits across them
    assert b"revisits" in result.stderr
    return out


def export(env: dict[str, str], out: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    return run_nianbao("archive", "export-warc", str(out), *args, env=env, check=check, timeout=120)


def warcs(out: Path) -> list[Path]:
    return sorted(out.glob("*.warc.gz"))


def read_records(out: Path) -> list[dict]:
    """Every record of every file, in order, with its headers and exact payload bytes."""
    records = []
    for path in warcs(out):
        with path.open("rb") as fh:
            for record in ArchiveIterator(fh):
                records.append({"file": path.name, "type": record.rec_type, "warc": record.rec_headers,
                                "http": record.http_headers, "payload": record.raw_stream.read()})
    return records


def pairs(records: list[dict]) -> Iterator[tuple[dict, int]]:
    """Each response/revisit with the catalog id its metadata record names."""
    for record, meta in zip(records, records[1:], strict=False):
        if record["type"] in ("response", "revisit"):
            assert meta["type"] == "metadata"
            fields = dict(line.split(": ", 1) for line in meta["payload"].decode().splitlines())
            yield record, int(fields["capture"])


def served_status(capture: Capture) -> int:
    return 200 if capture.status == 304 else capture.status  # a 304 revalidated the 200 held


def test_every_file_passes_warcio_check(exported):
    files = warcs(exported)
    assert len(files) > 1 and all(f.name.startswith("nianbao-") for f in files)
    result = subprocess.run([_tool("warcio"), "check", "-v", *map(str, files)], capture_output=True, timeout=60)
    assert result.returncode == 0, result.stdout.decode()[-3000:]
    report = result.stdout.decode()
    assert "digest pass" in report and "failed" not in report and "unknown hash" not in report


def test_one_response_per_body_and_revisits_for_the_rest(exported, catalog):
    records = read_records(exported)
    captures = {c.id: c for c in catalog.captures()}
    assert [r["file"] for r in records if r["type"] == "warcinfo"] == [p.name for p in warcs(exported)]
    written: dict[str, dict] = {}
    seen = []
    for record, capture_id in pairs(records):
        capture, warc = captures[capture_id], record["warc"]
        seen.append(capture_id)
        assert warc["WARC-Target-URI"] == capture.final_url
        assert warc["WARC-Date"] == isoformat(capture.fetched_at)
        assert record["http"].get_statuscode() == str(served_status(capture))
        for name, value in header_pairs(capture.headers):
            if name.lower() not in _REWRITTEN:
                assert record["http"][name] == value, name
        assert record["http"]["Content-Length"] == str(capture.size)
        if record["type"] == "response":
            assert capture.sha256 not in written  # a body is written once
            assert hashlib.sha256(record["payload"]).hexdigest() == capture.sha256
            written[capture.sha256] = record
        else:
            original = written[capture.sha256]["warc"]  # written earlier in this export
            assert record["payload"] == b""
            assert warc["WARC-Profile"] == "http://netpreserve.org/warc/1.1/revisit/identical-payload-digest"
            assert warc["WARC-Payload-Digest"] == original["WARC-Payload-Digest"]
            assert warc["WARC-Refers-To-Target-URI"] == original["WARC-Target-URI"]
            assert warc["WARC-Refers-To-Date"] == original["WARC-Date"]
            assert warc["WARC-Refers-To"] == original["WARC-Record-ID"]
    assert sorted(seen) == sorted(captures)
    assert set(written) == {c.sha256 for c in captures.values()}
    assert len(seen) > len(written)  # the recrawl's captures are revisits


def test_cdxj_index_is_what_pywb_indexes(exported):
    ours = (exported / "index.cdxj").read_text("utf-8")
    theirs = subprocess.run([_tool("cdx-indexer"), "--cdxj", "--sort", *[p.name for p in warcs(exported)]],
                            cwd=exported, capture_output=True, timeout=60, check=True).stdout.decode()
    assert ours == theirs
    assert "warc/revisit" in ours and ours.startswith("cn,gov,")


@pytest.fixture(scope="module")
def wayback(exported, tmp_path_factory) -> Iterator[str]:
    """A real pywb serving the export as collection ``nianbao``; yields its base URL."""
    home = tmp_path_factory.mktemp("pywb")
    (home / "config.yaml").write_text(f"collections:\n  nianbao:\n    index_paths: {exported / 'index.cdxj'}\n"
                                      f"    archive_paths: {exported}/\n", "utf-8")
    (port,) = free_ports(1)
    log = (home / "wayback.log").open("wb")
    process = subprocess.Popen([_tool("wayback"), "-b", "127.0.0.1", "-p", str(port), "-t", "4"], cwd=home,
                               stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(base + "/", timeout=2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError("wayback did not start:\n" + (home / "wayback.log").read_text()) from None
                time.sleep(0.2)
        yield base
    finally:
        stop_process(process)
        log.close()


def test_pywb_replays_every_version_and_revisit(world, catalog, wayback):
    revised, unchanged = world.reports[0], world.reports[1]
    for report in (revised, unchanged):
        captures = [c for c in catalog.captures() if c.url == report.url]
        assert len(captures) >= 2
        for capture in captures:
            url = f"{wayback}/nianbao/{capture.fetched_at:%Y%m%d%H%M%S}id_/{report.url}"
            with urllib.request.urlopen(url, timeout=10) as answer:
                body = answer.read()
                assert answer.status == 200
                assert answer.headers["Content-Type"] == capture.content_type
            assert hashlib.sha256(body).hexdigest() == capture.sha256
    assert len({c.sha256 for c in catalog.captures() if c.url == revised.url}) == 2


def test_since_writes_full_responses_for_bodies_first_seen_before(archived, catalog, tmp_path):
    second_run = max(c.run_id for c in catalog.captures())
    since = min(c.fetched_at for c in catalog.captures(run=second_run))
    selected = [c for c in catalog.captures() if c.fetched_at >= since]
    assert len(selected) < len(list(catalog.captures()))
    export(archived, tmp_path / "out", "--since", isoformat(since))
    written = {capture_id: record for record, capture_id in pairs(read_records(tmp_path / "out"))}
    assert sorted(written) == sorted(c.id for c in selected)
    responses = [r for r in written.values() if r["type"] == "response"]
    assert len(responses) == len({c.sha256 for c in selected})  # no revisit refers outside the export
    before = {c.sha256 for c in catalog.captures() if c.fetched_at < since}
    firsts: dict[str, Capture] = {}
    for capture in selected:
        firsts.setdefault(capture.sha256, capture)
    carried = [c for c in firsts.values() if c.sha256 in before]
    assert carried and all(written[c.id]["type"] == "response" for c in carried)
    assert all(hashlib.sha256(written[c.id]["payload"]).hexdigest() == c.sha256 for c in carried)
    result = subprocess.run([_tool("warcio"), "check", *map(str, warcs(tmp_path / "out"))], timeout=60)
    assert result.returncode == 0


def test_a_corrupt_object_stops_the_export_and_leaves_nothing(archived, world, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(archived["NIANBAO_HOME"], home)
    env = {**archived, "NIANBAO_HOME": str(home)}
    victim = world.reports[1]
    path = home / "objects" / object_key(victim.sha256)
    path.chmod(0o644)
    path.write_bytes(path.read_bytes()[:-1] + b"X")
    result = export(env, tmp_path / "out", check=False)
    err = result.stderr.decode()
    capture = next(c for c in Catalog(Config.from_env(env).catalog, create=False).captures()
                   if c.sha256 == victim.sha256)
    assert result.returncode == 1, err
    assert f"capture {capture.id} ({victim.url}" in err and "corrupt" in err
    assert list((tmp_path / "out").iterdir()) == []  # no WARC, no index, no temporary file


def test_an_existing_export_is_never_overwritten(archived, exported):
    before = {p.name: p.read_bytes() for p in exported.iterdir()}
    result = export(archived, exported, check=False)
    assert result.returncode == 1 and b"refusing to overwrite" in result.stderr
    assert {p.name: p.read_bytes() for p in exported.iterdir()} == before


def test_headers_describe_the_stored_body(tmp_path):
    """Codings Scrapy undid are moved aside, one it left stays; header bytes are the server's; redirects."""
    config = Config.from_env({"NIANBAO_HOME": str(tmp_path / "home")})
    catalog, store = Catalog(config.catalog), open_store(config)
    gbk_name = "年报.pdf".encode("gbk").decode("latin-1")  # as the spider stores raw header bytes
    decoded, still_gzipped = b"%PDF-1.4 decoded by Scrapy", gzip.compress(b"x" * 100, mtime=0)
    rows = [
        ("http://a.gov.cn/r.pdf", "http://a.gov.cn/files/r.pdf", decoded,
         {"Content-Type": "application/pdf", "Content-Encoding": "gzip", "Content-Length": "20",
          "Transfer-Encoding": "chunked", "Content-Disposition": f'attachment; filename="{gbk_name}"'}),
        ("http://a.gov.cn/odd.bin", "http://a.gov.cn/odd.bin", still_gzipped,
         {"Content-Type": "application/octet-stream", "Content-Encoding": "gzip"}),
    ]
    catalog.record([{"site": "a", "kind": "attachment", "url": url, "final_url": final, "method": "GET",
                     "status": 200, "headers": headers, "fetched_at": datetime(2024, 3, 1, 8, 0, i, 123456),
                     "sha256": store.put(body), "size": len(body), "content_type": headers["Content-Type"]}
                    for i, (url, final, body, headers) in enumerate(rows)])
    export_warc(catalog, store, tmp_path / "out")
    records = read_records(tmp_path / "out")
    moved, kept = (r for r in records if r["type"] == "response")
    assert moved["warc"]["WARC-Target-URI"] == "http://a.gov.cn/files/r.pdf"  # where the bytes came from
    assert moved["warc"]["WARC-Date"] == "2024-03-01T08:00:00.123456Z"
    assert moved["payload"] == decoded and kept["payload"] == still_gzipped
    head = moved["http"]
    assert head["Content-Encoding"] is None and head["X-Archive-Orig-Content-Encoding"] == "gzip"
    assert head["Transfer-Encoding"] is None and head["X-Archive-Orig-Transfer-Encoding"] == "chunked"
    assert head["Content-Length"] == str(len(decoded)) and head["X-Archive-Orig-Content-Length"] == "20"
    assert kept["http"]["Content-Encoding"] == "gzip"  # the stored body still is gzip: replay must know
    raw = (tmp_path / "out").joinpath(moved["file"]).read_bytes()
    assert f'filename="{gbk_name}"'.encode("latin-1") in gzip.decompress(raw)  # the server's bytes, not %-escaped
    meta = next(r for r in records if r["type"] == "metadata")
    assert b"requested-uri: http://a.gov.cn/r.pdf" in meta["payload"]
    result = subprocess.run([_tool("warcio"), "check", str(tmp_path / "out" / moved["file"])], timeout=60)
    assert result.returncode == 0
