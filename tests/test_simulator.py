"""Self-test of the portal simulator: served through its proxy, the world must look like the real thing."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import time
import urllib.error
import urllib.request
from urllib.parse import unquote, urlencode, urljoin, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crawler import doctext, judge
from tests.simulator import (
    PlantedAttachment,
    SimulatorServer,
    build_hard_world,
    build_static_world,
    build_world,
    documents,
    legacy,
    pdfs,
    report_html,
    statistics,
)
from tests.simulator import files as sim_files
from tests.simulator.generated import build_generated_world
from tests.simulator.rendered import rendered


@pytest.fixture(scope="module")
def world():
    return build_world()


@pytest.fixture(scope="module")
def server(world):
    with SimulatorServer(world) as srv:
        yield srv


@pytest.fixture(scope="module")
def opener(server):
    return urllib.request.build_opener(urllib.request.ProxyHandler({"http": server.proxy_url}))


def fetch(opener, url: str, data: bytes | None = None, method: str | None = None, headers: dict | None = None):
    """(status, headers, body) through the proxy, also for error statuses."""
    try:
        with opener.open(urllib.request.Request(url, data=data, method=method, headers=headers or {}),
                         timeout=10) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read()


def site(world, platform: str, **attrs):
    return next(s for s in world.sites if s.platform == platform and all(getattr(s, k) == v for k, v in attrs.items()))


def test_world_shape(world):
    assert [s.platform for s in world.sites] == ["html", "hanweb", "trs"] * 2
    assert all(s.home.startswith("http://") and ".gov.cn/" in s.home for s in world.sites)
    kinds = {r.agency_kind for r in world.reports}
    assert kinds == {"county", "department", "township"}
    assert {r.year for r in world.reports} == set(range(2019, 2025))
    assert not {r.url for r in world.reports} & {d.url for d in world.distractors}
    assert all(r.agency in r.title for r in world.reports)
    assert any(r.title.endswith("（图片版）") for r in world.reports)
    assert any(r.url.endswith(".pdf") or "downfile" in r.url for r in world.reports)
    assert {"guide", "key_points", "work_report", "notice", "interpretation", "infographic", "news"} <= {
        d.kind for d in world.distractors}


def test_deterministic(world):
    again = build_world()
    assert again.reports == world.reports and again.attachments == world.attachments
    assert again.registry_yaml() == world.registry_yaml()


def test_html_list_has_pager(world, opener):
    s = site(world, "html", id="xunwu")
    status, headers, body = fetch(opener, s.report_lists[0])
    text = body.decode("utf-8")
    assert status == 200 and "下一页" in text and "尾页" in text and 'href="index_2.html"' in text
    assert fetch(opener, s.report_lists[0].replace("index.html", "index_2.html"))[0] == 200


def test_hanweb_dataproxy_gives_later_records(world, opener):
    s = site(world, "hanweb", id="wanzai")
    page = fetch(opener, s.report_lists[0])[2].decode("utf-8")
    assert page.count("<record>") == 45 and "<datastore>" in page
    unitid, param = re.search(r"var param_(\w+)=\{(.*?)\};", page).groups()
    form = dict(re.findall(r"(\w+):'?([^,']*)'?", param))
    assert form["unitid"] == unitid
    proxy = s.home + "module/web/jpage/dataproxy.jsp?startrecord=46&endrecord=90&perpage=15"
    status, headers, body = fetch(opener, proxy, data=urlencode(form).encode())
    xml = body.decode("utf-8")
    total = int(re.search(r"<totalrecord>(\d+)</totalrecord>", xml).group(1))
    assert status == 200 and total > 45
    later = re.findall(r'href="([^"]+)"', xml.split("<recordset>")[1])
    assert len(later) == total - 45 + 1  # the record before the group repeats
    assert later[0] in page and not set(later[1:]) & set(re.findall(r'href="([^"]+)"', page))
    assert "<record>" not in fetch(opener, proxy)[2].decode()  # GET gives nothing


def test_trs_pager_only_in_script(world, opener):
    s = site(world, "trs", id="yiyuan")
    text = fetch(opener, s.report_lists[0])[2].decode("gbk")
    n = int(re.search(r'createPageHTML\((\d+), 0, "index", "html"\)', text).group(1))
    assert n >= 2 and 'href="index_1.html"' not in text
    assert fetch(opener, s.report_lists[0].replace("index.html", f"index_{n - 1}.html"))[0] == 200
    assert re.search(r'href="\./\d{6}/t\d{8}_\d+\.html"', text)


def test_gbk_page_declares_charset_only_in_meta(world, opener):
    s = site(world, "html", id="huangzhong")
    status, headers, body = fetch(opener, s.report_lists[0])
    assert "charset" not in headers["Content-Type"]
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")
    text = body.decode("gbk")
    assert 'charset=gb2312' in text and s.name in text


def test_downfile_name_only_in_content_disposition(world, opener):
    hanweb_hosts = {s.home.split("/")[2] for s in world.sites if s.platform == "hanweb"}
    hanweb_hosts |= {h for s in world.sites for h in s.attachment_hosts}
    styles = set()
    for att in (a for a in world.attachments if a.url.split("/")[2] in hanweb_hosts):
        status, headers, body = fetch(opener, att.url)
        disposition = headers["Content-Disposition"]
        assert status == 200 and att.filename not in unquote(att.url)
        if "filename*=UTF-8''" in disposition:
            styles.add("rfc5987")
            assert unquote(disposition.split("filename*=UTF-8''")[1]) == att.filename
        else:
            styles.add("gbk")
            assert disposition.encode("latin-1").decode("gbk") == f'attachment; filename="{att.filename}"'
    assert styles == {"rfc5987", "gbk"}
    assert any(a.url.startswith("http://file.") for a in world.attachments)


def test_planted_sha256_match_served_bytes(world, opener, server):
    for item in [*world.reports, *world.attachments]:
        status, _, body = fetch(opener, item.url)
        assert status == 200 and hashlib.sha256(body).hexdigest() == item.sha256, item.url
    assert len({a.sha256 for a in world.attachments}) == len(world.attachments)
    assert ("GET", world.reports[0].url) in server.requests


def test_head_unknown_and_host_header(world, opener, server):
    status, headers, body = fetch(opener, world.sites[0].home, method="HEAD")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) > 0
    assert fetch(opener, "http://www.example.com/")[0] == 404
    req = urllib.request.Request(server.url + "/", headers={"Host": "www.hy.gov.cn"})
    with urllib.request.urlopen(req, timeout=10) as resp:  # plain path + Host header, no proxy
        assert "海原县" in resp.read().decode("utf-8")


def test_truncated_titles(world, opener):
    s = site(world, "html", id="xunwu")
    pages = [fetch(opener, u)[2].decode() for u in [s.report_lists[0]] + [
        s.report_lists[0].replace("index.html", f"index_{k}.html") for k in (2, 3)]]
    anchors = re.findall(r"<a href=\"[^\"]+\"( title=\"[^\"]+\")? target=\"_blank\">([^<]+)</a>", "".join(pages))
    assert any(t and text.endswith("…") for t, text in anchors)
    assert any(not t and text.endswith("…") for t, text in anchors)


def test_registry_yaml(world):
    yaml = pytest.importorskip("yaml")
    sites = yaml.safe_load(world.registry_yaml())["sites"]
    assert [s["id"] for s in sites] == [s.id for s in world.sites]
    wanzai = next(s for s in sites if s["id"] == "wanzai")
    assert wanzai["attachment_hosts"] == ["file.wanzai.gov.cn"] and wanzai["home"] == "http://www.wanzai.gov.cn/"


def test_static_world_size():
    w = build_static_world(300)
    assert len(w.urls) >= 300 and len(w.sites) == 1
    sizes = [len(w.resolve("GET", r.url)[2]) for r in w.reports[:50]]
    assert min(sizes) > 8_000 and max(sizes) < 40_000
    assert 0.25 < len(w.attachments) / len(w.reports) < 0.4


def test_works_without_shared_corpus(monkeypatch, tmp_path):
    monkeypatch.setenv("NIANBAO_CORPUS", str(tmp_path / "missing"))
    sim_files.real_pdfs.cache_clear()
    try:
        w = build_world(counties=3)
        pdfs = [a.url for a in w.attachments if a.filename.endswith(".pdf")]
        assert pdfs and all(w.resolve("GET", u)[2].startswith(b"%PDF-") for u in pdfs)
        assert {w.documents[u].format for u in pdfs} == {"pdf"}  # all rendered: no real PDF to serve
    finally:
        sim_files.real_pdfs.cache_clear()



# ---- the hard world (opt-in kinds) ----

@pytest.fixture(scope="module")
def hard():
    return build_hard_world()


@pytest.fixture(scope="module")
def hard_server(hard):
    with SimulatorServer(hard) as srv:
        yield srv


@pytest.fixture(scope="module")
def hard_opener(hard_server):
    return urllib.request.build_opener(urllib.request.ProxyHandler({"http": hard_server.proxy_url}))


def fnv1a(text: str) -> str:
    """The challenge pages' hash, re-implemented from their JS (32-bit FNV-1a)."""
    h = 0x811C9DC5
    for ch in text:
        h = ((h ^ ord(ch)) * 0x01000193) % 2**32
    return format(h, "08x")


