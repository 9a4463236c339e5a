"""`build_generated_world(seed, sites=N)`: county sites drawn at random, so the crawler meets layouts no list names.

Each site draws its platform (html / hanweb / trs / gkmlpt, reusing their builders), its column layout,
pager, encoding, whether it has attachments, how many agencies and years, and whether the registry
names its list or the crawl must find it from the home page. Layouts, as the field notes describe them:

- ``single``: one annual-report column holding everything;
- ``year_columns``: per-year sub-columns with opaque paths (``2024n78/`` holding 2025's reports);
- ``agency_columns``: sub-columns per kind of agency (部门, 乡镇街道) or per agency (教育体育局);
- ``year_filter``: one list filtered by a year in the query (``index.html?nbYear=2023``), by a
  ``<select>`` or by links; the unfiltered page shows only the newest year;
- ``annual_module``: Hanweb's ``/module/xxgk/xxgkAnnualReport.jsp?area=…&fbtime=YEAR``, one page per
  agency and year, linked from the column by agency name (a year ``<select>`` on some);
- ``openness``: Anhui's ``/OpennessAnnualReport/?branch_id=…`` per agency, its reports at
  ``/OpennessAnnualReport/show/{id}.html`` or ``/Xxgknb/show/{id}.html``.

Any site may also re-post other agencies' reports (the prefecture's, a neighbour county's) among its
news: planted as reports with ``agency_kind="other"``. Ground truth goes in the usual `World` lists.
"""

from __future__ import annotations

import html
import random
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from . import plan, texts
from .files import FileFactory
from .gkmlpt import build as build_gkmlpt
from .pages import Column, SiteConfig, document, encode, list_item, root_href
from .plan import Entry
from .world import BUILDERS, World, _counties, _sim_site

if TYPE_CHECKING:
    from .world import Response

PLATFORMS = {"html": 4, "hanweb": 3, "trs": 3, "gkmlpt": 1}  # weights, roughly as often as seen
LAYOUTS = ("single", "year_columns", "agency_columns", "year_filter", "annual_module", "openness")
FITS = {"html": LAYOUTS, "trs": LAYOUTS[:3], "hanweb": ("single", "year_columns", "agency_columns", "annual_module"),
        "gkmlpt": ("single",)}
COLUMN_NAMES = ("政府信息公开年报", "信息公开年报", "政府信息公开年度报告", "年度报告", "政府信息公开工作年度报告")
SLUGS = ("/xxgk/zfxxgknb/", "/zwgk/xxgknb/", "/xxgk/zfxxgkndbg/", "/zfxxgk/gknb/", "/gk/nb/", "/zwgk/gkzl/ndbg/")
MODULE = "/module/xxgk/xxgkAnnualReport.jsp"


def build_generated_world(seed: int, sites: int = 8, layouts: Sequence[str] | None = None,
                          platforms: Sequence[str] | None = None, small: bool = False, cover: bool = False) -> World:
    """`sites` sites drawn with `seed`; `layouts` / `platforms` narrow the draw, `small` keeps each site tiny,
    `cover` gives the first sites one layout each (in an order drawn too), so a small world has them all."""
    rng = random.Random(f"generated:{seed}")
    rows = rng.sample(_counties(), min(sites, len(_counties())))
    layouts = tuple(layouts or LAYOUTS)
    covered = rng.sample(layouts, len(layouts)) if cover else []
    world = World()
    files = FileFactory(real_pdf_budget=4, served=world.documents)
    for i, row in enumerate(rows):
        site_rng = random.Random(f"generated:{seed}:{i}")
        neighbours = [r["county"] for r in rows if r is not row] or ["某某县"]
        allowed = (covered[i],) if i < len(covered) else layouts
        _site(row, world, files, site_rng, neighbours, allowed, platforms or tuple(PLATFORMS), small)
    return world


