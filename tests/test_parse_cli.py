"""``nianbao parse file | show | export | compare | queue`` on a parsed archive and on real files; and what each
says when given something wrong. The archive is parsed by ``nianbao parse run`` in a process of its own; the
read commands run in this one (click's runner: the same command, without a second of imports each)."""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from nianbao.cli import main
from parsing.export import columns
from parsing.template.keys import all_keys
from tests.conftest import run_nianbao
from tests.test_parse_queue import (
    AGENCY,
    ATTACHMENT,
    CORRUPT,
    HOST,
    LATER,
    PAGE,
    REPORT,
    SEEDS,
    TEMPLATE_DOCX,
    build,
    corrupt,
    report_of,
)


@pytest.fixture(scope="module")
def parsed(tmp_path_factory):
    """An archive (see test_parse_queue.build) plus the agency's next report, drained once; its registry."""
    tmp = tmp_path_factory.mktemp("parse-cli")
    archive = build(tmp / "home")
    corrupt(archive, CORRUPT)
    build(tmp / "home", bodies=[(LATER, "report", "text/plain", report_of(3, 2023), {"year": 2023})])
    run_nianbao("parse", "run", "--once", env=archive.env, timeout=300)
    registry = tmp / "sites.yaml"
    registry.write_text("sites:\n  - id: xianyuan\n    name: 仙源县\n    province: 测试省\n"
                        f"    home: {HOST}/\n", "utf-8")
    return {"archive": archive, "env": archive.env, "registry": str(registry), "tmp": tmp}


@dataclass
class Ran:
    returncode: int
    stdout: bytes
    stderr: bytes


def cli(*args: str, home: str | None = None, check: bool = True) -> Ran:
    result = CliRunner().invoke(main, [*(["--home", home] if home else []), *args], catch_exceptions=False)
    ran = Ran(result.exit_code, result.stdout_bytes, result.stderr_bytes)
    assert not check or ran.returncode == 0, ran.stderr.decode()
    return ran


def nianbao(parsed, *args: str, check: bool = True) -> Ran:
    return cli(*args, home=parsed["env"]["NIANBAO_HOME"], check=check)


def test_parse_file_reads_a_seed_text_and_the_real_template_docx():
    text_path = sorted(SEEDS.glob("*.txt"))[0]
    human = cli("parse", "file", str(text_path)).stdout.decode()
    assert "template  2021" in human and "agency    仙源乡人民政府" in human and "year      2021" in human
    assert "checks    42 passed, 0 failed" in human
    header = next(line for line in human.splitlines() if line.startswith("applications"))
    assert header.split() == ["applications", "natural_person", "business", "research", "social_org",
                              "legal_service", "other_org", "total"]
    assert any(line.startswith("new ") for line in human.splitlines())
    as_json = json.loads(cli("parse", "file", str(text_path), "--json").stdout)
    assert as_json["template"] == "2021" and as_json["passed"] is True
    assert set(as_json["cells"]) >= {"applications.new.total", "review.reconsideration.total"}
    docx = json.loads(cli("parse", "file", str(TEMPLATE_DOCX), "--json").stdout)
    assert docx["format"] == "docx" and docx["template"] == "2021"
    assert not any(v is not None and v != "" for k, v in docx["cells"].items() if k.startswith("applications."))


def test_parse_file_says_what_is_wrong(tmp_path):
    junk = tmp_path / "report.pdf"
    junk.write_bytes(b"%PDF-1.4 not really a pdf")
    failed = cli("parse", "file", str(junk), check=False)
    assert failed.returncode == 1 and str(junk).encode() in failed.stderr
    missing = cli("parse", "file", str(tmp_path / "nothing.docx"), check=False)
    assert missing.returncode == 2 and b"does not exist" in missing.stderr


def test_show_a_report_a_wrapping_page_and_an_unknown_url(parsed):
    report = nianbao(parsed, "parse", "show", REPORT).stdout.decode()
    assert REPORT in report and "template  2021" in report and "checks    42 passed" in report
    page = nianbao(parsed, "parse", "show", PAGE).stdout.decode()
    assert f"its tables are from {ATTACHMENT}" in page and "template  2021" in page
    shown = json.loads(nianbao(parsed, "parse", "show", PAGE, "--json").stdout)
    assert shown["source_capture"]["url"] == ATTACHMENT and shown["source"]["template"] == "2021"
    assert shown["capture"]["url"] == PAGE and shown["source"]["reading"]["cells"]
    assert shown["result"]["cells_printed"] == 0 and shown["source"]["checks_passed"] == 42
    unknown = nianbao(parsed, "parse", "show", f"{HOST}/nothing.html", check=False)
    assert unknown.returncode == 2 and f"{HOST}/nothing.html is not in the archive".encode() in unknown.stderr