def hrefs(page: str, base: str) -> set[str]:
    return {urljoin(base, h.replace("&amp;", "&")) for h in re.findall(r'href="([^"#]+)"', page)}


def test_hard_world_shape(world, hard):
    assert [s.platform for s in hard.sites] == [
        "gkmlpt", "spa", "antibot_jsl", "antibot_ruishu", "antibot_blocked", "html_encoding", "html_downloads",
        "html_discovery", "html_traps", "html_robots"]
    assert not any(s.needs_browser or s.challenge for s in world.sites)  # the default world is unchanged
    assert {s.platform for s in hard.sites if s.needs_browser} == {
        "spa", "antibot_jsl", "antibot_ruishu", "antibot_blocked"}
    assert {s.platform: s.challenge for s in hard.sites if s.challenge} == {
        "antibot_jsl": "jsl", "antibot_ruishu": "ruishu", "antibot_blocked": "ruishu"}
    blocked = site(hard, "antibot_blocked")
    assert {r.site for r in hard.reports} == {s.id for s in hard.sites} - {blocked.id}
    assert not any(d.site == blocked.id for d in hard.distractors)
    again = build_hard_world()
    assert (again.reports, again.attachments, again.distractors) == (hard.reports, hard.attachments, hard.distractors)
    assert again.registry_yaml() == hard.registry_yaml() and again.oversize == hard.oversize
    assert build_hard_world(seed=1).reports != hard.reports
    yaml = pytest.importorskip("yaml")
    sites = yaml.safe_load(hard.registry_yaml())["sites"]
    assert all(set(s) == {"id", "name", "province", "prefecture", "home", "report_lists", "attachment_hosts"}
               for s in sites)
    assert next(s for s in sites if s["id"] == site(hard, "html_discovery").id)["report_lists"] == []
    assert "report_lists: []" in hard.registry_yaml()


