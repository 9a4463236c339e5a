"""The parse queue's consumer on a real archive (a LocalStore, the catalog's write path, real report bodies):
drained by ``nianbao parse run --once``, once per body, failures final until ``--reparse``, claims that
expire, two machines' workers on one PostgreSQL catalog. The CLI runs as a user runs it; the tests about the
queue's rules call ``parsing.queue.run`` in this process (the parser still in a child of its own)."""

from __future__ import annotations

import multiprocessing
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from archive.catalog import Catalog, utcnow
from archive.storage import object_key, open_store
from nianbao.config import Config
from parsing import PARSER_VERSION, queue
from tests.conftest import ROOT, run_nianbao
from tests.support import nianbao_env

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "seeds"
TEMPLATE_DOCX = (Path(__file__).resolve().parents[2] / "shared" / "corpus" / "real" / "zxj6827111-blip__govnianbao"
                 / "政务公开年报模版.docx")
HOST = "http://www.xianyuan.gov.cn"
PAGE = f"{HOST}/art/2022/1/20/art_1_1.html"  # a report page that only links its report
ATTACHMENT = f"{HOST}/uploads/2021年报.txt"
REPORT = f"{HOST}/art/2023/1/20/art_1_2.html"
MIRROR = f"{HOST}/art/2023/1/20/art_1_2_copy.html"  # the same body under another URL
CORRUPT = f"{HOST}/uploads/damaged.txt"
WRAPPER = f"{HOST}/art/2022/1/21/art_1_3.html"  # a page whose attachment has no filled cells: no tables to give
BLANK = f"{HOST}/uploads/模版.docx"
AGENCY = "仙源乡人民政府"


def seed(n: int) -> bytes:
    return sorted(SEEDS.glob("*.txt"))[n].read_bytes()


def page(title: str, link: str) -> bytes:
    return (f"<html><head><title>{title}</title></head><body><h1>{title}</h1>"
            f"<p>附件：<a href=\"{link}\">{title}</a></p></body></html>").encode()


@dataclass
class Archive:
    env: dict[str, str]
    config: Config
    catalog: Catalog

    def rows(self, sql: str) -> list[tuple]:
        with self.catalog.engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql))]

    def sha(self, url: str) -> str:
        return self.catalog.latest_capture(url).sha256


def build(home: Path, catalog_url: str | None = None, bodies: list[tuple[str, str, str, bytes, dict]] | None = None
          ) -> Archive:
    """An archive as a crawl leaves it: bodies stored (verified) in a LocalStore, captures and parse requests
    recorded by the catalog's write path. ``bodies``: (url, kind, content type, bytes, more capture columns)."""
    env = nianbao_env(home)
    if catalog_url:
        env["NIANBAO_CATALOG"] = catalog_url
    config = Config.from_env(env)
    store = open_store(config)
    catalog = Catalog(config.catalog)
    if bodies is None:
        bodies = [
            (PAGE, "report", "text/html", page("仙源乡2021年度政府信息公开工作年度报告", ATTACHMENT), {"year": 2021}),
            (ATTACHMENT, "attachment", "text/plain", seed(0), {"year": 2021, "referrer": PAGE,
                                                               "filename": "2021年报.txt"}),
            (REPORT, "report", "text/plain", seed(1), {"year": 2022}),
            (CORRUPT, "attachment", "text/plain", seed(2), {"year": 2022, "referrer": REPORT}),
            (WRAPPER, "report", "text/html", page("模版", BLANK), {"year": 2021, "agency": "另一个局"}),
            (BLANK, "attachment", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
             TEMPLATE_DOCX.read_bytes(), {"year": 2021, "referrer": WRAPPER, "agency": "另一个局"}),
        ]
    run = catalog.start_run(["xianyuan"])
    captures = []
    for url, kind, content_type, body, more in bodies:
        digest = store.put(body)
        captures.append({"run_id": run, "site": "xianyuan", "kind": kind, "url": url, "final_url": url,
                         "status": 200, "headers": [["Content-Type", content_type]], "fetched_at": utcnow(),
                         "sha256": digest, "size": len(body), "content_type": content_type, "agency": AGENCY,
                         "agency_kind": "township", "referrer": None, "filename": None, "year": None,
                         **more})  # every row the same columns: the write path inserts them in bulk
    store.flush()
    catalog.record(captures)
    catalog.finish_run(run, "finished", {})
    return Archive(env, config, catalog)


