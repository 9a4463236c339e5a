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
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from archive.catalog import Catalog, utcnow
from archive.catalog.models import PARSE_ATTEMPTS
from archive.storage import StorageError, object_key, open_store
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
LATER = f"{HOST}/art/2023/1/25/art_1_9.html"
REAL_PDF = SEEDS.parent / "real" / "zxj6827111-blip__KIROGOVCOMPARE" / "hzq2023_working.pdf"
AGENCY = "仙源乡人民政府"


def seed(n: int) -> bytes:
    return sorted(SEEDS.glob("*.txt"))[n].read_bytes()


#: The agency and year each seed's document names (what the parser reads in it).
SEED_WHO = {1: ("沂源县张家坡镇人民政府", 2021), 3: ("土门关乡人民政府", 2021)}


def report_of(n: int, year: int, agency: str = AGENCY) -> bytes:
    """Seed ``n`` as ``agency``'s report for ``year``: its own name and year (``2021年``) rewritten, its tables
    as printed — the same township's reports of several years, as a county publishes them."""
    own_agency, own_year = SEED_WHO[n]
    text = seed(n).decode("utf-8").replace(own_agency, agency).replace(f"{own_year}年", f"{year}年")
    return text.encode("utf-8")


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
            (REPORT, "report", "text/plain", report_of(1, 2022), {"year": 2022}),
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


def test_a_page_that_only_wraps_its_report_takes_the_attachments_tables(archive):
    drain(archive)
    page_result = archive.catalog.parse_result(archive.sha(PAGE))
    assert page_result.state == "parsed" and not any(page_result.cells.values()) and page_result.cells_printed == 0
    assert archive.catalog.parse_result(archive.sha(ATTACHMENT)).template == "2021"
    reports = {r.capture.url: r for r in archive.catalog.parse_results(site="xianyuan")}
    assert set(reports) == {PAGE, REPORT, MIRROR, WRAPPER}  # reports only: attachments are read through them
    assert reports[PAGE].source_capture.url == ATTACHMENT and reports[PAGE].source.sha256 == archive.sha(ATTACHMENT)
    assert reports[PAGE].wrapped and not reports[REPORT].wrapped and reports[REPORT].source is reports[REPORT].result
    # the blank template's cells are all blank: the page wrapping it has no tables to take
    assert not reports[WRAPPER].wrapped and reports[WRAPPER].source_capture.url == WRAPPER
    one = archive.catalog.parsed_report(archive.catalog.latest_capture(PAGE), PARSER_VERSION)
    assert one.source_capture.url == ATTACHMENT and one.source.reading["cells"]


def test_an_attachment_parsed_before_its_page_is_found_by_the_page(archive):
    with archive.catalog.engine.begin() as conn:  # the page's request after the attachment's
        conn.execute(text("UPDATE parse_queue SET id = 100 WHERE capture_id = (SELECT id FROM captures "
                          "WHERE url = :url)"), {"url": PAGE})
    drain(archive)
    (page_report,) = [r for r in archive.catalog.parse_results(site="xianyuan") if r.capture.url == PAGE]
    assert page_report.source_capture.url == ATTACHMENT


def test_a_page_with_two_attachments_takes_the_one_of_its_year_whatever_the_parse_order(tmp_path):
    """The other year's report is captured first and parsed first: the page still takes its own year's."""
    other = f"{HOST}/uploads/2022年报.txt"
    made = build(tmp_path / "home", bodies=[
        (PAGE, "report", "text/html", page("仙源乡2021年度政府信息公开工作年度报告", ATTACHMENT), {"year": 2021}),
        (other, "attachment", "text/plain", seed(4), {"year": 2021, "referrer": PAGE}),
        (ATTACHMENT, "attachment", "text/plain", seed(0), {"year": 2021, "referrer": PAGE}),
    ])
    drain(made)
    years = {url: made.catalog.parse_result(made.sha(url)).year for url in (other, ATTACHMENT)}
    assert years == {other: 2020, ATTACHMENT: 2021}
    (report,) = made.catalog.parse_results(site="xianyuan")
    assert report.source_capture.url == ATTACHMENT and report.year == 2021
    before = made.rows("SELECT * FROM parse_results ORDER BY sha256")
    build(tmp_path / "home", bodies=[(f"{HOST}/uploads/2021年报-重发.txt", "attachment", "text/plain",
                                      seed(0) + b"\n", {"year": 2021, "referrer": PAGE})])  # a newer one of 2021
    drain(made)
    (report,) = made.catalog.parse_results(site="xianyuan")
    assert report.source_capture.url == f"{HOST}/uploads/2021年报-重发.txt"  # the newest of the page's year
    assert [r for r in made.rows("SELECT * FROM parse_results ORDER BY sha256") if r in before] == before