def test_gkmlpt_reports_only_through_the_api(hard, hard_opener):
    s = site(hard, "gkmlpt")
    page = fetch(hard_opener, s.report_lists[0])[2].decode("utf-8")
    planted = {r.url for r in hard.reports if r.site == s.id}
    assert not hrefs(page, s.report_lists[0]) & planted and "post_" not in page
    sid = re.search(r"window\._CONFIG=\{SID:'([^']+)'", page).group(1)
    tree = json.loads(re.search(r"TREE:(\[.*?\]),SITE_NAME", page).group(1))
    classify = next(n["id"] for n in tree if n["name"] in ("政府信息公开年报", "年度报告"))
    api = f"{s.home}gkmlpt/api/all/{classify}"
    found, attachments, pages = set(), set(), 0
    while True:
        status, headers, body = fetch(hard_opener, f"{api}?page={pages + 1}&sid={sid}")
        if status == 404:
            break
        data = json.loads(body)
        assert status == 200 and headers["Content-Type"].startswith("application/json")
        assert data["classify"]["post_count"] == len(planted) and len(data["articles"]) <= 20
        for a in data["articles"]:
            assert {"id", "title", "identifier", "publisher", "url", "post_url", "attachment"} <= set(a)
            found.add(a["url"])
            attachments |= {(f["url"], f["name"]) for f in a["attachment"]}
        pages += 1
    assert found == planted and 2 <= pages <= 3
    assert attachments == {(a.url, a.filename) for a in hard.attachments if a.report_url in planted} != set()
    empty = json.loads(fetch(hard_opener, f"{api}?page=1&sid=wrong")[2])
    assert empty["articles"] == [] and empty["classify"]["post_count"] == 0
    report = next(r for r in hard.reports if r.site == s.id)
    status, _, body = fetch(hard_opener, report.url)
    assert status == 200 and hashlib.sha256(body).hexdigest() == report.sha256


def test_spa_list_has_no_links_without_js(hard, hard_opener):
    s = site(hard, "spa")
    page = fetch(hard_opener, s.report_lists[0])[2].decode("utf-8")
    planted = {r.url for r in hard.reports if r.site == s.id}
    assert '<ul id="list" class="list"></ul>' in page and "fetch(" in page
    assert not hrefs(page, s.report_lists[0]) & planted
    found, k = set(), 1
    while (answer := fetch(hard_opener, f"{s.home}api/list.json?page={k}"))[0] == 200:
        data = json.loads(answer[2])
        found |= {urljoin(s.home, it["url"]) for it in data["items"]}
        k += 1
    assert k - 1 == data["pages"] >= 2 and planted <= found
    assert fetch(hard_opener, s.report_lists[0] + "?page=2")[2].decode() == page  # the script reads ?page=


def jsl_unlock(opener, url: str) -> tuple[str, bytes]:
    """Pass 加速乐 the way its scripts do; returns the final cookie header and round-2 page."""
    status, headers, body = fetch(opener, url)
    assert status == 521 and "__jsluid_h=" in headers["Set-Cookie"]
    spelled = "".join(re.findall(r"\('(.)'\)", body.decode()))
    assert spelled.startswith("__jsl_clearance_s=")
    jsluid = headers["Set-Cookie"].split(";")[0]
    preliminary = f"{jsluid}; {spelled.split(';')[0]}"
    status, _, round2 = fetch(opener, url, headers={"Cookie": preliminary})
    assert status == 521
    p = json.loads(re.search(r"go\((\{.*?\})\)</script>", round2.decode()).group(1))
    value = next(v for a in p["chars"] for b in p["chars"] if fnv1a(v := p["bts"][0] + a + b + p["bts"][1]) == p["ct"])
    return f"{jsluid}; {p['tn']}={value}", round2