def _site(row: dict, world: World, files: FileFactory, rng: random.Random, neighbours: list[str],
          layouts: Sequence[str], platforms: Sequence[str], small: bool) -> None:
    choices = [p for p in platforms if set(FITS[p]) & set(layouts)]
    platform = rng.choices(choices, [PLATFORMS[p] for p in choices])[0]
    layout = rng.choice([x for x in FITS[platform] if x in layouts])
    host = urlsplit(row["home"]).hostname
    labels = host.split(".")
    site = SiteConfig(labels[1] if labels[0] == "www" else labels[0], row["county"], row["province"],
                      row["prefecture"], host, platform)
    site.encoding = "gbk" if platform != "gkmlpt" and rng.random() < 0.3 else "utf-8"
    site.meta = rng.choice(["charset", "http-equiv"])
    site.pager = rng.choice(["index_n", "query"])
    site.per_page = rng.randint(6, 16)
    site.webid = rng.randint(1, 300)
    newest = rng.choice([2024, 2025])
    years = range(newest - rng.randint(3, 5), newest + 1)
    entries = plan.plan_county(site.name, host, rng, departments=1 if small else rng.randint(2, 7),
                               townships=1 if small else rng.randint(0, 4), two_columns=False, years=years)
    if rng.random() < 0.25:  # a site that publishes everything inline
        for e in entries:
            e.attachments = []
    if rng.random() < 0.6:
        entries += _reposts(site, neighbours, years, rng, 1 if small else rng.randint(1, 3))
    top = _top_column(site, rng)
    site.columns, site.nav = [top], [(site.home, "首页"), (top.list_url, top.name)]
    after = LAYOUT_BUILDERS[layout](site, entries, world, rng)
    if platform == "gkmlpt":
        build_gkmlpt(site, entries, world, files, rng)
        top = Column(site.url("/gkmlpt/index"), "/gkmlpt/", "政府信息公开目录")
    else:
        BUILDERS[platform](site, entries, world, files, rng)
    if after:
        after()
    sim = _sim_site(site)
    sim.report_lists = [top.list_url]
    if platform != "gkmlpt":
        home = document(site, "首页", f'<h2>政务公开</h2><p><a href="{top.list_url}">{top.name}</a></p>')
        world.add(site.home, *encode(site, home), listed=False)  # over the builder's home, which links every column
        if rng.random() < 0.4:
            sim.report_lists = []  # found from the home page
    sim.platform = f"{platform}/{layout}"
    world.sites.append(sim)


def _top_column(site: SiteConfig, rng: random.Random) -> Column:
    name = rng.choice(COLUMN_NAMES)
    if site.platform == "hanweb":
        n = rng.randint(1000, 9999)
        return Column(site.url(f"/col/col{n}/index.html"), f"/col/col{n}/", name, n, str(rng.randint(100000, 999999)))
    base = rng.choice(SLUGS)
    return Column(site.url(f"{base}index.html"), base, name)


def _sub_column(site: SiteConfig, top: Column, rng: random.Random, name: str) -> Column:
    """A sub-column: beside the top one on Hanweb (/col/colN/), below it elsewhere, under an opaque slug."""
    if site.platform == "hanweb":
        n = top.col_id + 10 * len(site.columns) + rng.randint(1, 9)
        return Column(site.url(f"/col/col{n}/index.html"), f"/col/col{n}/", name, n, str(rng.randint(100000, 999999)))
    slug = rng.choice([f"{rng.randint(2015, 2025)}n{rng.randint(1, 99)}", f"nb{rng.randint(1, 999)}",
                       f"c{rng.randint(10000, 99999)}", f"{name.encode().hex()[:6]}{len(site.columns)}"])
    base = f"{top.base}{slug}{len(site.columns)}/"
    return Column(site.url(f"{base}index.html"), base, name)


def _reposts(site: SiteConfig, neighbours: list[str], years: range, rng: random.Random, n: int) -> list[Entry]:
    """Other agencies' reports re-posted in this county's column: the prefecture's, a neighbour county's."""
    out = []
    for _ in range(n):
        who = site.prefecture if site.prefecture and rng.random() < 0.5 else rng.choice(neighbours)
        e = plan._report(who, site.host, texts.county_agency(who), rng.choice(years), rng)
        e.agency_kind, e.list_text, e.title_attr = "other", e.title, rng.random() < 0.7
        out.append(e)
    return out


