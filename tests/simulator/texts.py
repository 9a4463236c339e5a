"""Names, titles and page texts of a simulated county, built from the bundled real reports.

Titles follow the variants seen on real portals (year first, 年度, county prefix, （图片版）…) and the
report bodies are the real seed reports with agency, county, host and years swapped in.
"""

from __future__ import annotations

import html
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from .files import BUNDLED

DEPARTMENTS = [
    "人民政府办公室", "发展和改革委员会", "教育体育局", "财政局", "人力资源和社会保障局", "自然资源局",
    "住房和城乡建设局", "交通运输局", "农业农村局", "卫生健康委员会", "市场监督管理局", "应急管理局",
    "民政局", "司法局", "水利局", "商务局", "文化广电新闻出版旅游局", "退役军人事务局", "审计局",
    "统计局", "林业局", "医疗保障局", "行政审批局", "城市管理局", "科学技术局", "工业和信息化局",
]
TOWN_FIRST = "东西南北新龙石白青高黄马金凤仙桃柳杨花双三大小长平安永太"
TOWN_SECOND = "山河桥坪溪岭口埠田湖塘岗源关城集庄坑"
# Real townships named by the seed reports, kept for their own counties.
SEED_TOWNSHIPS = {"万载县": "仙源乡", "沂源县": "张家坡镇", "湟中区": "土门关乡", "海原县": "九彩乡"}


@dataclass(frozen=True)
class Agency:
    """A publishing agency; `full` is its official name, `short` how texts refer to it."""

    full: str
    short: str
    kind: str  # "county" | "department" | "township"

    @property
    def we(self) -> str:
        """The self-reference the reports use (我乡, 我局 …)."""
        for tail, we in (("乡", "我乡"), ("镇", "我镇"), ("街道", "我街道"), ("局", "我局"), ("委员会", "我委"),
                         ("办公室", "我办"), ("县", "我县"), ("区", "我区")):
            if self.short.endswith(tail):
                return we
        return "我单位"


def county_agency(county: str) -> Agency:
    return Agency(f"{county}人民政府", county, "county")


def departments(county: str, rng: random.Random, n: int) -> list[Agency]:
    return [Agency(county + d, county + d, "department") for d in rng.sample(DEPARTMENTS, n)]


def townships(county: str, rng: random.Random, n: int) -> list[Agency]:
    """n townships/streets: the real seed township first where we know one, then invented names."""
    names = [SEED_TOWNSHIPS[county]] if county in SEED_TOWNSHIPS else []
    pool = [a + b for a in TOWN_FIRST for b in TOWN_SECOND]
    rng.shuffle(pool)
    for stem in pool:
        if len(names) >= n:
            break
        name = stem + ("街道" if len(names) % 4 == 3 else rng.choice("镇镇乡"))
        if not any(known.startswith(stem) for known in names):
            names.append(name)
    return [Agency(f"{t}办事处" if t.endswith("街道") else f"{t}人民政府", t, "township") for t in names[:n]]


# Title patterns: {c} county, {f} agency full name, {s} short name, {y} year.  Each returns (title, agency).
_TITLES = {
    "county": [("{f}{y}年政府信息公开工作年度报告", "{f}"), ("{f}{y}年政府信息公开工作年度报告", "{f}"),
               ("{y}年{f}政府信息公开工作年度报告", "{f}"),
               ("{f}{y}年度政府信息公开工作年度报告", "{f}"), ("{c}{y}年政府信息公开工作年度报告", "{c}")],
    "department": [("{f}{y}年政府信息公开工作年度报告", "{f}"), ("{y}年{f}政府信息公开工作年度报告", "{f}"),
                   ("{f}{y}年度政府信息公开工作年度报告", "{f}")],
    "township": [("{f}{y}年度政府信息公开工作年度报告", "{f}"), ("{c}{f}{y}年政府信息公开工作年度报告", "{c}{f}"),
                 ("{s}{y}年政府信息公开工作年度报告", "{s}"), ("{y}年{f}政府信息公开工作年度报告", "{f}")],
}


def report_title(county: str, agency: Agency, year: int, rng: random.Random) -> tuple[str, str]:
    """A real-looking annual-report title and the agency name exactly as it appears in it."""
    pattern, who = rng.choice(_TITLES[agency.kind])
    fields = {"c": county, "f": agency.full, "s": agency.short, "y": year}
    return pattern.format(**fields), who.format(**fields)


def distractor_title(kind: str, county: str, year: int, rng: random.Random) -> str:
    """Near-miss titles that a keyword filter on 年度报告/信息公开 would wrongly take."""
    c, y = county, year
    options = {
        "guide": [f"{c}人民政府信息公开指南", f"{c}政府信息公开指南（{y}年修订）"],
        "key_points": [f"{c}{y}年政务公开工作要点", f"关于印发{c}{y}年政务公开工作要点的通知"],
        "work_report": [f"{y}年{c}人民政府工作报告", f"{c}{y}年政府工作报告"],
        "notice": [f"关于做好{y}年政府信息公开工作年度报告编制发布工作的通知"],
        "interpretation": [f"《{c}人民政府{y}年政府信息公开工作年度报告》解读"],
        "infographic": [f"图解：{c}人民政府{y}年政府信息公开工作年度报告",
                        f"一图读懂《{c}人民政府{y}年政府信息公开工作年度报告》"],
    }
    return rng.choice(options[kind])


def news_title(county: str, place: str, year: int, rng: random.Random) -> str:
    return rng.choice([
        f"{county}召开{year}年政务公开工作推进会", f"{place}开展禁毒宣传活动",
        f"{county}举办政务公开业务培训班", f"{place}扎实推进农房一体化确权登记工作",
        f"{county}{year}年国民经济和社会发展统计公报", f"{place}开展安全生产大检查",
    ])