def test_jsl_challenge(hard, hard_opener):
    s = site(hard, "antibot_jsl")
    for url in (s.home, s.report_lists[0], s.home + "robots.txt"):
        assert fetch(hard_opener, url)[0] == 521
    cookie, _ = jsl_unlock(hard_opener, s.report_lists[0])
    status, _, page = fetch(hard_opener, s.report_lists[0], headers={"Cookie": cookie})
    assert status == 200 and s.name in page.decode()
    for item in [next(r for r in hard.reports if r.site == s.id),
                 next(a for a in hard.attachments if a.url.startswith(s.home))]:
        status, _, body = fetch(hard_opener, item.url, headers={"Cookie": cookie})  # cookie is valid host-wide
        assert status == 200 and hashlib.sha256(body).hexdigest() == item.sha256
    wrong = cookie[:-1] + ("A" if cookie[-1] != "A" else "B")
    assert fetch(hard_opener, s.home, headers={"Cookie": wrong})[0] == 521


def ruishu_cookies(page: str) -> tuple[str, dict[str, str]]:
    nsd = re.search(r"\$_ts\.nsd=(\d+);", page).group(1)
    cd = re.search(r'\$_ts\.cd="([^"]+)";', page).group(1)
    meta_id = re.search(r"getElementById\('([^']+)'\)", page).group(1)
    meta = re.search(rf'<meta id="{meta_id}" content="([^"]*)"', page).group(1)
    s_name, t_name = re.findall(r"document\.cookie='(\w+)='", page)
    assert s_name.endswith("S") and t_name.endswith("T") and "setTimeout(" in page
    s_value = cd[::-1] + fnv1a(cd + nsd)
    return "; ".join(f"{k}={v}" for k, v in {s_name: s_value, t_name: "0" + fnv1a(s_value + meta) + fnv1a(meta + nsd)}
                     .items()), {s_name: s_value}


def test_ruishu_challenge_and_blocked_site(hard, hard_opener):
    s = site(hard, "antibot_ruishu")
    status, headers, body = fetch(hard_opener, s.report_lists[0])
    assert status == 412 and "$_ts" in body.decode() and "Set-Cookie" in headers
    cookie, only_s = ruishu_cookies(body.decode())
    assert fetch(hard_opener, s.home, headers={"Cookie": "; ".join(f"{k}={v}" for k, v in only_s.items())})[0] == 412
    report = next(r for r in hard.reports if r.site == s.id)
    status, _, page = fetch(hard_opener, report.url, headers={"Cookie": cookie})
    assert status == 200 and hashlib.sha256(page).hexdigest() == report.sha256
    blocked = site(hard, "antibot_blocked")
    status, _, body = fetch(hard_opener, blocked.report_lists[0])
    assert status == 412
    cookie, _ = ruishu_cookies(body.decode())
    assert fetch(hard_opener, blocked.report_lists[0], headers={"Cookie": cookie})[0] == 412


def test_hard_planted_sha256_match_served_bytes(hard, hard_opener):
    cookies = {}
    for s in hard.sites:
        if s.challenge == "jsl":
            cookies[s.home] = jsl_unlock(hard_opener, s.home)[0]
        elif s.challenge == "ruishu" and s.platform != "antibot_blocked":
            cookies[s.home] = ruishu_cookies(fetch(hard_opener, s.home)[2].decode())[0]
    homes = {s.id: s.home for s in hard.sites}
    report_site = {r.url: r.site for r in hard.reports}
    for item in [*hard.reports, *hard.attachments]:
        cookie = cookies.get(homes[report_site[getattr(item, "report_url", item.url)]])
        status, _, body = fetch(hard_opener, item.url, headers={"Cookie": cookie} if cookie else None)
        assert status == 200 and hashlib.sha256(body).hexdigest() == item.sha256, item.url
    assert len({a.sha256 for a in hard.attachments}) == len(hard.attachments)


def test_gb18030_body_with_wrong_header_charset(hard, hard_opener):
    s = site(hard, "html_encoding")
    report = next(r for r in hard.reports if r.site == s.id and r.agency.startswith("㮾梨街道"))
    for url in (s.report_lists[0], report.url):
        status, headers, body = fetch(hard_opener, url)
        assert status == 200 and headers["Content-Type"] == "text/html; charset=iso-8859-1"
        text = body.decode("gb18030")
        assert '<meta http-equiv="Content-Type" content="text/html; charset=gb18030">' in text and s.name in text
    assert "㮾梨街道" in text and "&#" not in text  # a character outside GBK, encoded as GB18030 bytes
    with pytest.raises(UnicodeDecodeError):
        body.decode("gbk")


