"""LibreOffice conversion (DOC, WPS, RTF, XLS) and OCR of page images, on the official 2021 template.

The template is filled with known numbers by python-docx, then LibreOffice (a real one, with this
module's own profile) makes the DOC, RTF and PDF the portals publish; the PDF's page with the
applications table, rasterised at 200 dpi like a scan, is what the OCR must read back cell by cell.
LibreOffice and OCR run once each per module (module-scoped fixtures): both are slow.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import subprocess
import sys
import threading
import time
import unicodedata
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import cv2
import docx
import numpy as np
import openpyxl
import pymupdf
import pytest

from parsing.document import Table, Unreadable
from parsing.formats import ocr, office

TEMPLATE = Path(__file__).parent / "simulator" / "corpus" / "report-template-2021.docx"


def _soffice(source: Path, target: str, profile: Path) -> Path:
    """Convert with LibreOffice as a publisher would (this module's own profile, not the code's)."""
    subprocess.run(["soffice", "--headless", "--norestore", f"-env:UserInstallation={profile.as_uri()}",
                    "--convert-to", target, "--outdir", str(source.parent), str(source)],
                   check=True, capture_output=True, timeout=120)
    made = source.with_suffix("." + target.split(":")[0])
    assert made.is_file(), f"LibreOffice made no {made.name}"
    return made


def _grid(table) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for row in table.rows]


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The template filled with numbers (every blank cell its own, 0 among them), and that DOCX as
    LibreOffice saves it as DOC, RTF and PDF; and a workbook as XLSX and XLS."""
    work = tmp_path_factory.mktemp("office")
    profile = work / "profile"
    document = docx.Document(str(TEMPLATE))
    for t, table in enumerate(document.tables):
        seen = set()
        for r, row in enumerate(table.rows):
            for c, cell in enumerate(row.cells):
                if cell._tc not in seen and not cell.text.strip():
                    cell.text = str((t * 131 + r * 17 + c * 7) % 60)
                seen.add(cell._tc)
    files = {"docx": work / "filled.docx"}
    document.save(str(files["docx"]))
    for kind in ("doc", "rtf", "pdf"):
        files[kind] = _soffice(files["docx"], kind, profile)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "申请情况"
    for row in SHEET:
        sheet.append(row)
    sheet.merge_cells("A1:C1")
    files["xlsx"] = work / "sheet.xlsx"
    book.save(str(files["xlsx"]))
    files["xls"] = _soffice(files["xlsx"], "xls", profile)
    return files


SHEET = [["收到和处理政府信息公开申请情况", None, None, None],
         ["项目", "自然人", "商业企业", "总计"],
         ["本年新收", 12, 0, 12],
         ["上年结转", 3, 1, 4],
         ["予以公开", 7, "/", 7]]


# --- LibreOffice ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind, source", [("doc", "doc"), ("rtf", "rtf"), ("wps", "doc")])
def test_word_formats_convert_back_to_the_same_tables(made: dict[str, Path], kind: str, source: str) -> None:
    """A WPS here is Kingsoft's: Word 97 inside under another name, as most WPS attachments are."""
    body, ext = office.convert(made[source].read_bytes(), kind)
    assert ext == "docx"
    expected = [_grid(t) for t in docx.Document(str(made["docx"])).tables]
    got = [_grid(t) for t in docx.Document(io.BytesIO(body)).tables]
    assert [len(t) for t in got] == [14, 28, 4]
    assert got == expected
    assert got[1][3][3:] == ["23", "30", "37", "44", "51", "58", "5"]


def test_xls_converts_back_to_the_same_cells(made: dict[str, Path]) -> None:
    body, ext = office.convert(made["xls"].read_bytes(), "xls")
    assert ext == "xlsx"
    sheet = openpyxl.load_workbook(io.BytesIO(body)).active
    assert sheet.title == "申请情况"
    assert [list(row) for row in sheet.iter_rows(values_only=True)] == SHEET
    assert [str(r) for r in sheet.merged_cells.ranges] == ["A1:C1"]


def test_garbage_is_unreadable_at_once() -> None:
    start = time.monotonic()
    with pytest.raises(Unreadable, match="not a DOC file"):
        office.convert(b"\x00\x17garbage, not a document" * 400, "doc")
    assert time.monotonic() - start < 0.5


def test_garbage_in_an_ole2_container_is_unreadable_naming_libreoffice() -> None:
    body = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + np.random.default_rng(1).bytes(30000)
    with pytest.raises(Unreadable, match=r"DOC to DOCX \(MS Word 97: Error: source file could not be loaded"):
        office.convert(body, "doc")


def test_a_conversion_out_of_time_is_killed_with_its_process_group(made: dict[str, Path]) -> None:
    profile = office._profile_dir()
    with pytest.raises(Unreadable, match="longer than 0.3 s"):
        office.convert(made["doc"].read_bytes(), "doc", timeout=0.3)
    alive = [p for p in Path("/proc").glob("[0-9]*") if _cmdline_has(p, str(profile))]
    assert alive == []
    assert not profile.exists()  # a killed soffice's profile is not reused
    assert office.convert(made["doc"].read_bytes(), "doc")[1] == "docx"