def corrupt(archive: Archive, url: str) -> None:
    """Flip a byte of the stored object, as a failing disk would."""
    path = Path(archive.config.storage.removeprefix("file://")) / object_key(archive.sha(url))
    data = bytearray(path.read_bytes())
    data[10] ^= 0xFF
    path.write_bytes(bytes(data))


def parse_once(archive: Archive, *args: str) -> subprocess.CompletedProcess[bytes]:
    return run_nianbao("parse", "run", "--once", *args, env=archive.env, timeout=300)


def drain(archive: Archive, reparse: bool = False, seconds: float = queue.DOCUMENT_SECONDS) -> queue.Counts:
    """``nianbao parse run --once`` without the command line around it."""
    stop = multiprocessing.get_context("spawn").Event()
    return queue.run(archive.config, archive.catalog, open_store(archive.config), stop, once=True, reparse=reparse,
                     seconds=seconds)


def counted(counts: queue.Counts) -> tuple[int, int]:
    return counts.parsed, counts.failed


def parsed_lines(result: subprocess.CompletedProcess[bytes]) -> list[str]:
    """The sha256 prefixes the run parsed or failed, one per document read (its stderr lines)."""
    return re.findall(r"^(?:parsed .*? ([0-9a-f]{12}) http|failed ([0-9a-f]{12}) )", result.stderr.decode(), re.M)


@pytest.fixture
def archive(tmp_path) -> Archive:
    made = build(tmp_path / "home")
    corrupt(made, CORRUPT)
    with made.catalog.engine.begin() as conn:  # a second crawl recording the report's body at once: queued twice
        conn.execute(text("INSERT INTO captures (site, kind, url, final_url, url_key, final_url_key, method, status, "
                          "headers, fetched_at, sha256, size, content_type, agency, year) SELECT site, kind, :url, "
                          ":url, url_key, final_url_key, method, status, headers, fetched_at, sha256, size, "
                          "content_type, agency, year FROM captures WHERE url = :report"),
                     {"url": MIRROR, "report": REPORT})
        conn.execute(text("INSERT INTO parse_queue (capture_id, sha256, state, enqueued_at) SELECT id, sha256, "
                          "'pending', fetched_at FROM captures WHERE url = :url"), {"url": MIRROR})
    return made


def test_run_once_drains_the_queue_a_body_once_and_a_corrupt_one_never(archive):
    assert len(archive.catalog.parse_queue()) == 7
    result = parse_once(archive)
    out = result.stdout.decode()
    assert re.match(r"parsed 5, failed 1 in [\d.]+ s; queue: 0 pending, 0 parsing, 6 done, 1 failed", out), out
    states = dict(archive.rows("SELECT c.url, q.state FROM parse_queue q JOIN captures c ON c.id = q.capture_id"))
    assert states == {PAGE: "done", ATTACHMENT: "done", REPORT: "done", MIRROR: "done", CORRUPT: "failed",
                      WRAPPER: "done", BLANK: "done"}
    read = [a or b for a, b in parsed_lines(result)]
    assert len(read) == len(set(read)) == 6  # the report's body once, for both its URLs
    results = {sha: (state, error, version) for sha, state, error, version in
               archive.rows("SELECT sha256, state, error, parser_version FROM parse_results")}
    assert len(results) == 6 and {v for *_, v in results.values()} == {PARSER_VERSION}
    state, error, _ = results[archive.sha(CORRUPT)]
    assert state == "failed" and "checksum" in error and "corrupt" in error
    report = archive.catalog.parse_result(archive.sha(REPORT))
    assert report.state == "parsed" and report.template == "2021" and report.passed is not None
    assert report.reading["cells"]["applications.new.total"] is not None and report.seconds > 0


def test_a_page_that_only_wraps_its_report_points_at_the_attachment(archive):
    drain(archive)
    page_result = archive.catalog.parse_result(archive.sha(PAGE))
    assert page_result.state == "parsed" and not any(page_result.cells.values())
    assert (page_result.from_attachment, page_result.from_sha256) == (ATTACHMENT, archive.sha(ATTACHMENT))
    assert archive.catalog.parse_result(archive.sha(ATTACHMENT)).template == "2021"
    # the blank template's cells are all blank: the page wrapping it has no tables to point at
    assert archive.catalog.parse_result(archive.sha(WRAPPER)).from_attachment is None
    reports = {r.capture.url: r for r in archive.catalog.parse_results(site="xianyuan")}
    assert set(reports) == {PAGE, REPORT, MIRROR, WRAPPER}  # reports only: attachments are read through them
    assert reports[PAGE].source_capture.url == ATTACHMENT and reports[PAGE].source.sha256 == archive.sha(ATTACHMENT)
    assert reports[REPORT].source is reports[REPORT].result