def test_download_endpoint_and_other_file_hosts(hard, hard_opener):
    s = site(hard, "html_downloads")
    files = [a for a in hard.attachments if any(r.url == a.report_url and r.site == s.id for r in hard.reports)]
    files += [PlantedAttachment(r.url, r.url, r.sha256, r.title + ".pdf") for r in hard.reports
              if r.site == s.id and not r.url.endswith(".shtml")]  # reports linked as a bare PDF
    hosts = {urlsplit(f.url).hostname for f in files}
    assert hosts == {"www.ay.gov.cn", "files.jiangxi.gov.cn", "oss.ay.gov.cn"}
    assert s.attachment_hosts == ["files.jiangxi.gov.cn"]
    styles = set()
    for f in files:
        status, headers, body = fetch(hard_opener, f.url)
        assert status == 200 and hashlib.sha256(body).hexdigest() == f.sha256
        if "/download.jsp?id=" not in f.url:
            continue
        disposition = headers["Content-Disposition"]
        if "filename*=UTF-8''" in disposition:
            styles.add("rfc5987")
            assert unquote(disposition.split("filename*=UTF-8''")[1]) == f.filename
        else:
            styles.add("gbk")
            assert disposition.encode("latin-1").decode("gbk") == f'attachment; filename="{f.filename}"'
    assert styles == {"rfc5987", "gbk"}
    page_of = next(a for a in hard.attachments if "/download.jsp" in a.url).report_url
    assert ">下载附件</a>" in fetch(hard_opener, page_of)[2].decode()


def test_discovery_from_home(hard, hard_opener):
    s = site(hard, "html_discovery")
    assert s.report_lists == []
    home = fetch(hard_opener, s.home)[2].decode()
    assert "/zwgk/index.html" in home and "xxgknb" not in home
    zwgk = fetch(hard_opener, s.home + "zwgk/index.html")[2].decode()
    column = re.search(r'<a href="(/zwgk/xxgknb/index\.html)">(政府信息公开年报|信息公开年报|年度报告)</a>', zwgk)
    assert column and '<a href="/zwgk/zfgzbg/index.html">政府工作报告</a>' in zwgk
    top = urljoin(s.home, column.group(1))
    subs = sorted(u for u in hrefs(fetch(hard_opener, top)[2].decode(), top) if u.startswith(top[:-10]) and u != top)
    assert any("/2023nb/" in u for u in subs) and any("/bmnb/" in u for u in subs) and any("/xzjd/" in u for u in subs)
    seen, todo = set(), list(subs)
    while todo:  # every list page of every sub-column, following the pagers
        url = todo.pop()
        if url in seen:
            continue
        seen.add(url)
        page = fetch(hard_opener, url)[2].decode()
        todo += [u for u in hrefs(page, url) if u.split("?")[0].rsplit("/", 1)[0] == url.split("?")[0].rsplit("/", 1)[0]
                 and re.search(r"index(_\d+)?\.html$", u)]
        seen |= hrefs(page, url)
    assert {r.url for r in hard.reports if r.site == s.id} <= seen
    trap = fetch(hard_opener, s.home + "zwgk/zfgzbg/index.html")[2].decode()
    work = [d for d in hard.distractors if d.site == s.id and d.kind == "work_report"]
    assert work and all(urlsplit(d.url).path in trap for d in work)


def test_traps(hard, hard_opener):
    s = site(hard, "html_traps")
    page = fetch(hard_opener, s.report_lists[0])[2].decode()
    assert 'href="/news/list.html?page=1"' in page
    deep = fetch(hard_opener, s.home + "news/list.html?page=4321")[2].decode()
    assert 'href="/news/list.html?page=4322"' in deep
    mirror = next(d for d in hard.distractors if d.kind == "mirror")
    assert mirror.site == s.id and urlsplit(mirror.url).hostname == "www.mirror-example.com" and mirror.url in page
    assert not urlsplit(mirror.url).hostname.endswith(".gov.cn")
    [big] = hard.oversize
    host_page = next(r for r in hard.reports if r.site == s.id and big in fetch(hard_opener, r.url)[2].decode())
    text = fetch(hard_opener, host_page.url)[2].decode()
    assert "http://127.0.0.1:8080/admin/" in text and "http://169.254.169.254/latest/meta-data/" in text
    status, headers, body = fetch(hard_opener, big, method="HEAD")
    assert status == 200 and int(headers["Content-Length"]) == 300 * 1024 * 1024 and body == b""
    started = time.monotonic()
    with hard_opener.open(big, timeout=10) as resp:  # streamed: the first bytes come at once
        assert resp.headers["Content-Length"] == str(300 * 1024 * 1024) and resp.read(1024).startswith(b"%PDF-")
    assert time.monotonic() - started < 5


def test_robots_txt(hard, hard_opener):
    s = site(hard, "html_robots")
    assert "Disallow: /private/" in fetch(hard_opener, s.home + "robots.txt")[2].decode()
    trap = next(d for d in hard.distractors if d.kind == "robots")
    assert trap.site == s.id and urlsplit(trap.url).path.startswith("/private/") and "年度报告" in trap.title
    assert urlsplit(trap.url).path in fetch(hard_opener, s.report_lists[0])[2].decode()
    assert fetch(hard_opener, trap.url)[0] == 200  # served: only robots.txt says not to fetch it


