"""`build_hard_world()`: one county site for each hard real-world kind, with planted ground truth.

Opt-in and separate from `build_world()`, whose sites must not change.  Kinds (SimSite.platform):
gkmlpt (Guangdong JSON API), spa (list rendered by JS), antibot_jsl (加速乐 521), antibot_ruishu (瑞数 412),
antibot_blocked (瑞数 that never lets anyone through: nothing planted), html_encoding (GB18030 body,
header says iso-8859-1), html_downloads (download.jsp / other file hosts), html_discovery (no
report_lists), html_traps (endless pager, mirror, internal addresses, oversize file), html_robots.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from . import antibot, discovery, downloads, gkmlpt, html_portal, plan, spa, traps
from .files import FileFactory
from .pages import Column, SiteConfig
from .plan import Entry
from .texts import Agency
from .world import SimSite, World, _sim_site

# platform, id, county, province, prefecture, host
HARD_SITES = [
    ("gkmlpt", "jiaoling", "蕉岭县", "广东省", "梅州市", "www.jiaoling.gov.cn"),
    ("spa", "xiushui", "修水县", "江西省", "九江市", "www.xiushui.gov.cn"),
    ("antibot_jsl", "dancheng", "郸城县", "河南省", "周口市", "www.dancheng.gov.cn"),
    ("antibot_ruishu", "wenshang", "汶上县", "山东省", "济宁市", "www.wenshang.gov.cn"),
    ("antibot_blocked", "sishui", "泗水县", "山东省", "济宁市", "www.sishui.gov.cn"),
    ("html_encoding", "changsha", "长沙县", "湖南省", "长沙市", "www.csx.gov.cn"),
    ("html_downloads", "anyuan", "安远县", "江西省", "赣州市", "www.ay.gov.cn"),
    ("html_discovery", "huoshan", "霍山县", "安徽省", "六安市", "www.huoshan.gov.cn"),
    ("html_traps", "laiyuan", "涞源县", "河北省", "保定市", "www.laiyuan.gov.cn"),
    ("html_robots", "songyang", "松阳县", "浙江省", "丽水市", "www.songyang.gov.cn"),
]
PROVINCIAL_FILE_HOST = "files.jiangxi.gov.cn"
LIST_PATH = "/xxgk/zfxxgknb/"
# A real street of 长沙县 whose first character is outside GBK: only GB18030 (or UTF-8) can carry it.
GB18030_TOWNSHIP = Agency("㮾梨街道办事处", "㮾梨街道", "township")


def _config(platform: str, sid: str, name: str, province: str, prefecture: str, host: str) -> SiteConfig:
    site = SiteConfig(sid, name, province, prefecture, host, platform, per_page=10)
    site.columns = [Column(site.url(f"{LIST_PATH}index.html"), LIST_PATH)]
    return site


def _plain(site: SiteConfig, entries: list[Entry], world: World, files: FileFactory, rng: random.Random) -> None:
    html_portal.build(site, entries, world, files, rng)


def _gkmlpt(site: SiteConfig, entries: list[Entry], world: World, files: FileFactory, rng: random.Random) -> None:
    site.columns = [Column(site.url("/gkmlpt/index"), "/gkmlpt/", "政府信息公开目录")]  # the nav links the shell
    gkmlpt.build(site, entries, world, files, rng)


def _jsl(site: SiteConfig, entries: list[Entry], world: World, files: FileFactory, rng: random.Random) -> None:
    html_portal.build(site, entries, world, files, rng)
    world.add_gate(site.host, antibot.jsl_gate(site.host, site.id))


def _ruishu(site: SiteConfig, entries: list[Entry], world: World, files: FileFactory, rng: random.Random) -> None:
    html_portal.build(site, entries, world, files, rng)
    world.add_gate(site.host, antibot.ruishu_gate(site.host, site.id))


def _encoding(site: SiteConfig, entries: list[Entry], world: World, files: FileFactory, rng: random.Random) -> None:
    site.encoding, site.meta, site.header_charset = "gb18030", "http-equiv", "iso-8859-1"
    extra = plan._report(site.name, site.host, GB18030_TOWNSHIP, 2023, rng)
    extra.list_text = extra.title
    entries.append(extra)
    html_portal.build(site, entries, world, files, rng)


def _downloads(site: SiteConfig, entries: list[Entry], world: World, files: FileFactory, rng: random.Random) -> None:
    oss = "oss." + site.host.removeprefix("www.")
    html_portal.build(site, entries, world, files, rng,
                      place=downloads.placer(site, PROVINCIAL_FILE_HOST, oss, rng))
    site.file_host = PROVINCIAL_FILE_HOST


def _traps(site: SiteConfig, entries: list[Entry], world: World, files: FileFactory, rng: random.Random) -> None:
    report, mirror = traps.arm(site, entries, world, rng)
    html_portal.build(site, entries, world, files, rng)
    traps.serve_mirror(site, report, mirror, world)


def _robots(site: SiteConfig, entries: list[Entry], world: World, files: FileFactory, rng: random.Random) -> None:
    traps.robots(site, entries, world, rng)
    html_portal.build(site, entries, world, files, rng)


Builder = Callable[[SiteConfig, list[Entry], World, FileFactory, random.Random], None]
BUILDERS: dict[str, Builder] = {
    "gkmlpt": _gkmlpt, "spa": spa.build, "antibot_jsl": _jsl, "antibot_ruishu": _ruishu,
    "html_encoding": _encoding, "html_downloads": _downloads, "html_discovery": discovery.build,
    "html_traps": _traps, "html_robots": _robots,
}
NEEDS_BROWSER = {"spa", "antibot_jsl", "antibot_ruishu", "antibot_blocked"}
CHALLENGES = {"antibot_jsl": "jsl", "antibot_ruishu": "ruishu", "antibot_blocked": "ruishu"}


def build_hard_world(seed: int = 2025) -> World:
    """The ten hard-kind sites, deterministic for a given seed (each site has its own random stream)."""
    world = World()
    files = FileFactory(real_pdf_budget=6, served=world.documents)
    for platform, sid, name, province, prefecture, host in HARD_SITES:
        rng = random.Random(f"{seed}:hard:{sid}")
        site = _config(platform, sid, name, province, prefecture, host)
        if platform == "antibot_blocked":  # a registry entry whose every answer is 412: nothing to find
            world.add_gate(host, antibot.ruishu_gate(host, sid, blocked=True))
        else:
            departments = 9 if platform == "gkmlpt" else 5  # gkmlpt: enough reports for 3 API pages
            entries = plan.plan_county(name, host, rng, departments=departments, townships=3, two_columns=False)
            BUILDERS[platform](site, entries, world, files, rng)
        sim: SimSite = _sim_site(site)
        sim.needs_browser = platform in NEEDS_BROWSER
        sim.challenge = CHALLENGES.get(platform)
        if platform == "html_discovery":
            sim.report_lists = []
        world.sites.append(sim)
    return world
