"""Site leases in the catalog: one crawl of a site at a time across machines, on SQLite and PostgreSQL.

Other machines are holders with another host name (or the same name and another boot: a cloned machine);
time passes by moving the rows' times back, as the database's clock would have.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import text

from archive.catalog import Catalog, Holder
from nianbao.processes import boot_id

LEASE, TIMEOUT = timedelta(seconds=120), timedelta(seconds=30)


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog(request, tmp_path) -> Catalog:
    if request.param == "sqlite":
        return Catalog(f"sqlite:///{tmp_path}/catalog.sqlite3")
    return Catalog(request.getfixturevalue("postgres_catalog"))


def age(catalog: Catalog, table: str, column: str, seconds: float) -> None:
    """Move a time back, as if that long had passed since it was written."""
    shift = (f"{column} - interval '{seconds} seconds'" if catalog.engine.dialect.name == "postgresql"
             else f"strftime('%Y-%m-%d %H:%M:%f000', {column}, '-{seconds} seconds')")
    with catalog.engine.begin() as conn:
        conn.execute(text(f"UPDATE {table} SET {column} = {shift}"))


def acquire(catalog: Catalog, holder: Holder, *sites: str) -> dict[str, str]:
    return catalog.acquire_sites(list(sites), holder, LEASE, TIMEOUT)


def test_a_lease_holds_against_every_other_crawl_until_given_back(catalog):
    there = Holder(host="machine-b", pid=4242, boot="b" * 36, worker="wb")
    catalog.beat("wb", host="machine-b", pid=1, state="busy", reason=None, slots=1, crawls=[], requests=0,
                 errors=0, requests_per_s=0.0, parsers=0)
    assert acquire(catalog, there, "s1", "s2") == {}
    here = Holder()
    busy = acquire(catalog, here, "s2", "s3")
    assert busy == {"s2": "pid 4242 on machine-b (worker wb)"}
    assert catalog.site_holders(["s1", "s2", "s3"], TIMEOUT) == {"s1": busy["s2"], "s2": busy["s2"],
                                                                 "s3": f"pid {os.getpid()} on {here.host}"}
    assert catalog.renew_sites(there, LEASE) == {"s1", "s2"}
    catalog.release_sites(there)
    assert acquire(catalog, here, "s1", "s2") == {}
    assert catalog.renew_sites(here, LEASE) == {"s1", "s2", "s3"}


def test_an_expired_lease_is_free_and_its_holder_learns_it_lost_it(catalog):
    there = Holder(host="machine-b", pid=4242, boot="b" * 36)
    acquire(catalog, there, "s1")
    age(catalog, "site_leases", "expires_at", LEASE.total_seconds() + 1)
    assert acquire(catalog, Holder(), "s1") == {}
    assert catalog.renew_sites(there, LEASE) == set()  # the old crawl sees it is gone, and stops


def test_a_dead_workers_lease_is_free_only_once_it_went_unrenewed(catalog):
    there = Holder(host="machine-b", pid=4242, boot="b" * 36, worker="wb")
    catalog.beat("wb", host="machine-b", pid=1, state="busy", reason=None, slots=1, crawls=[], requests=0,
                 errors=0, requests_per_s=0.0, parsers=0)
    acquire(catalog, there, "s1")
    age(catalog, "workers", "heartbeat_at", TIMEOUT.total_seconds() + 5)  # its worker is silent: dead
    assert "s1" in acquire(catalog, Holder(), "s1")  # but its crawl renewed just now: it still runs
    age(catalog, "site_leases", "renewed_at", TIMEOUT.total_seconds() + 5)
    assert acquire(catalog, Holder(), "s1") == {}  # dead and unrenewed: handed on before the lease expires


def test_a_crawl_gone_on_this_machine_frees_its_lease_at_once_but_a_clone_does_not(catalog):
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    gone = Holder(pid=child.pid)  # this host, this boot, a process that ended
    acquire(catalog, gone, "s1")
    clone = Holder(pid=child.pid, boot="c" * 36)  # the same host name, another machine (or boot)
    acquire(catalog, clone, "s2")
    busy = acquire(catalog, Holder(), "s1", "s2")
    assert list(busy) == ["s2"]  # the clone's pid says nothing here: its lease holds until it expires
    assert gone.boot == boot_id()
