import pytest

from crawler.titles import classify

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
