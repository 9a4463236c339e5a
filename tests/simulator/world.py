"""A deterministic simulated world of county portals that publish 政府信息公开工作年度报告.

`build_world()` makes a handful of county sites on the three platforms seen most at county level
(plain HTML, 大汉 Hanweb, TRS WCM), each with planted reports, attachments and near-miss distractors;
`build_static_world()` makes one big plain site for benchmarks; `build_hard_world()` (hard.py) the opt-in
hard kinds (gkmlpt, JS-rendered lists, anti-bot challenges, odd encodings and file hosts, traps).
`World.resolve()` answers any request from memory, so the crawler can be tested end to end with no network.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from functools import cache
from urllib.parse import urlsplit

from . import hanweb, html_portal, trs
from .files import BUNDLED, FileFactory, LazyBody, Served
from .pages import Column, SiteConfig
from .plan import YEARS, Entry, plan_county, plan_static

PLATFORMS = ("html", "hanweb", "trs")
BUILDERS = {"html": html_portal.build, "hanweb": hanweb.build, "trs": trs.build}
Response = tuple[int, dict[str, str], bytes]  # the body is a LazyBody for oversize files (see World.add_lazy)
Handler = Callable[[str, str, bytes], Response]
# A host-wide gate (anti-bot challenge): (method, url, request cookies) -> its answer, or None to let through.
Gate = Callable[[str, str, dict[str, str]], "Response | None"]
_HTML = "text/html; charset=utf-8"


@dataclass
class SimSite:
    id: str
    name: str
    province: str
    prefecture: str | None
    home: str
    platform: str
    report_lists: list[str]
    attachment_hosts: list[str]
    # What a crawler needs for this site (not registry fields; the hard world sets them):
    needs_browser: bool = False  # links only appear after JavaScript runs (SPA lists, JS challenges)
    challenge: str | None = None  # anti-bot in front of the whole host: "jsl" (加速乐, 521) | "ruishu" (瑞数, 412)


@dataclass(frozen=True)
class Planted:
    """An annual report the crawler should find; `url` is its page (or the PDF itself)."""

    url: str
    site: str
    year: int
    agency: str  # exactly as in the title: 万载县教育体育局, 仙源乡人民政府, 万载县人民政府 …
    agency_kind: str  # "county" | "department" | "township"
    title: str
    sha256: str  # of the body served at url


@dataclass(frozen=True)
class PlantedAttachment:
    url: str
    report_url: str
    sha256: str
    filename: str  # the name the site gives it (link text, or Content-Disposition for Hanweb)


@dataclass(frozen=True)
class Distractor:
    """A page that looks like a report and must NOT be archived as one (解读, 指南, 工作要点, news …)."""

    url: str
    site: str
    title: str
    kind: str


class World:
    """The simulated sites plus what was planted in them; `resolve()` serves it."""

    def __init__(self, compress: bool = False) -> None:
        self.sites: list[SimSite] = []
        self.reports: list[Planted] = []
        self.attachments: list[PlantedAttachment] = []
        self.distractors: list[Distractor] = []
        self.urls: list[str] = []  # every distinct GET-able page/file (aliases left out)
        self.hosts: set[str] = set()
        self.oversize: list[str] = []  # huge files (LazyBody) a crawler must not download whole
        self.documents: dict[str, Served] = {}  # what each report page and file is (see expected_readings)
        self._compress = compress  # the benchmark world keeps its pages zlib-compressed in memory
        self._routes: dict[str, tuple[dict[str, str], bytes]] = {}
        self._handlers: dict[tuple[str, str], Handler] = {}
        self._gates: dict[str, Gate] = {}

    # -- building (used by the platform modules) --
    def add(self, url: str, body: bytes, content_type: str, headers: dict[str, str] | None = None,
            listed: bool = True) -> str:
        """Serve `body` at `url` (GET/HEAD); returns its sha256."""
        host = urlsplit(url).hostname or ""
        self.hosts.add(host)
        stored = zlib.compress(body, 1) if self._compress else body
        sha256 = hashlib.sha256(body).hexdigest()
        # Validators as a static web server (nginx) sends them, so recrawls can ask "changed since?".
        validators = {"ETag": f'"{sha256[:16]}"', "Last-Modified": formatdate(self._clock(), usegmt=True)}
        self._routes[url] = ({"Content-Type": content_type, **validators, **(headers or {})}, stored)
        if listed:
            self.urls.append(url)
        return sha256

    def add_handler(self, host: str, path: str, handler: Handler) -> None:
        """Dynamic endpoint (Hanweb dataproxy/downfile) for requests with a query not served verbatim."""
        self.hosts.add(host)
        self._handlers[(host, path)] = handler

    def add_gate(self, host: str, gate: Gate) -> None:
        """Put an anti-bot challenge in front of every request to `host` (pages, files, robots.txt)."""
        self.hosts.add(host)
        self._gates[host] = gate

    def add_lazy(self, url: str, length: int, content_type: str) -> None:
        """Serve a `length`-byte file made only when requested (streamed by the server); listed in `oversize`."""
        self.hosts.add(urlsplit(url).hostname or "")
        self._routes[url] = ({"Content-Type": content_type}, LazyBody(length, url))  # type: ignore[assignment]
        self.oversize.append(url)

    def revise(self, url: str, extra: bytes = b"\n<!-- revised -->\n") -> Callable[[], None]:
        """A county replaces a published page or file (a correction): new bytes at the same URL.

        Returns what puts the original back (worlds are shared by a test module's tests)."""
        original = headers, stored = self._routes[url]
        body = (zlib.decompress(stored) if self._compress else stored) + extra
        kept = {k: v for k, v in headers.items() if k not in ("Content-Type", "ETag", "Last-Modified")}
        self.add(url, body, headers["Content-Type"], kept, listed=False)
        return lambda: self._routes.__setitem__(url, original)

    def remove(self, url: str) -> Callable[[], None]:
        """The page is taken down (404 from now on); returns what puts it back."""
        original = self._routes.pop(url)
        return lambda: self._routes.__setitem__(url, original)

    def plant(self, site: str, e: Entry, sha256: str) -> None:
        if e.kind == "report":
            self.reports.append(Planted(e.url, site, e.year, e.agency, e.agency_kind, e.title, sha256))
            if not e.direct_pdf and e.report is not None:  # a direct PDF's body was recorded by the FileFactory
                self.documents[e.url] = Served("html", e.report)
        else:
            self.distractors.append(Distractor(e.url, site, e.title, e.kind))

    def plant_attachment(self, url: str, report_url: str, sha256: str, filename: str) -> None:
        self.attachments.append(PlantedAttachment(url, report_url, sha256, filename))

    # -- serving --
    def resolve(self, method: str, url: str, body: bytes = b"", headers: Mapping[str, str] | None = None) -> Response:
        """(status, headers, body) for a request; 404 for anything outside the world.

        `headers` are the request's; only `Cookie` matters, to the anti-bot gates.
        """
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if parts.port not in (None, 80):
            host = f"{host}:{parts.port}"
        if host not in self.hosts:
            msg = f"simulator: {host or url!r} is not a host of the simulated world (no real network access)\n"
            return 404, {"Content-Type": "text/plain; charset=utf-8"}, msg.encode()
        gate = self._gates.get(host)
        if gate is not None:
            challenge = gate(method.upper(), url, parse_cookies((headers or {}).get("Cookie") or ""))
            if challenge is not None:
                return challenge
        path = parts.path or "/"
        base = f"http://{host}{path}"
        route = self._routes.get(f"{base}?{parts.query}" if parts.query else base)
        if route is None and (host, path) in self._handlers:
            return self._handlers[(host, path)](method.upper(), parts.query, body)
        route = route or self._routes.get(base)
        if route is None:
            return 404, {"Content-Type": _HTML}, b"<html><body><h1>404 Not Found</h1></body></html>"
        if method.upper() not in ("GET", "HEAD"):
            return 405, {"Content-Type": _HTML, "Allow": "GET, HEAD"}, b"<html><body>405</body></html>"
        answer, stored = route
        if method.upper() == "GET" and _not_modified(answer, headers or {}):
            return 304, {k: v for k, v in answer.items() if k in ("ETag", "Last-Modified")}, b""
        if isinstance(stored, LazyBody):
            return 200, dict(answer), stored  # type: ignore[return-value]
        return 200, dict(answer), zlib.decompress(stored) if self._compress else stored

    def _clock(self) -> float:
        """Last-Modified times: whole seconds, and later for every revision, as on a real server."""
        self._last_modified = max(getattr(self, "_last_modified", 0) + 1, int(time.time()))
        return self._last_modified

    def expected_readings(self) -> dict[str, dict]:
        """For every report page and attachment whose numbers the simulator knows, what a parser should read:
        format, template, year, agency, title, cells (every key of the template), failing (the checks the
        printed cells fail) and planted (the cell printed off). Real PDFs and stand-ins are left out."""
        return {url: expected for url, served in self.documents.items() if (expected := served.expected())}

    def registry_yaml(self) -> str:
        """The crawler's site registry for this world (same shape as the project's sites YAML)."""
        out = ["sites:"]
        for s in self.sites:
            out.append(f"  - id: {_scalar(s.id)}")
            for key in ("name", "province", "prefecture", "home"):  # the registry rejects unknown fields
                out.append(f"    {key}: {_scalar(getattr(s, key))}")
            out.append(f"    report_lists: [{', '.join(_scalar(u) for u in s.report_lists)}]")
            out.append(f"    attachment_hosts: [{', '.join(_scalar(h) for h in s.attachment_hosts)}]")
        return "\n".join(out) + "\n"

    def summary(self) -> str:
        return (f"{len(self.sites)} sites, {len(self.reports)} reports, {len(self.attachments)} attachments, "
                f"{len(self.distractors)} distractors, {len(self.urls)} urls")


def parse_cookies(header: str) -> dict[str, str]:
    """`a=1; b=2` -> {"a": "1", "b": "2"}; lenient like servers are (SimpleCookie rejects |, used by 加速乐)."""
    pairs = (part.strip().partition("=") for part in header.split(";"))
    return {name.strip(): value.strip() for name, eq, value in pairs if eq and name.strip()}


def _scalar(value: object) -> str:
    """A YAML plain scalar when unambiguous (also inside a flow sequence), else a JSON (= YAML) string."""
    if value is None:
        return "null"
    s = str(value)
    plain = re.fullmatch(r"[^\s\-?:,\[\]{}#&*!|>'\"%@`][^,\[\]{}#]*", s) and ": " not in s and s[-1] not in " :"
    ambiguous = s.lower() in {"yes", "no", "true", "false", "on", "off", "null", "~"} or re.fullmatch(r"[\d.+-].*", s)
    return s if plain and not ambiguous else json.dumps(s, ensure_ascii=False)


@cache
def _counties() -> tuple[dict, ...]:
    lines = (BUNDLED / "counties.jsonl").read_text(encoding="utf-8").splitlines()
    return tuple(json.loads(line) for line in lines if line.strip())


def _site_config(i: int, row: dict, rng: random.Random) -> SiteConfig:
    """Site i: platforms round-robin; every other round flips GBK, pager style, columns and file host."""
    platform, odd = PLATFORMS[i % 3], (i // 3) % 2 == 1
    host = urlsplit(row["home"]).hostname
    labels = host.split(".")
    site = SiteConfig(labels[1] if labels[0] == "www" else labels[0], row["county"], row["province"],
                      row["prefecture"], host, platform)
    site.encoding = "gbk" if (platform == "trs" and not odd) or (platform == "html" and odd) else "utf-8"
    site.meta = "charset" if platform == "trs" else "http-equiv"
    if platform == "hanweb":
        site.webid = rng.randint(1, 300)
        col = rng.randint(1000, 9999)
        cols = [(col, "政府信息公开年报"), (col + rng.randint(1, 30), "乡镇（街道）年报")]
        site.columns = [Column(site.url(f"/col/col{n}/index.html"), f"/col/col{n}/", name, n,
                               str(rng.randint(100000, 999999))) for n, name in cols[: 1 + odd]]
        site.file_host = None if odd else "file." + host.removeprefix("www.")
        site.disposition = "rfc5987" if odd else "gbk"
    else:
        slugs = ["/xxgk/zfxxgknb/", "/zwgk/xxgknb/", "/xxgk/zfxxgkndbg/"] if platform == "html" else \
            ["/xxgk/gknb/", "/zfxxgk/zfxxgknb/", "/xxgk/xxgknb/"]
        base = slugs[(i // 3) % 3]
        site.pager = "query" if odd else "index_n"
        site.per_page = 10 if odd else 15
        site.columns = [Column(site.url(f"{b}index.html"), b, name)
                        for b, name in [(base, "政府信息公开年报"), (f"{base}xzjd/", "乡镇（街道）年报")][: 1 + odd]]
    return site


def _sim_site(site: SiteConfig) -> SimSite:
    return SimSite(site.id, site.name, site.province, site.prefecture, site.home, site.platform,
                   [c.list_url for c in site.columns], [site.file_host] if site.file_host else [])


def build_world(counties: int = 6, seed: int = 2024, newest_year: int | None = None) -> World:
    """`counties` county sites (the five seed-report counties first), deterministic for a given seed.

    Reports cover 2019–2024, what the tests count on; `newest_year` moves those six years to end there (the
    demo ends them last year, so its dashboard is not all "missing"); without it the world is as it always was."""
    rows = list(_counties())
    if not 1 <= counties <= len(rows):
        raise ValueError(f"counties must be 1..{len(rows)}")
    years = YEARS if newest_year is None else range(newest_year - len(YEARS) + 1, newest_year + 1)
    rest = rows[5:]
    random.Random(seed).shuffle(rest)
    world = World(compress=counties > 20)
    files = FileFactory(real_pdf_budget=12, served=world.documents)
    for i, row in enumerate((rows[:5] + rest)[:counties]):
        rng = random.Random(f"{seed}:{i}:{row['county']}")  # per site: adding counties keeps earlier ones
        site = _site_config(i, row, rng)
        big = site.platform == "hanweb"  # > 45 records so the dataproxy must be used
        entries = plan_county(site.name, site.host, rng, departments=12 if big else 5, townships=5 if big else 4,
                              two_columns=len(site.columns) > 1, min_main=52 if big else 0, years=years)
        BUILDERS[site.platform](site, entries, world, files, rng)
        world.sites.append(_sim_site(site))
    return world


def build_static_world(pages: int = 2000, seed: int = 7) -> World:
    """One plain HTML site with at least `pages` fetchable URLs (list pages, ~15–35 KB reports, files: six
    distinct ones of each kind, served again under each tag)."""
    rng = random.Random(seed)
    site = SiteConfig("wanzai", "万载县", "江西省", "宜春市", "www.wanzai.gov.cn", "html", per_page=20)
    site.columns = [Column(site.url("/xxgk/zfxxgknb/index.html"), "/xxgk/zfxxgknb/")]

    def fetchable(n: int) -> int:  # reports + every third's file + distractors + list pages + home
        d = max(1, n // 25)
        return n + n // 3 + d + math.ceil((n + d) / site.per_page) + 1

    reports = max(1, int(pages * 0.6))
    while fetchable(reports) < pages:
        reports += 1
    world = World(compress=True)
    html_portal.build(site, plan_static(site.name, site.host, reports, rng), world,
                      FileFactory(0, served=world.documents, distinct=6), rng)
    world.sites.append(_sim_site(site))
    return world


def build_hard_world(seed: int = 2025) -> World:
    """The opt-in world of harder real-world kinds (gkmlpt, SPA, 加速乐, 瑞数, encodings, traps …); see hard.py."""
    from .hard import build_hard_world as build

    return build(seed)


def _not_modified(answer: Mapping[str, str], request: Mapping[str, str]) -> bool:
    """RFC 9110 §13.1: If-None-Match decides when sent; otherwise If-Modified-Since."""
    if request.get("If-None-Match"):
        return answer.get("ETag") in {tag.strip() for tag in request["If-None-Match"].split(",")}
    since, modified = request.get("If-Modified-Since"), answer.get("Last-Modified")
    if not since or not modified:
        return False
    try:
        return parsedate_to_datetime(modified) <= parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False