def test_libreoffice_runs_within_its_memory_limit(made: dict[str, Path]) -> None:
    """soffice.bin (started by the soffice wrapper, so the limit is inherited) has office.MEMORY as its
    address space: a file made to swell it fails to convert instead of taking the machine's memory."""
    profile = str(office._profile_dir())
    seen: set[str] = set()
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            for proc in Path("/proc").glob("[0-9]*"):
                if _cmdline_has(proc, profile):
                    with contextlib.suppress(OSError):  # the process has just exited
                        seen.update(line.split()[3] for line in (proc / "limits").read_text().splitlines()
                                    if line.startswith("Max address space"))
            time.sleep(0.02)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        assert office.convert(made["doc"].read_bytes(), "doc")[1] == "docx"
    finally:
        done.set()
        watcher.join()
    assert seen == {str(office.MEMORY)}


def _cmdline_has(proc: Path, text: str) -> bool:
    try:
        return text in (proc / "cmdline").read_bytes().decode("utf-8", "replace")
    except OSError:
        return False


def _convert_in_worker(path: str) -> tuple[str, str]:
    body, _ = office.convert(Path(path).read_bytes(), "doc")
    return str(office._profile_dir()), docx.Document(io.BytesIO(body)).tables[1].rows[3].cells[3].text


CONVERT = """import io, sys, docx
from pathlib import Path
from parsing.formats import office
body, _ = office.convert(Path(sys.argv[1]).read_bytes(), "doc")
print(office._profile_dir(), docx.Document(io.BytesIO(body)).tables[1].rows[3].cells[3].text)
"""


def test_parallel_programs_each_have_their_own_profile(made: dict[str, Path]) -> None:
    """Two parse processes at once, each converting: neither waits on the other's profile lock,
    and each profile is gone when its process has exited."""
    root = Path(__file__).resolve().parent.parent
    programs = [subprocess.Popen([sys.executable, "-c", CONVERT, str(made["doc"])], cwd=root, text=True,
                                 stdout=subprocess.PIPE) for _ in range(2)]
    results = [program.communicate(timeout=120)[0].split() for program in programs]
    assert [cell for _, cell in results] == ["23", "23"]
    assert len({profile for profile, _ in results}) == 2
    assert not any(Path(profile).exists() for profile, _ in results)


def test_forked_workers_each_have_their_own_profile(made: dict[str, Path]) -> None:
    """The same for multiprocessing workers forked from a process that has a profile of its own: a
    forked worker leaves by os._exit, past atexit, and still removes its profile."""
    parent = office._profile_dir()
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork")) as pool:
        results = list(pool.map(_convert_in_worker, [str(made["doc"])] * 2))
    assert [cell for _, cell in results] == ["23", "23"]
    profiles = {profile for profile, _ in results}
    assert len(profiles) == 2 and str(parent) not in profiles and parent.exists()
    assert not any(Path(p).exists() for p in profiles)


def test_without_libreoffice_says_which_package_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(Unreadable, match="apt-get install libreoffice-writer-nogui"):
        office.convert(b"{\\rtf1 x}", "rtf")
    with pytest.raises(Unreadable, match="apt-get install libreoffice-calc-nogui"):
        office.convert(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "xls")


# --- OCR -----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scanned(made: dict[str, Path]) -> dict:
    """The applications table's page of the filled template's PDF, as a 200 dpi PNG, through OCR."""
    pdf = pymupdf.open(str(made["pdf"]))
    page = next(p for p in pdf if "申请人情况" in p.get_text())
    png = page.get_pixmap(dpi=200).tobytes("png")
    start = time.monotonic()
    document = ocr.recognise([png], "pdf")
    seconds = time.monotonic() - start
    print(f"\nOCR: {seconds:.1f} s for one 200 dpi page")
    return {"document": document, "seconds": seconds}