# CI installs Chromium (scripts/install-system-packages.sh), so there the test must run, not skip.
@pytest.mark.skipif(not os.path.exists("/usr/bin/chromium") and not os.environ.get("CI"),
                    reason="needs /usr/bin/chromium (apt-get install chromium)")
def test_spa_and_challenges_in_a_real_browser(hard, hard_server):
    from playwright import sync_api

    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"]
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=args,
                                     proxy={"server": hard_server.proxy_url})
        try:
            page = browser.new_page()
            spa = site(hard, "spa")
            page.goto(spa.report_lists[0] + "?page=2", timeout=10_000)
            page.wait_for_selector("body[data-loaded]", timeout=10_000)
            links = page.eval_on_selector_all("#list a[title]", "els => els.map(e => e.href)")
            assert links and set(links) <= {r.url for r in hard.reports} | {d.url for d in hard.distractors}
            assert page.locator("#pager a").count() >= 1
            jsl = site(hard, "antibot_jsl")
            page.goto(jsl.report_lists[0], timeout=10_000)
            page.wait_for_selector("ul.list li a", timeout=10_000)  # after two 521 rounds and reloads
            assert jsl.name in page.title()
            names = {c["name"] for c in page.context.cookies()}
            assert {"__jsl_clearance_s", "__jsluid_h"} <= names
            ruishu = site(hard, "antibot_ruishu")
            page.goto(ruishu.report_lists[0], timeout=10_000)
            page.wait_for_selector("ul.list li a", timeout=10_000)  # after the 1.5 s timer and a reload
            assert ruishu.name in page.title()
        finally:
            browser.close()


# ---- the reports' numbers and the formats they are served in ----

@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=30), st.integers(2015, 2026), st.sampled_from(["county", "department", "township"]))
def test_numbers_obey_the_arithmetic_except_where_planted(identity, year, kind):
    stats = statistics.make_statistics(identity, year, kind)
    assert stats.template == ("2021" if year >= 2021 else "2019")
    assert list(stats.cells) == statistics.keys(stats.template)
    for value in stats.cells.values():
        assert value is None or value in statistics.MARKS or (type(value) in (int, float) and value > -5)
    failing = statistics.failing(stats.cells, stats.template)
    assert stats.failing == failing
    if stats.planted is None:
        assert not failing
        return
    assert failing, "a planted cell must break a check"
    put_back = dict(stats.cells)
    put_back[stats.planted] += 1 if put_back[stats.planted] < _consistent(stats) else -1
    assert not statistics.failing(put_back, stats.template)  # the one cell off is all that is wrong
    row, col = stats.planted.rsplit(".", 1)[0], stats.planted.rsplit(".", 1)[1]
    for name in failing:  # every failing check reads the planted cell
        if name.startswith("review."):
            assert stats.planted.startswith(name + ".")
        elif ".row." in name:
            assert row == "applications." + name.split(".row.")[1]
        else:
            assert col == name.rsplit(".", 1)[1]


def _consistent(stats: statistics.Statistics) -> int:
    """The value the planted cell should have held: what makes every check pass again."""
    original = stats.cells[stats.planted]
    for value in (original - 1, original + 1):
        if not statistics.failing({**stats.cells, stats.planted: value}, stats.template):
            return value
    raise AssertionError(f"no single value of {stats.planted} makes the report consistent")


def test_numbers_are_realistic():
    """Mostly small, county larger than township, marks and blanks where reports print them, ~1 in 12 off."""
    def sample(kind: str, years=range(2019, 2025)) -> list[statistics.Statistics]:
        return [statistics.make_statistics(f"realistic:{kind}:{k}", y, kind) for k in range(60) for y in years]

    county, township = sample("county"), sample("township")

    def requests(s: statistics.Statistics) -> int:
        value = s.cells["applications.new.total"]
        return value if isinstance(value, int) else 0

    assert sum(map(requests, county)) > 5 * sum(map(requests, township))
    everything = county + township + sample("department")
    values = [v for s in everything for v in s.cells.values()]
    assert values.count(0) / len(values) > 0.5
    assert {v for v in values if isinstance(v, str)} == set(statistics.MARKS) and None in values
    assert any(isinstance(v, float) for v in values)
    planted = sum(s.planted is not None for s in everything) / len(everything)
    assert 1 / 20 < planted < 1 / 8, planted
    assert statistics.make_statistics("same", 2022, "county") == statistics.make_statistics("same", 2022, "county")


@pytest.fixture(scope="module")
def samples(world):
    """One report of each template from the world, and the cells their grids print (key → (row, col, text))."""
    out = {}
    for served in world.documents.values():
        if served.report is not None:
            out.setdefault(served.report.template, served.report)
    return out


def _grid_values(grid) -> dict[str, str]:
    return {s.key: s.text for s in grid.spans if s.key}