def _links(links: list[tuple[str, str]]) -> str:
    items = "".join(f'<li><a href="{html.escape(href)}">{html.escape(text)}</a></li>' for href, text in links)
    return f'<div class="sub-columns"><ul>{items}</ul></div>'


def _single(site: SiteConfig, entries: list[Entry], world: World, rng: random.Random) -> None:
    for e in entries:
        e.column = 0


def _year_columns(site: SiteConfig, entries: list[Entry], world: World, rng: random.Random) -> None:
    top = site.columns[0]
    years = sorted({e.year for e in entries if e.kind == "report" and e.agency_kind != "other"}, reverse=True)
    label = rng.choice(["{y}年", "{y}年度", "{y}", "{y}年度报告"])
    for y in years:
        site.columns.append(_sub_column(site, top, rng, label.format(y=y)))
    index = {y: k + 1 for k, y in enumerate(years)}
    beside = rng.random() < 0.5  # 解读 and 图解 in their year's column, or in the top one
    for e in entries:
        own = e.kind == "report" and e.agency_kind != "other"
        e.column = index[e.year] if own or (beside and e.kind in ("interpretation", "infographic")) else 0
    site.list_footer = _links([(root_href(site, c.list_url), c.name) for c in site.columns[1:]])


def _agency_columns(site: SiteConfig, entries: list[Entry], world: World, rng: random.Random) -> None:
    top = site.columns[0]
    own = [e for e in entries if e.kind == "report" and e.agency_kind != "other"]
    if rng.random() < 0.5:  # one per kind of agency
        names = {"county": rng.choice(["县政府", "政府办", f"{site.name}人民政府", "本级"]),
                 "department": rng.choice(["部门", "县直部门", "部门年报", "县直单位"]),
                 "township": rng.choice(["乡镇", "乡镇（街道）", "乡镇街道", "乡镇年报"])}
        key = {id(e): names[e.agency_kind] for e in own}
    else:  # one per agency, named as the site names it (with or without the county)
        short, county = rng.random() < 0.5, rng.choice([f"{site.name}人民政府", "县政府", "本级", site.name])
        key = {}
        for e in own:
            bare = re.sub(r"(人民政府|办事处)$", "", e.agency.removeprefix(site.name))
            key[id(e)] = county if e.agency_kind == "county" else bare if short else site.name + bare
    for name in dict.fromkeys(key.values()):
        site.columns.append(_sub_column(site, top, rng, name))
    index = {c.name: k for k, c in enumerate(site.columns)}
    for e in entries:
        e.column = index[key[id(e)]] if id(e) in key else 0
    site.list_footer = _links([(root_href(site, c.list_url), c.name) for c in site.columns[1:]])


def _year_filter(site: SiteConfig, entries: list[Entry], world: World, rng: random.Random) -> None:
    """The newest year unfiltered; each year at ``index.html?PARAM=YEAR`` (one page each: no pager)."""
    top = site.columns[0]
    param = rng.choice(["nbYear", "year", "nd", "timeFrame"])
    years = sorted({e.year for e in entries if e.kind == "report"}, reverse=True)
    site.per_page = 500
    for y in years[1:]:
        site.columns.append(Column(f"{top.list_url}?{param}={y}", top.base, f"{top.name}（{y}年）"))
    index = {y: k for k, y in enumerate(years)}
    for e in entries:
        e.column = index[e.year] if e.kind == "report" or rng.random() < 0.5 else 0
    select = (f'<select name="{param}" onchange="location.href=\'?{param}=\'+this.value"><option value="">全部</option>'
              + "".join(f'<option value="{y}">{y}年</option>' for y in years) + "</select>")
    links = " ".join(f'<a href="?{param}={y}">{y}年</a>' for y in years)
    site.list_footer = rng.choice([select, links, select + links])