def _same(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def test_ocr_finds_the_applications_grid_with_every_number_in_its_cell(made: dict[str, Path], scanned: dict) -> None:
    document = scanned["document"]
    assert document.format == "pdf" and document.pages == 1
    assert document.blocks[0] == "三、收到和处理政府信息公开申请情况"
    [table] = document.tables
    assert table.pages == (1,) and table.where == "page 1, table 1"
    expected = _grid(docx.Document(str(made["docx"])).tables[1])
    rows = table.rows
    assert len(rows) >= 24 and all(len(row) == 10 for row in rows)  # the rest of the table is on the next page
    numbers = [(i, j) for i in range(3, len(rows)) for j in range(3, 10)]
    right = [(i, j) for i, j in numbers if rows[i][j] == expected[i][j]]
    labels = [(i, j) for i in range(len(rows)) for j in range(10) if (i, j) not in numbers]
    labels_right = [(i, j) for i, j in labels if _same(rows[i][j]) == _same(expected[i][j])]
    print(f"\nOCR cell accuracy: numbers {len(right)}/{len(numbers)}, labels {len(labels_right)}/{len(labels)}; "
          f"{scanned['seconds']:.1f} s/page; confidence {document.confidence:.3f}")
    assert [(i, j, rows[i][j], expected[i][j]) for i, j in numbers if (i, j) not in right] == []
    assert len(labels_right) >= 0.9 * len(labels)
    # merged cells repeated over the grid positions they cover, as python-docx's row.cells gives them
    assert rows[0][3:] == ["申请人情况"] * 7
    assert rows[1][4:9] == ["法人或其他组织"] * 5 and rows[1][3] == rows[2][3] == "自然人"
    assert len({rows[i][0] for i in range(5, len(rows))}) == 1 and _same(rows[5][0]) == "三、本年度办理结果"
    assert 0.9 < table.confidence <= 1 and 0.9 < document.confidence <= 1


def _page(draw, width: float = 420, height: float = 300, alpha: bool = False) -> bytes:
    """A small page drawn with PyMuPDF's built-in Chinese font and rasterised at 200 dpi."""
    pdf = pymupdf.open()
    page = pdf.new_page(width=width, height=height)
    draw(page)
    return page.get_pixmap(dpi=200, alpha=alpha).tobytes("png")


def _ruled(page, top: float, rows: list[list[str]], widths: list[float], left: float = 30) -> None:
    height = 22
    xs = [left + sum(widths[:k]) for k in range(len(widths) + 1)]
    for i, row in enumerate(rows):
        for x, text in zip(xs, row, strict=False):
            page.insert_text((x + 6, top + i * height + 15), text, fontname="china-s", fontsize=10)
    for i in range(len(rows) + 1):
        page.draw_line((xs[0], top + i * height), (xs[-1], top + i * height), width=0.6)
    for x in xs:
        page.draw_line((x, top), (x, top + len(rows) * height), width=0.6)


def test_a_table_continued_on_the_next_page_is_stitched_across_a_multipage_tiff() -> None:
    widths = [110, 60, 60, 60]
    first = _page(lambda p: (p.insert_text((30, 40), "三、申请情况", fontname="china-s", fontsize=12),
                             _ruled(p, 150, [["项目", "自然人", "法人", "总计"], ["本年新收", "12", "0", "12"],
                                             ["上年结转", "3", "1", "4"]], widths),
                             p.insert_text((200, 280), "- 1 -", fontsize=9)))
    second = _page(lambda p: (_ruled(p, 30, [["予以公开", "7", "", "7"], ["结转下年", "8", "1", "9"]], widths),
                              p.insert_text((30, 120), "四、行政复议情况", fontname="china-s", fontsize=12)))
    ok, tiff = cv2.imencodemulti(".tiff", [cv2.imdecode(np.frombuffer(b, np.uint8), cv2.IMREAD_COLOR)
                                           for b in (first, second)])
    assert ok
    document = ocr.recognise([tiff.tobytes()], "image")
    assert document.pages == 2
    [table] = document.tables
    assert table.rows == [["项目", "自然人", "法人", "总计"], ["本年新收", "12", "0", "12"],
                          ["上年结转", "3", "1", "4"], ["予以公开", "7", "", "7"], ["结转下年", "8", "1", "9"]]
    assert table.pages == (1, 2) and table.where == "page 1–2, table 1"
    assert document.blocks[0] == "三、申请情况" and document.blocks[-1] == "四、行政复议情况"
    assert any("continues on page 2" in note for note in document.notes)


def test_a_table_without_rules_is_read_by_rows_and_columns_from_a_transparent_png() -> None:
    def draw(page) -> None:
        page.insert_text((30, 40), "收到申请情况如下表。", fontname="china-s", fontsize=11)
        for i, row in enumerate([["项目", "自然人", "法人", "总计"], ["本年新收", "12", "0", "12"],
                                 ["上年结转", "3", "", "3"], ["予以公开", "15", "1", "16"]]):
            for x, text in zip((30, 150, 230, 310), row, strict=False):
                page.insert_text((x, 80 + 24 * i), text, fontname="china-s", fontsize=10)
        page.insert_text((30, 200), "以上数据截至十二月三十一日。", fontname="china-s", fontsize=11)

    png = _page(draw, alpha=True)  # black text on nothing: read as on white, not on black
    assert cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED).shape[2] == 4
    document = ocr.recognise([png], "image")
    assert [b if isinstance(b, str) else "TABLE" for b in document.blocks] == [
        "收到申请情况如下表。", "TABLE", "以上数据截至十二月三十一日。"]
    [table] = document.tables
    assert isinstance(table, Table)
    assert table.rows == [["项目", "自然人", "法人", "总计"], ["本年新收", "12", "0", "12"], ["上年结转", "3", "", "3"],
                          ["予以公开", "15", "1", "16"]]


def test_a_page_that_is_not_an_image_is_unreadable() -> None:
    with pytest.raises(Unreadable, match="page 2 is not a PNG, JPEG, TIFF or BMP image"):
        ocr.recognise([_page(lambda p: None, 50, 50), b"%PDF-1.7 not an image"], "image")
