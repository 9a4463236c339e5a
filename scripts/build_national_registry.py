"""Build ``crawler/data/county-portals.yaml`` from the corpus's county-portals.jsonl.

Ids come from the portal's host name (``www.wanzai.gov.cn`` → ``wanzai``) so they stay stable
when the list is re-sorted or grows; a host shared by two entries gets ``-2`` on the second.
Run: ``python scripts/build_national_registry.py ../shared/corpus/registry/county-portals.jsonl``
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from urllib.parse import urlsplit

import yaml

OUT = Path(__file__).resolve().parent.parent / "crawler" / "data" / "county-portals.yaml"


def site_id(home: str) -> str:
    host = urlsplit(home).hostname or ""
    host = host.removeprefix("www.").removesuffix(".gov.cn")
    return host.replace(".", "-")


def main(source: str) -> None:
    sites, used = [], set()
    for line in Path(source).read_text("utf-8").splitlines():
        row = json.loads(line)
        if not row["home"]:
            continue
        ident, n = site_id(row["home"]), 1
        while ident in used:
            n += 1
            ident = f"{site_id(row['home'])}-{n}"
        used.add(ident)
        entry = {"id": ident, "name": row["county"], "province": row["province"]}
        if row.get("prefecture"):
            entry["prefecture"] = row["prefecture"]
        entry["home"] = row["home"]
        sites.append(entry)
    header = (f"# {len(sites)} county-level government portals, built by scripts/build_national_registry.py\n"
              "# from corpus/registry/county-portals.jsonl (anyi-econ/china-public-debt, 2026-04).\n"
              "# Home pages are starting points to verify; report_lists are found by discovery.\n")
    body = yaml.safe_dump({"sites": sites}, allow_unicode=True, sort_keys=False, width=200)
    OUT.write_text(header + body, "utf-8")
    print(f"wrote {len(sites)} sites to {OUT}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/corpus/registry/county-portals.jsonl")
