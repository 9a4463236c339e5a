from pathlib import Path

import pytest

from crawler.registry import RegistryError, load_registry, parse_registry

GOOD = """
sites:
  - id: wanzai
    name: 万载县
    province: 江西省
    prefecture: 宜春市
    home: http://www.wanzai.gov.cn/
    report_lists: [http://www.wanzai.gov.cn/col/col123/index.html]
    attachment_hosts: [files.example.gov.cn]
"""


def test_reads_a_site_with_all_fields():
    (site,) = parse_registry(GOOD, "good.yaml").sites
    assert site.id == "wanzai" and site.name == "万载县" and site.prefecture == "宜春市"
    assert site.report_lists == ("http://www.wanzai.gov.cn/col/col123/index.html",)
    assert site.hosts == {"www.wanzai.gov.cn", "files.example.gov.cn"}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("  - {id: a, home: 'http://a.gov.cn/'}", "entry 1 (id 'a'): missing required field 'name'"),
        ("  - {id: a, name: A, home: 'ftp://a.gov.cn/'}", "home: 'ftp://a.gov.cn/' is not an http(s) URL"),
        ("  - {id: a, name: A, home: 'http://'}", "is not an http(s) URL with a host name"),
        ("  - {id: a, name: A, home: 'http://a.gov.cn:99999/'}", "is not a valid URL"),
        ("  - {id: A B, name: A, home: 'http://a.gov.cn/'}", "must be text: lower-case letters"),
        ("  - {id: 5, name: A, home: 'http://a.gov.cn/'}", "id 5 must be text"),
        ("  - {id: a, name: A, home: 'http://a.gov.cn/a b.html'}", "is not a URL"),
        ("  - {id: a, name: A, home: 'http://a.gov.cn/', report_list: []}", "unknown field 'report_list'"),
        ("  - {id: a, name: A, home: 'http://a.gov.cn/', report_lists: ['not a url']}", "report_lists: 'not a url'"),
        ("  - {id: a, name: A, home: 'http://a.gov.cn/', attachment_hosts: ['http://x/']}", "is not a host name"),
        ("  - just text", "entry 1: expected a mapping"),
    ],
)
def test_bad_entries_are_named(entry, message):
    with pytest.raises(RegistryError) as err:
        parse_registry(f"sites:\n{entry}\n", "bad.yaml")
    assert message in str(err.value)
    assert "bad.yaml" in str(err.value)


def test_duplicate_ids_name_both_entries():
    text = GOOD + "  - {id: wanzai, name: 另一个, home: 'http://b.gov.cn/'}\n"
    with pytest.raises(RegistryError, match=r"entry 2 \(id 'wanzai'\): duplicate id, first used by entry 1"):
        parse_registry(text, "dup.yaml")


def test_every_problem_is_reported_at_once():
    text = "sites:\n  - {id: a, home: 'http://a.gov.cn/'}\n  - {id: b, name: B, home: 'gopher://b'}\n"
    with pytest.raises(RegistryError) as err:
        parse_registry(text, "two.yaml")
    assert "2 problem(s)" in str(err.value) and "entry 1" in str(err.value) and "entry 2" in str(err.value)


def test_not_yaml_or_wrong_shape(tmp_path: Path):
    with pytest.raises(RegistryError, match="not valid YAML"):
        parse_registry("sites: [unclosed", "x.yaml")
    with pytest.raises(RegistryError, match="expected a mapping with a 'sites:' list"):
        parse_registry("- a\n- b\n", "x.yaml")
    with pytest.raises(RegistryError, match="does not exist"):
        load_registry(tmp_path / "missing.yaml")


def test_national_registry_has_every_portal_with_stable_ids():
    registry = load_registry()
    assert len(registry) == 2850
    (wanzai,) = registry.select(["wanzai"])
    assert (wanzai.name, wanzai.prefecture, wanzai.home) == ("万载县", "宜春市", "http://www.wanzai.gov.cn/")
    assert registry.select(["万载县"]) == [wanzai] == registry.select(["江西省宜春市万载县"])
    # Two entries of the source share www.putuo.gov.cn: the second gets a suffixed id.
    assert [s.id for s in registry.select(["上海市普陀区", "舟山市普陀区"])] == ["putuo", "putuo-2"]


def test_ambiguous_and_unknown_names_are_refused():
    registry = load_registry()
    with pytest.raises(RegistryError, match="ambiguous.*njgl.*gulou"):
        registry.select(["鼓楼区"])
    with pytest.raises(RegistryError, match="no site 'atlantis'"):
        registry.select(["atlantis"])


def test_empty_registry_and_alias_bombs_are_refused():
    with pytest.raises(RegistryError, match="empty"):
        parse_registry("sites: []\n", "empty.yaml")
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nsites: [*b, *b]\n"
    with pytest.raises(RegistryError, match="aliases"):
        parse_registry(bomb, "bomb.yaml")


@pytest.mark.parametrize(("home", "said"), [
    ("http://10.0.0.1/", "refused: 10.0.0.1 is an internal address"),
    ("http://localhost/", "refused: localhost is an internal address (this machine)"),
    ("http://[::1]:8080/", "refused: ::1 is an internal address"),
    ("http://0x7f000001/", "refused: 0x7f000001 is an internal address (127.0.0.1)"),
    ("http://metadata.google.internal/", "refused: metadata.google.internal is an internal address (a cloud metadata"),
])
def test_internal_addresses_are_refused_in_the_crawls_words(home, said):
    import asyncio

    from scrapy import Request

    from crawler.downloadermiddlewares.safety import InternalAddressError, SafetyMiddleware

    text = f"sites:\n  - {{id: lab, name: 实验县, home: '{home}'}}\n"
    with pytest.raises(RegistryError) as err:
        parse_registry(text, "lab.yaml", allow_internal=False)
    assert f"lab.yaml has 1 problem(s):\n  entry 1 (id 'lab'): home: '{home}' {said}" in str(err.value)
    with pytest.raises(InternalAddressError) as refused:  # what the crawl says of the same URL
        asyncio.run(SafetyMiddleware(proxy="http://proxy.example:3128").process_request(Request(home)))
    assert str(refused.value) in str(err.value)
    assert parse_registry(text, "lab.yaml", allow_internal=True).sites[0].home == home


def test_the_environment_allows_internal_addresses_strictly(monkeypatch):
    text = "sites:\n  - {id: lab, name: 实验县, home: 'http://127.0.0.1:8080/', attachment_hosts: [localhost]}\n"
    with pytest.raises(RegistryError, match="127.0.0.1 is an internal address"):
        parse_registry(text, "lab.yaml")
    monkeypatch.setenv("NIANBAO_ALLOW_INTERNAL_ADDRESSES", "true")
    assert parse_registry(text, "lab.yaml").sites[0].hosts == {"127.0.0.1", "localhost"}
    monkeypatch.setenv("NIANBAO_ALLOW_INTERNAL_ADDRESSES", "yes please")
    with pytest.raises(RegistryError, match="lab.yaml: NIANBAO_ALLOW_INTERNAL_ADDRESSES='yes please': expected true"):
        parse_registry(text, "lab.yaml")