def _html_grid(table) -> list[list[str]]:
    """An lxml <table> expanded to a full grid (merged cells repeated), as a reader must do."""
    grid: dict[tuple[int, int], str] = {}
    for r, tr in enumerate(table.iter("tr")):
        c = 0
        for cell in tr:
            while (r, c) in grid:
                c += 1
            text = cell.text_content().replace("\xa0", "").strip()
            for dr in range(int(cell.get("rowspan", 1))):
                for dc in range(int(cell.get("colspan", 1))):
                    grid[(r + dr, c + dc)] = text
            c += int(cell.get("colspan", 1))
    rows, cols = max(r for r, _ in grid) + 1, max(c for _, c in grid) + 1
    return [[grid.get((r, c), "") for c in range(cols)] for r in range(rows)]


def test_html_tables_are_the_template_grids(world):
    from lxml import html as lxml_html

    layouts = set()
    for url, served in world.documents.items():
        if served.format != "html":
            continue
        status, headers, body = world.resolve("GET", url)
        page = lxml_html.document_fromstring(body.decode(_charset(headers, body)))  # GBK pages say so in <meta>
        style = report_html.Style.draw(served.report.identity)
        layouts.add((style.header, style.merged, style.header_tag, style.word))
        expected = documents.grids(served.report, style.header, style.merged)
        tables = page.xpath("//table[.//td]")
        assert [_html_grid(t) for t in tables] == [documents.full_grid(g) for g in expected.values()], url
        text = page.text_content()
        assert all(line in text for line in served.report.lines if not line.startswith(documents.TABLE))
    assert {(h, m) for h, m, _, _ in layouts} >= {("template", True), ("flat", True), ("template", False)}
    assert {t for _, _, t, _ in layouts} == {"td", "th"} and {w for *_, w in layouts} == {True, False}


def test_docx_fills_the_official_template(samples):
    import docx

    for template, report in samples.items():
        document = docx.Document(io.BytesIO(rendered("docx", report)))
        assert document.paragraphs[0].text == report.title
        for table, grid in zip(document.tables, documents.grids(report).values(), strict=True):
            cells = [[c.text for c in row.cells] for row in table.rows]
            assert len(cells) == grid.rows and len(cells[0]) == grid.cols
            for span in grid.spans:
                if span.key:
                    assert cells[span.row][span.col] == span.text, (template, span.key)
        text = "\n".join(p.text for p in document.paragraphs)
        assert all(line in text for line in report.lines if not line.startswith(documents.TABLE))
    template = docx.Document(str(sim_files.TEMPLATE_DOCX)).tables[1]
    filled = docx.Document(io.BytesIO(rendered("docx", samples["2021"]))).tables[1]
    assert [c.text for c in filled.rows[2].cells] == [c.text for c in template.rows[2].cells]  # its own header


def test_pdf_has_a_chinese_text_layer_and_the_tables(world, samples):
    import pdfplumber
    import pymupdf

    for report in samples.values():
        with pdfplumber.open(io.BytesIO(rendered("pdf", report))) as pdf:
            text = "".join(page.extract_text() or "" for page in pdf.pages)
            rows = [row for page in pdf.pages for table in page.extract_tables() for row in table]
        assert report.title in text.replace("\n", "") and "收到和处理政府信息公开申请情况" in text
        new = next(row for row in rows if "本年新收" in "".join(c or "" for c in row))
        assert [c for c in new if c is not None][-7:] == [report.stats.text(f"applications.new.{c}")
                                                           for c in statistics.COLUMNS]
    crossing = []  # the application table runs across a page break in some, not in others
    for report in [s.report for s in world.documents.values() if s.format == "pdf"][:12]:
        pages = [page.get_text() for page in pymupdf.open("pdf", rendered("pdf", report))]
        start = next(k for k, t in enumerate(pages) if "本年新收" in t)
        crossing.append("结转下年度" not in pages[start])
    assert any(crossing) and not all(crossing)


def _printed_words(body: bytes) -> tuple[list[str], list[str]]:
    """(the words printed on the PDF's pages in reading order: page, line, left to right; the words anywhere
    off its pages), the text layer read unclipped so that what MuPDF drew past a page's edge shows."""
    import pymupdf

    inside, outside = [], []
    for page in pymupdf.open("pdf", body):
        words = page.get_text("words", flags=0)  # no TEXT_MEDIABOX_CLIP
        for word in sorted(words, key=lambda w: (round(w[3], 1), w[0])):
            (inside if pymupdf.Rect(word[:4]) in page.rect else outside).append(word[4])
    return inside, outside


def _found_in_order(wanted: list[str], words: list[str]) -> int:
    """How many of `wanted`, from its start, are among `words` in that order (others may stand between)."""
    rest = iter(words)
    return next((k for k, text in enumerate(wanted) if text not in rest), len(wanted))  # `in` consumes `rest`


@pytest.mark.parametrize("make", [lambda: build_world(counties=3),
                                  *[lambda n=n: build_generated_world(n, sites=8) for n in range(1, 7)]],
                         ids=["build_world(3)", *[f"generated({n})" for n in range(1, 7)]])
