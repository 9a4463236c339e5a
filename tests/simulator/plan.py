"""What a simulated site publishes, independent of how its platform lays it out.

A plan is a list of `Entry`s (reports, near-miss distractors, news); the platform modules give each
entry its URL and render list pages, article pages and attachments around it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from dataclasses import dataclass, field

from . import texts
from .documents import Report, make_report
from .report_html import report_html
from .texts import Agency

YEARS = range(2019, 2025)
DISTRACTOR_KINDS = ("guide", "key_points", "work_report", "notice", "interpretation", "infographic")


@dataclass
class Att:
    """An attachment of a report page; `embedded` ones are linked inside the body text (TRS W0… files)."""

    ext: str
    filename: str
    embedded: bool = False


@dataclass
class Entry:
    kind: str  # "report", one of DISTRACTOR_KINDS, or "news"
    title: str
    published: dt.datetime
    column: int = 0
    year: int | None = None
    agency: str | None = None
    agency_kind: str | None = None
    body: str = ""  # article body HTML
    link_to: Entry | None = None  # a 解读/图解 page links the report it explains
    list_text: str = ""
    title_attr: bool = True
    direct_pdf: bool = False  # the list links the report's PDF itself, no HTML page
    attachments: list[Att] = field(default_factory=list)
    url: str = ""  # set by the platform
    report: Report | None = None  # what a report's page and files say (its numbers), for the expected readings


def _when(year: int, first: tuple[int, int], last: tuple[int, int], rng: random.Random) -> dt.datetime:
    start, end = dt.date(year, *first), dt.date(year, *last)
    day = start + dt.timedelta(days=rng.randint(0, (end - start).days))
    return dt.datetime(day.year, day.month, day.day, rng.randint(8, 17), rng.randint(0, 59), rng.randint(0, 59))


def _report(county: str, host: str, agency: Agency, year: int, rng: random.Random) -> Entry:
    # The numbers are seeded by the site generator's state, read without drawing from it: every URL, title
    # and date of a world stays what it was before reports had numbers.
    identity = f"{host}|{agency.full}|{year}|{hashlib.sha256(repr(rng.getstate()).encode()).hexdigest()[:16]}"
    title, who = texts.report_title(county, agency, year, rng)
    # 条例 第四十九条: departments by 31 Jan, governments by 31 Mar; some publish months late.
    deadline = (1, 31) if agency.kind == "department" else (3, 31)
    published = _when(year + 1, (1, 5), deadline, rng) if rng.random() > 0.1 else _when(year + 1, (4, 1), (9, 30), rng)
    report = make_report(agency, county, host, year, title, who, identity, rng)
    return Entry("report", title, published, year=year, agency=who, agency_kind=agency.kind,
                 body=report_html(report), report=report)


def _attachments(entry: Entry, rng: random.Random, two: bool = False) -> list[Att]:
    if two:
        return [Att("pdf", f"{entry.title}.pdf"), Att("docx", f"{entry.title}.docx", embedded=True)]
    ext = rng.choice(["pdf", "pdf", "pdf", "docx", "doc", "wps", "xls"])
    name = f"{entry.agency}{entry.year}年政府信息公开工作年度报告附表.xls" if ext == "xls" else f"{entry.title}.{ext}"
    return [Att(ext, name)]


def _finish_reports(reports: list[Entry], rng: random.Random, attach_rate: float) -> None:
    """Title variants, direct-PDF reports and attachments; a few of each are forced so every site has them."""
    order = list(reports)
    rng.shuffle(order)
    order[0].title += "（图片版）"
    order[1].title += "（超链版）"
    order[2].attachments = _attachments(order[2], rng, two=True)
    order[3].direct_pdf = True
    for e in order[4:]:
        if rng.random() < 0.1:
            e.direct_pdf = True
        elif rng.random() < attach_rate:
            e.attachments = _attachments(e, rng)


def _list_texts(entries: list[Entry], rng: random.Random) -> None:
    """Visible list text: long titles are often cut with …; some cut ones have no title attribute at all."""
    long_reports = [e for e in entries if e.kind == "report" and len(e.title) > 24 and not e.direct_pdf]
    forced = {id(e): rank for rank, e in enumerate(long_reports[:2])}
    for e in entries:
        rank = forced.get(id(e))
        cut = rank is not None or (len(e.title) > 24 and rng.random() < 0.45)
        e.list_text = texts.truncate(e.title) if cut else e.title
        if rank is not None:  # the first forced one is cut and has no title attribute, the second has one
            e.title_attr = rank == 1
        elif cut:  # a direct PDF link has no article page to recover the title from
            e.title_attr = e.direct_pdf or rng.random() > 0.25
        else:
            e.title_attr = rng.random() < 0.8


def plan_county(county: str, host: str, rng: random.Random, *, departments: int, townships: int,
                two_columns: bool, min_main: int = 0, years: range = YEARS) -> list[Entry]:
    """One county's report column(s), 2019–2024 unless ``years`` (as many) says otherwise: county, department
    and township reports plus near misses."""
    entries = [_report(county, host, texts.county_agency(county), y, rng) for y in years]
    for agency in texts.departments(county, rng, departments):
        entries += [_report(county, host, agency, y, rng) for y in sorted(rng.sample(years, rng.randint(2, 4)))]
    towns = texts.townships(county, rng, townships)
    for agency in towns:
        for y in sorted(rng.sample(years, rng.randint(2, 3))):
            entries.append(_report(county, host, agency, y, rng))
            entries[-1].column = 1 if two_columns else 0
    _finish_reports(entries, rng, attach_rate=0.35)
    county_reports = {e.year: e for e in entries if e.agency_kind == "county"}
    for kind in DISTRACTOR_KINDS:
        entries.append(_distractor(kind, county, rng, county_reports, years))
    places = [county] + [t.short for t in towns]
    news = [_news(county, rng.choice(places), rng, years) for _ in range(rng.randint(4, 7))]
    if two_columns:
        for n in news[:2]:
            n.column = 1
    while sum(e.column == 0 for e in entries + news) < min_main:  # Hanweb: more than one 45-record group
        news.append(_news(county, rng.choice(places), rng, years))
    entries += news
    _list_texts(entries, rng)
    return entries


def _distractor(kind: str, county: str, rng: random.Random, reports: dict[int, Entry],
                years: range = YEARS) -> Entry:
    year = rng.choice(years)
    title = texts.distractor_title(kind, county, year, rng)
    if kind in ("interpretation", "infographic"):  # published with (or just after) the report
        report = reports[year]
        when = report.published + dt.timedelta(hours=rng.randint(1, 60))
        link = report
    else:
        when, link = _when(year + (kind == "notice"), (1, 5), (12, 20), rng), None
    entry = Entry(kind, title, when, year=year, link_to=link)
    entry.body = texts.short_article(county, rng, ("\x00LINK\x00", link.title) if link else None)
    return entry


def _news(county: str, place: str, rng: random.Random, years: range = YEARS) -> Entry:
    year = rng.choice(years)
    title = texts.news_title(county, place, year, rng)
    return Entry("news", title, _when(year, (1, 5), (12, 25), rng), year=year, body=texts.short_article(county, rng))


def plan_static(county: str, host: str, reports: int, rng: random.Random) -> list[Entry]:
    """The benchmark site: `reports` annual reports (every third with one attachment) and ~4% near misses."""
    agencies = [texts.county_agency(county)] + [Agency(county + d, county + d, "department")
                                                for d in texts.DEPARTMENTS]
    agencies += [Agency(f"{a}{b}{s}办事处" if s == "街道" else f"{a}{b}{s}人民政府", f"{a}{b}{s}", "township")
                 for s in ("镇", "乡", "街道") for a in texts.TOWN_FIRST for b in texts.TOWN_SECOND]
    years = range(2024, 2007, -1)
    if reports > len(agencies) * len(years):
        raise ValueError(f"at most {len(agencies) * len(years)} reports in a static world")
    entries = [_report(county, host, agencies[i // len(years)], years[i % len(years)], rng) for i in range(reports)]
    for e in entries[7::40]:
        e.title += "（图片版）"
    for e in entries[19::40]:
        e.title += "（超链版）"
    for e in entries[2::3]:
        ext = rng.choice(["pdf", "pdf", "docx"])
        e.attachments = [Att(ext, f"{e.title}.{ext}")]
    by_year = {e.year: e for e in entries if e.agency_kind == "county"}
    kinds = DISTRACTOR_KINDS if set(YEARS) <= set(by_year) else DISTRACTOR_KINDS[:4]
    entries += [_distractor(kinds[i % len(kinds)], county, rng, by_year) for i in range(max(1, reports // 25))]
    _list_texts(entries, rng)
    return entries
