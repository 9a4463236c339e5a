"""A grammar of report titles and near-miss titles, built from parts, for the title judge's property tests.

Parts follow the wordings the field notes list (agency first or last, in brackets, the year
before, after, in the middle or at the end, with 年, 年度 or neither, in Chinese numerals, 关于…的,
工作 / 情况, 年度报告 / 年报 / 工作报告 / 年度工作报告 / 报告, 政府 / 政务 / no prefix, traditional
script, spaces, （图片版） and site-name tails, the short ``{Y}年报_{agency}``), combined freely
so titles no list shows come out. Near misses wrap a report title in what makes it something
else (解读, 图解, a notice, news that it was 发布, 汇总, 格式(试行) …). Simulator worlds keep their
own titles (texts.py): tests count their reports exactly.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from opencc import OpenCC

from . import texts

COUNTIES = ["万载县", "沂源县", "寻乌县", "海原县", "台安县", "东河区", "鄂温克旗", "大冶市", "秀山土家族苗族自治县"]
_S2T, _T2S = OpenCC("s2t"), OpenCC("t2s")
_CN = "〇一二三四五六七八九"


@dataclass(frozen=True)
class Title:
    text: str
    year: int | None
    agency: str | None  # as the judge should give it back (simplified script); None when not asked


def _agency(rng: random.Random) -> str:
    county = rng.choice(COUNTIES)
    town = rng.choice(texts.TOWN_FIRST) + rng.choice(texts.TOWN_SECOND)
    return rng.choice([
        county, f"{county}人民政府", f"{county}{rng.choice(texts.DEPARTMENTS)}", rng.choice(texts.DEPARTMENTS),
        f"{town}{rng.choice('镇乡')}", f"{town}镇人民政府", f"{town}街道办事处", f"{county}{town}乡",
        f"{county}{rng.choice(texts.DEPARTMENTS)}（{rng.choice(['机关', '本级', '行政审批局'])}）",
    ])


def _year_text(year: int, rng: random.Random, suffix: str) -> str:
    digits = str(year)
    form = rng.random()
    if form < 0.1:
        digits = "".join(_CN[int(d)] for d in digits)
        suffix = suffix or "年"
    elif form < 0.2:
        digits = digits.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    space = " " if rng.random() < 0.15 else ""
    return f"{space}{digits}{space}{suffix}{space}"


def report_title(rng: random.Random) -> Title:
    """A report title: any agency form, year form and place, report wording, script and tail."""
    year = rng.randint(2008, 2025)
    agency = _agency(rng)
    prefix = rng.choice(["政府", "政府", "政务", ""])
    work = rng.choice(["工作", "工作", "", "工作情况"])
    word = rng.choice(["年度报告", "年度报告", "年报", "工作报告", "年度工作报告", "报告"] if work != "工作情况"
                      else ["年度报告", "报告"])
    if word in ("报告", "工作报告") and rng.random() < 0.5:
        word = "年度" + word if word == "报告" else word
    name = f"{prefix}信息公开{work}{word}"
    place = rng.choice(["after_agency", "after_agency", "first", "middle", "end", "about", "none"])
    shown: str | None = agency
    if place == "after_agency":
        text = f"{agency}{_year_text(year, rng, rng.choice(['年', '年度', '']))}{name}"
    elif place == "first":
        text = f"{_year_text(year, rng, rng.choice(['年', '年度']))}{agency}{name}"
    elif place == "middle":  # …政府信息公开工作2021年度报告
        text = f"{agency}{prefix}信息公开{work}{_year_text(year, rng, '年度')}报告"
    elif place == "end":
        text = f"{agency}{name}（{_year_text(year, rng, rng.choice(['年', '年度'])).strip()}）"
    elif place == "about":  # XX局关于2019年度政府信息公开工作的年度报告
        text = f"{agency}关于{_year_text(year, rng, '年度')}{prefix}信息公开工作的年度报告"
    else:
        text, year = f"{agency}{name}", None
    if rng.random() < 0.1 and "（" not in agency:  # the agency in brackets, before or after
        bare = text.replace(agency, "", 1)
        text = rng.choice([f"[{agency}]{bare}", f"{bare}（{agency}）"])
    if rng.random() < 0.25:
        tails = ["（图片版）", "（超链版）", ".pdf", "[2024-01-20]", "（更正版）",
                 f"-信息公开年度报告-{rng.choice(COUNTIES)}人民政府"]
        text += rng.choice(tails)
    if rng.random() < 0.15 and _T2S.convert(_S2T.convert(text)) == text:
        text = _S2T.convert(text)  # 政府信息公開工作年度報告
    return Title(text, year, shown)


def short_title(rng: random.Random) -> Title:
    """The short form some lists use: ``2020年报_审计局``."""
    year, agency = rng.randint(2008, 2025), rng.choice(texts.DEPARTMENTS)
    return Title(f"{year}年报{rng.choice(['_', '-', ' - '])}{agency}", year, agency)


def near_miss_title(rng: random.Random) -> str:
    """A title naming the report (or looking like it) that is something else."""
    report = report_title(rng).text
    year, agency, county = rng.randint(2008, 2025), _agency(rng), rng.choice(COUNTIES)
    return rng.choice([
        f"《{report}》解读", f"图解：{report}", f"一图读懂{report}", f"【文字解读】{report}", f"{report}的说明",
        f"{report}汇总", f"{rng.choice(['贵州省', '江西省', county])}发布{report}",
        f"关于做好{year}年政府信息公开工作年度报告编制发布工作的通知", f"关于{report}的通知",
        "中华人民共和国政府信息公开工作年度报告格式（试行）", f"{county}政府信息公开年度报告制度",
        f"{agency}政府信息公开指南", f"{county}{year}年政务公开工作要点", f"{year}年{county}人民政府工作报告",
        f"{county}{year}年政府工作报告", f"{agency}{year}年政府信息公开工作要点落实情况自查总结",
        f"关于报送{year}年政府信息公开工作年度报告的通知", f"{county}{year}年政务公开工作考核方案",
        f"{county}{year}年国民经济和社会发展统计公报", f"关于{county}{year}年预算执行情况的报告",
    ])