def test_pdfs_print_every_number_they_claim(make):
    """Every value cell of every rendered PDF is printed on a page, as a word of its own, in the tables' order:
    MuPDF's Story, left to cut its pages itself, lost the rows (or whole tables) that ran past a page's foot
    while World.expected_readings() still held their numbers."""
    world = make()
    pdf_urls = [u for u, e in world.expected_readings().items() if e["format"] == "pdf"]
    assert pdf_urls
    for url in pdf_urls:
        report = world.documents[url].report
        tables = documents.grids(report)
        printed = [s.text for line in report.lines if line.startswith(documents.TABLE)
                   for row in tables[line.removeprefix(documents.TABLE)].by_row() for s in row if s.key and s.text]
        inside, outside = _printed_words(world.resolve("GET", url)[2])
        assert not outside, (url, outside[:10])
        found = _found_in_order(printed, inside)
        assert found == len(printed), (url, f"values printed in order: {found} of {len(printed)}")


def test_xlsx_merges_cells_like_the_template(samples):
    import openpyxl

    for report in samples.values():
        sheet = openpyxl.load_workbook(io.BytesIO(rendered("xlsx", report))).active
        assert sheet.cell(1, 1).value == report.title
        values = {str(c.value) for row in sheet.iter_rows() for c in row if c.value is not None}
        assert "申请人情况" in values and documents.NOTE in values
        assert any(str(m) .startswith("A") and m.max_row - m.min_row >= 19 for m in sheet.merged_cells.ranges)
        numbers = [v for k, v in report.stats.cells.items() if type(v) is int]
        found = [c.value for row in sheet.iter_rows() for c in row if isinstance(c.value, int)]
        assert sorted(found) == sorted(numbers) or all(isinstance(c.value, str | None) for row in sheet.iter_rows()
                                                       for c in row)  # some agencies type numbers as text


@pytest.mark.skipif(legacy.soffice() is None, reason="needs LibreOffice (soffice) to make .doc/.xls")
def test_old_binary_formats_are_real_office_files(world):
    kinds = {}
    for a in world.attachments:
        served = world.documents[a.url]
        if served.format in ("doc", "wps", "xls"):
            body = world.resolve("GET", a.url)[2]
            assert body.startswith(b"\xd0\xcf\x11\xe0") and b"nianbao-sim " + a.url.encode() in body
            kinds.setdefault(served.format, set()).add(served.report.identity)
    assert set(kinds) == {"doc", "wps", "xls"} and all(len(v) >= 2 for v in kinds.values())
    doc = next(a for a in world.attachments if world.documents[a.url].format == "doc")
    text = doctext.file_text(world.resolve("GET", doc.url)[2], None, doc.filename)
    assert world.documents[doc.url].report.title in text and "本年新收政府信息公开申请数量" in text


def test_png_is_the_tables_as_pixels(samples):
    import pymupdf

    pixmap = pymupdf.Pixmap(pdfs.make_png(samples["2021"]))
    assert pixmap.width > 1000 and pixmap.height > 1400


def test_every_report_and_file_has_its_expected_reading(world):
    expected = world.expected_readings()
    pages = {r.url for r in world.reports if r.url.endswith((".html", ".shtml"))}
    assert pages <= set(expected) and {e["format"] for e in expected.values()} >= {"html", "pdf", "docx", "doc"}
    unknown = {u for u in [r.url for r in world.reports] + [a.url for a in world.attachments] if u not in expected}
    assert {world.documents[u].format for u in unknown} <= {"real-pdf", "stand-in"}
    for reading in expected.values():
        assert set(reading["cells"]) == set(statistics.keys(reading["template"]))
        assert reading["template"] == ("2021" if reading["year"] >= 2021 else "2019")
    planted = [r for r in expected.values() if r["planted"]]
    assert planted and all(r["failing"] for r in planted)
    assert not any(r["failing"] for r in expected.values() if not r["planted"])
    page = next(r for r in world.reports if r.url in pages)
    assert expected[page.url]["agency"] == page.agency and expected[page.url]["year"] == page.year


def test_rendered_reports_still_look_like_the_template(world):
    """The judge (crawler.judge) takes every rendered page and (a few of each kind of) file for a report by its
    text alone, as it would the real ones."""
    seen: dict[str, int] = {}
    for url, served in world.documents.items():
        seen[served.format] = seen.get(served.format, 0) + 1
        if served.report is None or (served.format != "html" and seen[served.format] > 3):
            continue
        status, headers, body = world.resolve("GET", url)
        text = doctext.page_text(body.decode(_charset(headers, body))) if served.format == "html" else \
            doctext.file_text(body, headers["Content-Type"], url)
        if served.format == "xls":  # the judge reads no spreadsheet
            continue
        found = judge.judge("某县信息公开", text=text, is_file=served.format != "html")
        assert found.is_report and found.markers >= 5, (url, served.format, found)


def _charset(headers, body: bytes) -> str:
    return "utf-8" if "utf-8" in headers["Content-Type"] or b'charset="utf-8"' in body[:300] else "gb18030"