def _annual_module(site: SiteConfig, entries: list[Entry], world: World, rng: random.Random):
    """Reports live in a column nothing links; the top column links each agency's module page."""
    top = site.columns[0]
    hidden = _sub_column(site, top, rng, "年报文章")
    site.columns.append(hidden)
    own = [e for e in entries if e.kind == "report" and e.agency_kind != "other"]
    mine = {id(e) for e in own}
    for e in entries:
        e.column = 1 if id(e) in mine else 0
    areas = {a: f"{rng.randint(10**15, 10**16 - 1)}{k:02d}" for k, a in enumerate(dict.fromkeys(e.agency for e in own))}
    newest = {a: max(e.year for e in own if e.agency == a) for a in areas}
    site.list_footer = _links([(f"{MODULE}?area={code}&fbtime={newest[a]}", a) for a, code in areas.items()])
    with_select = rng.random() < 0.6
    years = sorted({e.year for e in own}, reverse=True)

    def serve(method: str, query: str, body: bytes) -> Response:
        q = parse_qs(query)
        code, year = q.get("area", [""])[0], q.get("fbtime", [""])[0]
        agency = next((a for a, c in areas.items() if c == code), None)
        found = [e for e in own if e.agency == agency and str(e.year) == year]
        rows = "\n".join(list_item(root_href(site, e.url), e) for e in found) or "<li>暂无数据</li>"
        select = ""
        if with_select:
            select = (f'<select name="fbtime" onchange="location.href=\'?area={code}&fbtime=\'+this.value">'
                      + "".join(f'<option value="{y}">{y}年度</option>' for y in years) + "</select>")
        main = f'<div class="list-title">{html.escape(agency or "")}年报</div>{select}<ul class="list">{rows}</ul>'
        return _answer(site, document(site, "政府信息公开年度报告", main))

    return lambda: world.add_handler(site.host, MODULE, serve)


def _openness(site: SiteConfig, entries: list[Entry], world: World, rng: random.Random):
    """Anhui's platform: the column links each agency's ``/OpennessAnnualReport/?branch_id=…`` by its name;
    that page lists the agency's reports, each at ``/OpennessAnnualReport/show/{id}.html`` (or ``/Xxgknb/…``)."""
    top = site.columns[0]
    site.columns.append(_sub_column(site, top, rng, "年报文章"))
    site.article_path = rng.choice(["/OpennessAnnualReport/show/{id}.html", "/Xxgknb/show/{id}.html"])
    own = [e for e in entries if e.kind == "report" and e.agency_kind != "other"]
    mine = {id(e) for e in own}
    for e in entries:
        e.column = 1 if id(e) in mine else 0
    branches = {a: f"{rng.getrandbits(96):024x}" for a in dict.fromkeys(e.agency for e in own)}
    path = rng.choice(["/OpennessAnnualReport/", "/opennessAnnualReport/index.html"])
    site.list_footer = _links([(f"{path}?branch_id={b}", a) for a, b in branches.items()])

    def serve(method: str, query: str, body: bytes) -> Response:
        branch = parse_qs(query).get("branch_id", [""])[0]
        agency = next((a for a, b in branches.items() if b == branch), None)
        found = sorted((e for e in own if e.agency == agency), key=lambda e: e.published, reverse=True)
        rows = "\n".join(list_item(root_href(site, e.url), e) for e in found) or "<li>暂无数据</li>"
        main = f'<div class="list-title">{html.escape(agency or "")}</div><ul class="list">{rows}</ul>'
        return _answer(site, document(site, "政府信息公开年报", main))

    return lambda: world.add_handler(site.host, path, serve)


def _answer(site: SiteConfig, markup: str) -> Response:
    body, ctype = encode(site, markup)
    return 200, {"Content-Type": ctype}, body


LAYOUT_BUILDERS = {"single": _single, "year_columns": _year_columns, "agency_columns": _agency_columns,
                   "year_filter": _year_filter, "annual_module": _annual_module, "openness": _openness}