def test_an_attachment_parsed_before_its_page_is_found_by_the_page(archive):
    with archive.catalog.engine.begin() as conn:  # the page's request after the attachment's
        conn.execute(text("UPDATE parse_queue SET id = 100 WHERE capture_id = (SELECT id FROM captures "
                          "WHERE url = :url)"), {"url": PAGE})
    drain(archive)
    assert archive.catalog.parse_result(archive.sha(PAGE)).from_attachment == ATTACHMENT


def test_failed_is_final_until_reparse_and_reparse_reads_what_an_older_version_read(archive):
    assert counted(drain(archive)) == (5, 1)
    assert counted(drain(archive)) == (0, 0)
    with archive.catalog.engine.begin() as conn:  # every result as the previous parser version recorded it
        conn.execute(text("UPDATE parse_results SET parser_version = :old"), {"old": PARSER_VERSION - 1})
    assert counted(drain(archive)) == (0, 0)  # done is done without --reparse
    assert counted(drain(archive, reparse=True)) == (5, 1)
    versions = archive.rows("SELECT parser_version, count(*) FROM parse_results GROUP BY parser_version")
    assert sorted(versions) == [(PARSER_VERSION - 1, 6), (PARSER_VERSION, 6)]
    assert counted(drain(archive, reparse=True)) == (0, 1)  # the failure retried (still corrupt: failed, in place)
    assert archive.rows("SELECT count(*) FROM parse_results WHERE state = 'failed'") == [(2,)]


def test_a_dead_workers_claim_is_taken_again_after_the_lease(archive):
    stale, fresh = utcnow() - timedelta(minutes=11), utcnow() - timedelta(minutes=1)
    with archive.catalog.engine.begin() as conn:
        for url, moment in ((REPORT, stale), (PAGE, fresh)):
            conn.execute(text("UPDATE parse_queue SET state = 'parsing', claimed_by = 'gone:1', claimed_at = :at "
                              "WHERE capture_id = (SELECT id FROM captures WHERE url = :url)"),
                         {"at": moment, "url": url})
    drain(archive)
    states = dict(archive.rows("SELECT c.url, q.state FROM parse_queue q JOIN captures c ON c.id = q.capture_id"))
    assert states[REPORT] == "done" and states[PAGE] == "parsing"  # another worker's, still within its lease


def test_a_document_over_its_time_limit_is_stopped_and_recorded_failed(archive):
    assert counted(drain(archive, seconds=0.05)) == (0, 6)  # less than the parser process takes to start
    errors = {error for (error,) in archive.rows("SELECT error FROM parse_results")}
    assert "parsing took longer than 0.05 s (the limit): stopped" in errors
    with pytest.raises(ValueError, match="lease"):
        drain(archive, seconds=3600)


def test_sigterm_stops_a_polling_run(archive):
    process = subprocess.Popen([sys.executable, "-m", "nianbao", "parse", "run"], env=archive.env, cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while archive.rows("SELECT 1 FROM parse_queue WHERE state IN ('pending', 'parsing')") and \
                time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1)
        assert process.poll() is None  # the queue is empty, and it polls on
    finally:
        process.terminate()
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0 and out.startswith(b"parsed 5, failed 1"), err.decode()[-2000:]


def test_workers_of_two_machines_on_one_postgresql_catalog_never_parse_a_body_twice(tmp_path, postgres_catalog):
    base = seed(1)
    bodies = [(f"{HOST}/art/{n}.html", "report", "text/plain", base + f"\n附：第{n}号\n".encode(), {"year": 2022})
              for n in range(16)]
    made = build(tmp_path / "home", postgres_catalog, bodies)
    command = [sys.executable, "-m", "nianbao", "parse", "run", "--once", "--workers", "2"]
    machines = [subprocess.Popen(command, env=made.env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                for _ in range(2)]
    outputs = [machine.communicate(timeout=300) for machine in machines]
    assert all(m.returncode == 0 for m in machines), [err.decode()[-2000:] for _, err in outputs]
    read = [sha for _, err in outputs for sha in re.findall(r"^parsed .*? ([0-9a-f]{12}) http", err.decode(), re.M)]
    assert sorted(read) == sorted(made.sha(url)[:12] for url, *_ in bodies)  # every body, each exactly once
    assert made.rows("SELECT state, count(*) FROM parse_queue GROUP BY state") == [("done", 16)]