@dataclass(frozen=True)
class Seed:
    file: str
    year: int
    # (text in the seed, placeholder) — longest first so a county prefix is not doubled.
    swaps: tuple[tuple[str, str], ...]


_F, _S, _C, _H, _W = "\x00F\x00", "\x00S\x00", "\x00C\x00", "\x00H\x00", "\x00W\x00"
SEEDS = [
    Seed("000_ef30afaf576d357e.txt", 2021, (("万载县仙源乡人民政府", _F), ("仙源乡人民政府", _F), ("仙源乡", _S),
                                             ("万载县", _C), ("www.wanzai.gov.cn", _H), ("我乡", _W))),
    Seed("001_0ed6c5173e6d400e.txt", 2021, (("沂源县张家坡镇人民政府", _F), ("张家坡镇人民政府", _F), ("张家坡镇", _S),
                                             ("沂源县", _C), ("www.yiyuan.gov.cn", _H), ("我镇", _W))),
    Seed("002_1a7172332732daca.txt", 2021, (("寻乌县人民政府办公室", _F), ("寻乌县政府办公室", _F), ("寻乌县", _C),
                                             ("www.xunwu.gov.cn", _H), ("我办", _W))),
    Seed("003_86e1ed2bd8e108a0.txt", 2021, (("土门关乡人民政府", _F), ("土门关乡", _S), ("我乡", _W))),
    Seed("004_c398de9698c524c2.txt", 2020, (("海原县九彩乡人民政府", _F), ("九彩乡", _S), ("海原县", _C),
                                             ("我乡", _W))),
]


@cache
def seed_lines(file: str) -> tuple[str, ...]:
    """Seed text without its (often split) title lines and the [image: …] extraction marks."""
    text = (BUNDLED / "seeds" / file).read_text(encoding="utf-8")
    text = re.sub(r"\[(image|bookmark): [^\]]*\]", "", text)
    lines = text.splitlines()
    while lines and (not lines[0].strip() or (len(lines[0].strip()) <= 40 and not lines[0].strip().startswith("一")
                                              and any(k in lines[0] for k in ("报告", "政府", "年度")))):
        lines.pop(0)
    return tuple(lines)


def _shift_years(text: str, delta: int) -> str:
    # Only years followed by 年; 〔2021〕-style document numbers must keep their year.
    return re.sub(r"(?<![〔\d])(20[0-2]\d)(?=\s*年)", lambda m: str(int(m.group(1)) + delta), text)


def report_text(agency: Agency, county: str, host: str, year: int, rng: random.Random,
                read: Callable[[str], tuple[str, ...]] = seed_lines) -> list[str]:
    """A real seed report rewritten for this agency/year: 2019 format before 2021, 2021 format after.

    `read` gives a seed file's lines (documents.py passes one that has put placeholders in for the tables)."""
    if year <= 2020:
        seed = SEEDS[4]
    elif agency.kind == "township":
        seed = rng.choice([SEEDS[0], SEEDS[1], SEEDS[3]])
    else:
        seed = rng.choice([SEEDS[2], SEEDS[2], SEEDS[0]])
    text = _shift_years("\n".join(read(seed.file)), year - seed.year)
    for old, placeholder in seed.swaps:
        text = text.replace(old, placeholder)
    for placeholder, new in ((_F, agency.full), (_S, agency.short), (_C, county), (_H, host), (_W, agency.we)):
        text = text.replace(placeholder, new)
    return text.splitlines()


_HEADING = re.compile(r"^(?:[一二三四五六七八九十]+、|（[一二三四五六七八九十]+）|\d+、)")


def lines_to_html(lines: list[str]) -> str:
    """Prose lines become <p>, runs of short table cells (one a line in the seeds) become a <table>."""
    out: list[str] = []
    cells: list[str] = []

    def flush() -> None:
        if cells:
            rows = "".join(f"<tr><td>{c}</td></tr>" for c in cells)
            out.append(f'<table border="1" cellspacing="0" class="MsoTableGrid">{rows}</table>')
            cells.clear()

    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if _HEADING.match(line):
            flush()
            out.append(f"<p><strong>{html.escape(line)}</strong></p>")
        elif raw.startswith("\t") or (len(line) <= 16 and not line.endswith("。")):
            cells.append(html.escape(line))
        else:
            flush()
            out.append(f'<p style="text-indent:2em;">{html.escape(line)}</p>')
    flush()
    return "\n".join(out)


def short_article(county: str, rng: random.Random, link: tuple[str, str] | None = None) -> str:
    """Body of a distractor or news page: a few plausible paragraphs, optionally linking the real report."""
    sentences = [
        f"为深入贯彻落实《中华人民共和国政府信息公开条例》，{county}持续推进政务公开标准化规范化建设。",
        "各乡镇、各部门要高度重视，明确专人负责，按时完成相关工作任务。",
        "进一步加强政策解读和回应关切，不断提升政务公开质量和实效。",
        f"{county}人民政府办公室将加强督促指导，对工作推进情况进行通报。",
        "会议强调，要坚持以公开为常态、不公开为例外，切实保障人民群众的知情权、参与权、表达权和监督权。",
    ]
    rng.shuffle(sentences)
    paras = [f'<p style="text-indent:2em;">{s}</p>' for s in sentences[: rng.randint(3, 5)]]
    if link:
        paras.append(f'<p>相关链接：<a href="{link[0]}">{html.escape(link[1])}</a></p>')
    return "\n".join(paras)


def truncate(title: str, limit: int = 24) -> str:
    """List-page style truncation: the visible text ends in … and loses the tail of the title."""
    return title if len(title) <= limit else title[: limit - 1] + "…"