def test_year_and_agency_are_the_documents_the_crawls_kept_beside(tmp_path):
    """The crawl misjudged both (a title naming another year, a list naming another agency): the document wins."""
    from parsing import compare, export

    made = build(tmp_path / "home", bodies=[(REPORT, "report", "text/plain", seed(0),
                                             {"year": 2019, "agency": "错判的局"})])
    drain(made)
    (report,) = made.catalog.parse_results(site="xianyuan", readings=True)
    assert (report.year, report.agency) == (2021, AGENCY) and (report.capture.year, report.capture.agency) == (
        2019, "错判的局")
    assert [r.capture.url for r in made.catalog.parse_results(year=2021)] == [REPORT]
    assert made.catalog.parse_results(year=2019) == []
    (row,) = export.rows([report], {})
    assert (row["year"], row["agency"], row["crawl_year"], row["crawl_agency"]) == (2021, AGENCY, 2019, "错判的局")
    assert [y.year for y in compare.compare([report], AGENCY)] == [2021] and compare.agencies([report]) == [AGENCY]


def test_a_listing_loads_no_reading_and_the_summary_is_in_columns(archive):
    from sqlalchemy import inspect

    from parsing.reading import check_summary

    drain(archive)
    listed = {r.capture.url: r for r in archive.catalog.parse_results(site="xianyuan", parser_version=PARSER_VERSION)}
    assert all("reading" in inspect(r.source).unloaded for r in listed.values())
    report = listed[REPORT].source
    reading = archive.catalog.parse_result(report.sha256).reading
    assert (report.checks_passed, report.checks_failed, report.checks_skipped) == check_summary(reading["checks"])
    assert report.checks_passed == 42 and report.cells_printed == sum(v is not None for v in reading["cells"].values())
    loaded = archive.catalog.parse_results(site="xianyuan", readings=True)
    assert all("reading" not in inspect(r.source).unloaded for r in loaded if r.source)


def test_check_summary_counts_skipped_checks_apart():
    from parsing.reading import check_summary

    checks = [{"name": "a", "passed": True}, {"name": "b", "passed": False}, {"name": "c", "passed": None},
              {"name": "d", "passed": True, "skipped": True}, {"name": "e", "passed": False, "skipped": True}]
    assert check_summary(checks) == (1, ["b"], 3) and check_summary([]) == (0, [], 0)


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


def test_a_new_request_for_a_body_already_read_marks_it_and_parses_nothing(archive):
    """A failed body captured again is not parsed again (final until --reparse); a parsed one keeps its result,
    parsed_at included."""
    assert counted(drain(archive)) == (5, 1)
    before = dict(archive.rows("SELECT sha256, parsed_at FROM parse_results"))
    with archive.catalog.engine.begin() as conn:
        conn.execute(text("UPDATE parse_queue SET state = 'pending' WHERE capture_id IN (SELECT id FROM captures "
                          "WHERE url IN (:a, :b))"), {"a": CORRUPT, "b": MIRROR})
    time.sleep(0.01)
    assert counted(drain(archive)) == (0, 0)
    states = dict(archive.rows("SELECT c.url, q.state FROM parse_queue q JOIN captures c ON c.id = q.capture_id"))
    assert (states[CORRUPT], states[MIRROR]) == ("failed", "done")
    assert dict(archive.rows("SELECT sha256, parsed_at FROM parse_results")) == before


def test_one_body_is_in_one_workers_hands(archive):
    """REPORT and MIRROR are one body, two requests: while one worker has it, no other takes the other."""
    first = archive.catalog.claim_parses("a:1", limit=2)
    assert [r.capture.url for r in first] == [PAGE, ATTACHMENT]
    mine = archive.catalog.claim_parses("a:1")
    assert [r.capture.url for r in mine] == [REPORT]
    theirs = archive.catalog.claim_parses("b:2", limit=10)
    assert {r.capture.url for r in theirs} == {CORRUPT, WRAPPER, BLANK}  # never MIRROR while REPORT is claimed
    archive.catalog.release_parses([r.id for r in mine], "a:1")
    (again,) = archive.catalog.claim_parses("b:2", limit=10)
    assert again.capture.url == REPORT and again.attempts == 1  # a release gives its attempt back


def test_a_failure_never_replaces_a_parsed_result(archive):
    digest = archive.sha(REPORT)
    parsed = dict(state="parsed", error=None, format="text", template="2021", year=2021, agency=AGENCY, passed=True,
                  checks_passed=1, checks_failed=[], checks_skipped=0, cells_printed=1,
                  reading={"cells": {"a": 1}}, seconds=1.0)
    assert archive.catalog.record_parse(digest, PARSER_VERSION, **parsed) == "parsed"
    late = dict(parsed, state="failed", error="parsing took longer than 300 s (the limit): stopped", reading=None)
    assert archive.catalog.record_parse(digest, PARSER_VERSION, **late) == "parsed"
    result = archive.catalog.parse_result(digest, PARSER_VERSION)
    assert result.state == "parsed" and result.error is None and result.reading == {"cells": {"a": 1}}
    states = {s for (s,) in archive.rows(f"SELECT state FROM parse_queue WHERE sha256 = '{digest}'")}
    assert states == {"done"}


