"""``nianbao serve`` against someone guessing its token or forging its Host header, and the coverage grid's years.

A small archive (two sites, reports from 2008 on, recorded straight into the catalog) served by a real
``nianbao serve`` process with a short lockout, so the slow-down can be watched in a second or two.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from datetime import date, datetime
from typing import Any

import pytest

from archive import overview
from archive.catalog import Catalog
from archive.storage import open_store
from nianbao.config import Config
from tests.conftest import ROOT
from tests.support import nianbao_env, stop_process
from tests.support.http import call, start_serve
from web.auth import LockedOut, Throttle

SITES = ("sites:\n  - {id: old, name: 老县, province: 江西省, home: 'http://www.old.gov.cn/'}\n"
         "  - {id: new, name: 新县, province: 江西省, home: 'http://www.new.gov.cn/'}\n")
LOCKOUT = 0.3  # seconds: the first lockout of the server under test (1 s by default)


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Any:
    tmp = tmp_path_factory.mktemp("auth")
    env = {**nianbao_env(tmp / "home"), "NIANBAO_TOKEN": secrets.token_urlsafe(24)}
    config = Config.from_env(env)
    digest = open_store(config).put(b"<html>report</html>")
    catalog = Catalog(config.catalog)
    report = {"kind": "report", "status": 200, "headers": {}, "fetched_at": datetime(2025, 3, 1), "sha256": digest,
              "size": 19, "content_type": "text/html"}
    catalog.record([{**report, "site": site, "year": year, "url": url, "final_url": url}
                    for site, year, url in (("old", 2008, "http://www.old.gov.cn/2008.html"),
                                            ("new", 2024, "http://www.new.gov.cn/2024.html"))])
    (tmp / "sites.yaml").write_text(SITES, "utf-8")
    process, base = start_serve(["--sites", str(tmp / "sites.yaml"), "--lockout-delay", str(LOCKOUT)], env, ROOT)
    yield {"base": base, "token": env["NIANBAO_TOKEN"]}
    stop_process(process)


def _locked_fresh(attempt) -> None:
    """Wrong guesses until one is looked at again (401): a new, longer lockout starts right then."""
    deadline = time.monotonic() + 60
    while attempt()[0] != 401:
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_wrong_bearer_tokens_are_slowed_down_then_forgiven(served):
    base, token = served["base"], served["token"]
    wrong = "w" * len(token)
    answers = [call(base + "/api/runs", wrong) for _ in range(30)]
    statuses = [status for status, _, _ in answers]
    assert statuses[:6] == [401] * 6  # five typos forgiven; the sixth starts the lockout
    assert statuses.count(429) >= 20, statuses
    status, headers, body = next(a for a in answers if a[0] == 429)
    assert int(headers["retry-after"]) >= 1 and b"Too many wrong tokens" in body
    _locked_fresh(lambda: call(base + "/api/runs", wrong))
    status, headers, _ = call(base + "/api/runs", token)
    assert status == 429  # locked out, even the right token waits: else the lockout would confirm it
    time.sleep(int(headers["retry-after"]))
    assert call(base + "/api/runs", token)[0] == 200
    assert [call(base + "/api/runs", wrong)[0] for _ in range(5)] == [401] * 5  # the success forgave it all
    assert call(base + "/api/runs", token)[0] == 200


def test_the_login_form_is_slowed_down_too(served):
    base, token = served["base"], served["token"]

    def login(value: str) -> tuple[int, dict[str, str], bytes]:
        return call(base + "/login", data=f"token={value}&next=/runs".encode())

    assert [login("wrong-" + token)[0] for _ in range(6)] == [401] * 6
    status, headers, body = login("wrong-" + token)
    assert status == 429 and int(headers["retry-after"]) >= 1 and b"Too many wrong tokens" in body
    _locked_fresh(lambda: login("wrong-" + token))
    status, headers, _ = login(token)
    assert status == 429 and "set-cookie" not in headers
    time.sleep(int(headers["retry-after"]))
    status, headers, _ = login(token)
    assert status == 303 and headers["location"] == "/runs" and "set-cookie" in headers


def test_the_throttle_doubles_forgets_and_stays_small():
    now = [0.0]
    throttle = Throttle(delay=1, free=2, cap=5, quiet=100, clients=3, clock=lambda: now[0])
    waits = []
    for _ in range(6):
        throttle.check("a")
        throttle.failed("a")
        try:
            throttle.check("a")
            waits.append(0)
        except LockedOut as exc:
            waits.append(exc.seconds)
            now[0] += exc.seconds
    assert waits == [0, 0, 1, 2, 4, 5]  # two free, then doubling, capped
    throttle.failed("a")
    now[0] += 5 + 100 + 1  # quiet after the lockout: forgotten
    throttle.check("a")
    throttle.failed("a")
    throttle.check("a")  # a first failure again: free
    for client in ("b", "c", "d"):  # more addresses than it keeps: the least recently failing goes
        throttle.failed(client)
        throttle.failed(client)
        throttle.failed(client)
    assert len(throttle._failures) == 3 and "a" not in throttle._failures
    with pytest.raises(LockedOut):
        throttle.check("d")
    throttle.succeeded("d")
    throttle.check("d")


def test_no_redirect_follows_a_forged_host(served):
    base, token = served["base"], served["token"]
    for path, target in (("/runs/", "/runs"), ("/api/runs/", "/api/runs"), ("/coverage/?page=1", "/coverage?page=1")):
        status, headers, _ = call(base + path, token, headers={"Host": "evil.example"})
        assert status in (307, 308) and headers["location"] == target, (path, headers)
    status, headers, _ = call(base + "/runs", headers={"Host": "evil.example"})
    assert status == 303 and headers["location"].startswith("/login?")


def test_the_coverage_grid_shows_every_year_archived(served):
    base, token = served["base"], served["token"]
    newest = overview.report_year(date.today())
    status, _, body = call(base + "/api/coverage", token)
    assert status == 200
    page = json.loads(body)
    assert page["years"] == list(range(2008, newest + 1)) and page["first_year"] == 2008
    assert {s["id"]: s["reports"]["2008"] for s in page["sites"]} == {"old": 1, "new": 0}
    narrowed = json.loads(call(base + "/api/coverage?from=2020", token)[2])
    assert narrowed["years"] == list(range(2020, newest + 1)) and narrowed["first_year"] == 2008
    assert json.loads(call(base + "/api/coverage?from=1900", token)[2])["years"][0] == 2008  # narrows only
    assert json.loads(call(base + "/api/coverage?from=", token)[2])["years"][0] == 2008  # the form's "earliest"
    cookie = call(base + "/login", data=f"token={token}&next=/".encode())[1]["set-cookie"].split(";")[0]
    html = call(base + "/coverage?from=2020", cookie=cookie)[2].decode()
    columns = [int(y) for y in re.findall(r'<th class="n[^"]*">(\d{4})</th>', html)]
    assert columns == list(range(2020, newest + 1))
    options = re.findall(r'<option value="(\d*)"( selected)?>(\d{4})</option>', html)
    assert [int(y) for _, _, y in options] == list(range(2008, newest + 1)) and options[0][0] == ""
    assert [y for _, selected, y in options if selected] == ["2020"]
