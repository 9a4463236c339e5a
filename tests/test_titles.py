import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler.titles import classify, normalize
from tests.simulator import titles

REPORTS = [
    ("万载县人民政府2021年政府信息公开工作年度报告", 2021, "万载县人民政府", "county"),
    ("万载县2023年政府信息公开工作年度报告（超链版）", 2023, "万载县", "county"),
    ("仙源乡人民政府2021年度政府信息公开工作年度报告", 2021, "仙源乡人民政府", "township"),
    ("沂源县张家坡镇人民政府2021年政府信息公开工作年度报告", 2021, "沂源县张家坡镇人民政府", "township"),
    ("城东街道办事处2022年政府信息公开工作年度报告", 2022, "城东街道办事处", "township"),
    ("2022年万载县财政局政府信息公开工作年度报告", 2022, "万载县财政局", "department"),
    ("万载县教育体育局2023年政府信息公开工作年度报告（图片版）", 2023, "万载县教育体育局", "department"),
    ("寻乌县人民政府办公室2021年政府信息公开工作年度报告", 2021, "寻乌县人民政府办公室", "department"),
    ("万载县卫生健康委员会２０２０年度政府信息公开工作年度报告", 2020, "万载县卫生健康委员会", "department"),
    ("海原县九彩乡人民政府 2020 年 政府信息公开工作年度报告", 2020, "海原县九彩乡人民政府", "township"),
    ("万载县人民政府2022年度政府信息公开年报", 2022, "万载县人民政府", "county"),
    ("2024年政府信息公开工作年度报告", 2024, None, None),
    ("万载县2023年政府信息公开工作年度报告[2024-01-20]", 2023, "万载县", "county"),
    ("万载县政府信息公开年报（2023年）", 2023, "万载县", "county"),
    ("万载县2023年政府信息公开工作年度报告.pdf", 2023, "万载县", "county"),
    ("2023年政府信息公开工作年度报告（万载县教育体育局）", 2023, "万载县教育体育局", "department"),
    ("万载县机构编制委员会办公室2023年政府信息公开工作年度报告", 2023, "万载县机构编制委员会办公室", "department"),
    ("万载县人民政府督查室2023年政府信息公开工作年度报告", 2023, "万载县人民政府督查室", "department"),
    ("万载县工业园区2023年政府信息公开工作年度报告", 2023, "万载县工业园区", "department"),
    ("高城镇政府2023年政府信息公开工作年度报告", 2023, "高城镇政府", "township"),
    ("康乐街道办2023年政府信息公开工作年度报告", 2023, "康乐街道办", "township"),
    ("万载县关于2023年度政府信息公开工作年度报告", 2023, "万载县", "county"),
    ("万载县2023年政府信息公开工作年度报告（更正版）", 2023, "万载县", "county"),
    ("2019年度政府信息公开工作报告", 2019, None, None),
]

DISTRACTORS = [
    "万载县人民政府信息公开指南",
    "万载县2023年政务公开工作要点",
    "2023年万载县政府工作报告",
    "万载县人民政府2023年政府工作报告",
    "关于做好2023年政府信息公开工作年度报告编制发布工作的通知",
    "《万载县人民政府2022年政府信息公开工作年度报告》解读",
    "图解：万载县2022年政府信息公开工作年度报告",
    "关于万载县2023年政府信息公开工作年度报告的说明",
    "万载县召开2023年度政务公开工作推进会",
]


@pytest.mark.parametrize(("title", "year", "agency", "kind"), REPORTS)
def test_reports_give_year_and_agency(title, year, agency, kind):
    verdict = classify(title, county="万载县" if "万载" in title else None)
    assert verdict.is_report, verdict.reason
    assert (verdict.year, verdict.agency, verdict.agency_kind) == (year, agency, kind)


@pytest.mark.parametrize("title", DISTRACTORS)
def test_look_alikes_are_rejected(title):
    verdict = classify(title, county="万载县")
    assert not verdict.is_report and not verdict.needs_full_title


@pytest.mark.parametrize("title", ["万载县教育体育局2023年政府信息公开工…", "万载县2023年政府...",
                                   "万载县人民政府2022年度政府信息公开工作年度报…",
                                   "《万载县2023年政府信息公开工作年度报告》解…",
                                   "万载县2023年政府信息公开工作年度报告的说…"])
def test_truncated_titles_are_checked_on_the_page(title):
    verdict = classify(title, county="万载县")
    assert verdict.needs_full_title and not verdict.is_report


def test_truncated_news_is_not_fetched():
    assert not classify("万载县召开春季森林防火工作会议…", county="万载县").needs_full_title


# -- the real titles: the yardstick (../shared/corpus/titles/, read, never copied) ---------------
REAL_TITLES = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "titles" / "real-titles.jsonl"


def _folded(agency: str | None) -> str | None:
    return normalize(agency) if agency else None


@pytest.mark.skipif(not REAL_TITLES.exists(), reason="the shared corpus is not here")
def test_real_titles_recall_and_precision():
    rows = [json.loads(line) for line in REAL_TITLES.read_text("utf-8").splitlines() if line.strip()]
    said = [(row, classify(row["title"])) for row in rows]
    tp = sum(row["label"] == "report" and v.is_report for row, v in said)
    fp = sum(row["label"] != "report" and v.is_report for row, v in said)
    fn = sum(row["label"] == "report" and not v.is_report for row, v in said)
    recall, precision = tp / (tp + fn), tp / (tp + fp)
    facts = [(row["title"], v.year, v.agency) for row, v in said if row["label"] == "report" and v.is_report
             and (v.year, v.agency) != (row["year"], _folded(row["agency"]))]
    print(f"real titles: {len(rows)}, recall {recall:.3f}, precision {precision:.3f}, facts wrong {len(facts)}")
    assert recall >= 0.99 and precision >= 0.99, [row["title"] for row, v in said
                                                  if v.is_report != (row["label"] == "report")]
    assert len(facts) <= len(rows) // 100, facts  # year and agency as the title names them


# -- the grammar: titles no list shows (tests/simulator/titles.py) --------------------------------
@settings(max_examples=400, deadline=None)
@given(st.randoms(use_true_random=False))
def test_every_generated_report_title_is_a_report(rng):
    title = titles.report_title(rng) if rng.random() < 0.93 else titles.short_title(rng)
    verdict = classify(title.text)
    assert verdict.is_report, (title, verdict)
    assert verdict.year == title.year, (title, verdict)
    if title.agency:
        assert verdict.agency == normalize(title.agency), (title, verdict)


@settings(max_examples=400, deadline=None)
@given(st.randoms(use_true_random=False))
def test_every_generated_near_miss_is_excluded(rng):
    title = titles.near_miss_title(rng)
    verdict = classify(title)
    assert not verdict.is_report and not verdict.worth_fetching, (title, verdict)


@given(st.text(max_size=60))
def test_any_text_is_judged_without_error(text):
    verdict = classify(text)
    assert verdict.is_report or verdict.reason
