"""Self-test of the portal simulator: served through its proxy, the world must look like the real thing."""

from __future__ import annotations

import hashlib
import re
import urllib.error
import urllib.request
from urllib.parse import unquote, urlencode

import pytest

from tests.simulator import SimulatorServer, build_static_world, build_world
from tests.simulator import files as sim_files


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


def fetch(opener, url: str, data: bytes | None = None, method: str | None = None):
    """(status, headers, body) through the proxy, also for error statuses."""
    try:
        with opener.open(urllib.request.Request(url, data=data, method=method), timeout=10) as resp:
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
        pdfs = [w.resolve("GET", a.url)[2] for a in w.attachments if a.filename.endswith(".pdf")]
        assert pdfs and all(p.startswith(b"%PDF-") and b"startxref" in p and len(p) < 5000 for p in pdfs)
    finally:
        sim_files.real_pdfs.cache_clear()