def test_export_writes_the_same_rows_in_all_three_formats(parsed):
    tmp = parsed["tmp"]
    for fmt in ("csv", "parquet", "jsonl"):
        result = nianbao(parsed, "parse", "export", str(tmp / f"out.{fmt}"), "--site", "xianyuan",
                         "--sites", parsed["registry"])
        assert result.stderr.decode().startswith("4 report(s) written")
    rows = [json.loads(line) for line in (tmp / "out.jsonl").read_text("utf-8").splitlines()]
    assert list(rows[0]) == columns() and len(all_keys()) > 200
    by_url = {r["url"]: r for r in rows}
    assert set(by_url) == {PAGE, REPORT, LATER, f"{HOST}/art/2022/1/21/art_1_3.html"}
    page = by_url[PAGE]
    assert (page["province"], page["county"], page["agency"], page["year"]) == ("测试省", "仙源县", AGENCY, 2021)
    assert (page["crawl_agency"], page["crawl_year"]) == (AGENCY, 2021)
    assert page["source_url"] == ATTACHMENT and page["sha256"] == parsed["archive"].sha(ATTACHMENT)
    read = json.loads(cli("parse", "file", str(sorted(SEEDS.glob("*.txt"))[0]), "--json").stdout)
    assert all(page[k] == v for k, v in read["cells"].items() if isinstance(v, int | float))
    assert page["checks_passed"] == 42 and page["checks_failed"] == []
    assert page["checks_skipped"] == sum(1 for c in read["checks"] if c.get("skipped") or c["passed"] is None)
    table = pq.read_table(tmp / "out.parquet")
    assert table.column_names == columns() and table.num_rows == 4
    assert table.schema.field("applications.new.total").type == "double"
    assert {r["url"]: r for r in table.to_pylist()}[PAGE]["applications.new.total"] == page["applications.new.total"]
    with open(tmp / "out.csv", encoding="utf-8-sig", newline="") as fh:
        read = {r["url"]: r for r in csv.DictReader(io.StringIO(fh.read()))}
    assert list(next(iter(read.values()))) == columns()
    assert float(read[PAGE]["applications.new.total"]) == page["applications.new.total"]
    one_year = nianbao(parsed, "parse", "export", str(tmp / "y.jsonl"), "--year", "2023", "--sites", parsed["registry"])
    assert one_year.stderr.startswith(b"1 report(s)")
    assert json.loads((tmp / "y.jsonl").read_text("utf-8"))["url"] == LATER


def test_export_refuses_what_cannot_work(parsed, tmp_path):
    cases = [((str(tmp_path / "out.xlsx"),), b"unknown extension '.xlsx'"),
             ((str(tmp_path / "no" / "out.csv"),), b"does not exist"),
             ((str(tmp_path / "out.csv"), "--site", "nowhere"), b"no site 'nowhere' in the archive")]
    readonly = tmp_path / "readonly"
    readonly.mkdir()
    readonly.chmod(0o500)
    if os.geteuid() != 0:  # root writes anywhere
        cases.append(((str(readonly / "out.csv"),), b"permission denied"))
    for args, message in cases:
        result = nianbao(parsed, "parse", "export", *args, "--sites", parsed["registry"], check=False)
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["readonly"]


def test_compare_an_agency_across_years(parsed):
    text = nianbao(parsed, "parse", "compare", "--site", "xianyuan", "--agency", AGENCY).stdout.decode()
    lines = text.splitlines()
    assert lines[0].startswith("2021  template 2021  checks 42/42 passed")
    changed = [line for line in lines if "cell(s) changed from" in line]
    assert len(changed) == 2 and "changed from 2021" in changed[0] and "changed from 2022" in changed[1]
    as_json = nianbao(parsed, "parse", "compare", "--site", "xianyuan", "--agency", AGENCY, "--json").stdout
    years = [json.loads(line) for line in as_json.splitlines()]
    assert [y["year"] for y in years] == [2021, 2022, 2023] and years[2]["previous"] == 2022
    before, after = years[1]["cells"], years[2]["cells"]
    assert years[2]["changed"] == {k: {"before": before.get(k), "after": after.get(k)}
                                   for k in {*before, *after} if before.get(k) != after.get(k)}
    assert years[2]["changed"] and f"{len(years[2]['changed'])} cell(s) changed" in changed[1]
    unknown = nianbao(parsed, "parse", "compare", "--site", "xianyuan", "--agency", "无此局", check=False)
    assert unknown.returncode == 2 and AGENCY.encode() in unknown.stderr and "另一个局".encode() in unknown.stderr


def test_the_queue_is_listed_under_parse_only(parsed):
    every = [json.loads(line) for line in nianbao(parsed, "parse", "queue", "--all", "--json").stdout.splitlines()]
    assert {r["state"] for r in every} == {"done", "failed"} and all(r["claimed_by"] for r in every)
    assert {r["attempts"] for r in every} == {1}
    failed = nianbao(parsed, "parse", "queue", "--state", "failed").stdout.decode().splitlines()
    assert len(failed) == 1 and "damaged.txt" in failed[0]
    assert nianbao(parsed, "parse", "queue").stdout == b""  # nothing pending
    wrong = nianbao(parsed, "parse", "queue", "--state", "lost", check=False)
    assert wrong.returncode == 2 and b"'pending', 'parsing', 'done', 'failed'" in wrong.stderr
    assert nianbao(parsed, "parse-queue", "list", check=False).returncode == 2  # the old name is gone


def test_run_says_how_long_a_document_may_take(parsed):
    text = nianbao(parsed, "parse", "run", "--help").stdout.decode()
    assert "--page-seconds" in text and "NIANBAO_PARSE_MEMORY" in text and "OCRed" in text
    bad = run_nianbao("parse", "run", "--once", env={**parsed["env"], "NIANBAO_PARSE_MEMORY": "lots"}, check=False)
    assert bad.returncode == 2 and b"NIANBAO_PARSE_MEMORY='lots'" in bad.stderr