def test_the_lease_is_judged_by_the_databases_clock(archive, monkeypatch):
    """A worker whose clock is 20 minutes slow claims: another worker still sees a live claim."""
    from archive.catalog import write

    monkeypatch.setattr(write, "utcnow", lambda: utcnow() - timedelta(minutes=20))
    slow = archive.catalog.claim_parses("slow:1")
    monkeypatch.undo()
    claimed_at = archive.catalog.parse_queue("parsing")[0]["claimed_at"]
    assert abs(datetime.fromisoformat(claimed_at.rstrip("Z")) - utcnow()) < timedelta(minutes=1)
    assert slow[0].id not in [r.id for r in archive.catalog.claim_parses("other:2", limit=10)]


def test_a_body_storage_will_not_give_is_failed_after_its_attempts(tmp_path):
    """Not a checksum's failure (permission denied, here a directory where the object should be): the run stops
    and the request goes back, up to PARSE_ATTEMPTS runs; then it is failed with the reason, and the queue moves."""
    made = build(tmp_path / "home", bodies=[(REPORT, "report", "text/plain", seed(1), {"year": 2022}),
                                            (LATER, "report", "text/plain", seed(3), {"year": 2023})])
    path = Path(made.config.storage.removeprefix("file://")) / object_key(made.sha(REPORT))
    path.unlink()
    path.mkdir()
    for attempt in range(1, PARSE_ATTEMPTS):
        with pytest.raises(StorageError, match="Is a directory"):
            drain(made)
        assert made.catalog.parse_queue() and made.catalog.parse_queue()[0]["attempts"] == attempt
    assert counted(drain(made)) == (1, 1)
    result = made.catalog.parse_result(made.sha(REPORT))
    assert result.state == "failed" and f"({PARSE_ATTEMPTS} attempts)" in result.error and "directory" in result.error
    assert made.catalog.parse_result(made.sha(LATER)).state == "parsed"


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


def test_a_pdf_is_given_time_for_each_of_its_pages_and_its_claim_renewed():
    body = REAL_PDF.read_bytes()
    assert queue.pages_of(body, "application/pdf", None) == 5 and queue.pages_of(seed(0), "text/plain", None) == 0
    parser = queue.ParserProcess(seconds=120, page_seconds=0)
    try:
        warm = parser.parse(body, "application/pdf", "r.pdf")  # the child started, its readers imported
        assert warm.error is None and warm.reading["format"] == "pdf"
        parser.seconds = base = round(warm.seconds / 4, 3)  # less than reading this PDF takes, its pages apart
        stopped = parser.parse(body, "application/pdf", "r.pdf")
        assert stopped.error == (f"parsing took longer than {base:g} s (the limit: {base:g} s and 0 s a page, "
                                 "5 page(s)): stopped")
        parser.seconds = 120
        assert parser.parse(body, "application/pdf", "r.pdf").error is None  # a new child (the last was killed), warm
        parser.seconds, parser.page_seconds, parser.renew_every = base, 60, base / 2
        renewals = []
        outcome = parser.parse(body, "application/pdf", "r.pdf", renew=lambda: renewals.append(1))
        assert outcome.error is None and outcome.seconds > base and renewals
    finally:
        parser.close()


def test_the_parser_child_has_its_memory_bounded_and_a_file_past_it_fails_alone():
    assert queue.memory_limit({}) == 3 << 30 and queue.memory_limit({"NIANBAO_PARSE_MEMORY": "512M"}) == 512 << 20
    assert queue.memory_limit({"NIANBAO_PARSE_MEMORY": "2GiB"}) == 2 << 30
    with pytest.raises(ValueError, match="NIANBAO_PARSE_MEMORY"):
        queue.memory_limit({"NIANBAO_PARSE_MEMORY": "lots"})
    parser = queue.ParserProcess(seconds=120, memory=0)
    try:
        assert parser.parse(seed(0), "text/plain", "a.txt").error is None
        status = Path(f"/proc/{parser._process.pid}/status").read_text()
        warm = int(re.search(r"VmSize:\s+(\d+) kB", status).group(1)) << 10  # the child once it has read a text
    finally:
        parser.close()
    bound = warm + (48 << 20)
    parser = queue.ParserProcess(seconds=120, memory=bound)
    try:
        assert parser.parse(seed(0), "text/plain", "a.txt").error is None
        limits = Path(f"/proc/{parser._process.pid}/limits").read_text()
        assert re.search(rf"Max address space\s+{bound}\s+{bound}\s+bytes", limits), limits
        hostile = ("1234567890" * 10 + "\n").encode() * 100_000  # 10 MB of lines: far more than 48 MiB once read
        outcome = parser.parse(hostile, "text/plain", "big.txt")
        assert outcome.error is not None and outcome.error.startswith("MemoryError"), outcome.error
        assert parser.parse(seed(0), "text/plain", "a.txt").error is None  # the next document is read as ever
    finally:
        parser.close()


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
