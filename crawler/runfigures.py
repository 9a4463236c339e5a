"""A run's figures, from the crawler's stats: what the catalog, the CLI and the dashboard show.

The pipeline and the middlewares count under ``nianbao/…`` keys as they go
(``nianbao/SITE/report``, ``nianbao/by_reason/HTTP 404``, ``nianbao/catalog/new/report``);
this module is the one place that turns those counters and Scrapy's own (requests,
responses by status) into the figures of a run.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

_SITE_FIGURES = {"report": "reports", "attachment": "attachments", "list": "list_pages", "errors": "errors",
                 "rendered": "rendered", "challenges": "challenges"}




def run_figures(stats: dict[str, Any]) -> dict[str, Any]:
    counts = {k.removeprefix("nianbao/"): v for k, v in stats.items() if k.startswith("nianbao/")}
    sites: dict[str, dict[str, int]] = {}
    totals: Counter[str] = Counter()
    errors_by_reason: dict[str, int] = {}
    busiest: dict[str, int] = {}  # host → most requests it got in one second (crawler.extensions.hostrate)
    for key, value in counts.items():
        head, _, tail = key.rpartition("/")
        if head == "by_reason":
            errors_by_reason[tail] = value
        elif head == "busiest_second" and tail not in _SITE_FIGURES:  # (a site may be called busiest_second)
            busiest[tail] = value
        elif head and "/" not in head and tail in _SITE_FIGURES and isinstance(value, int):
            sites.setdefault(head, {})[_SITE_FIGURES[tail]] = value
            totals[_SITE_FIGURES[tail]] += value
    responses = {key.rpartition("/")[2]: value for key, value in stats.items()
                 if key.startswith("downloader/response_status_count/")}
    figures: dict[str, Any] = {
        "requests": stats.get("downloader/request_count", 0),
        "responses": dict(sorted(responses.items())),
        "not_modified": counts.get("not_modified", 0),  # answered 304: the archived body was reused
        "replayed": counts.get("replayed", 0),  # pages read back to go on from an interrupted run: not fetched
        "fresh_skipped": counts.get("fresh_skipped", 0),  # archived and not due (the check schedule): not asked
        "rendered": totals["rendered"],
        "reports": totals["reports"],
        "new_reports": counts.get("catalog/new/report", 0),
        "new_versions": counts.get("catalog/changed/report", 0) + counts.get("catalog/changed/attachment", 0),
        "gone": counts.get("catalog/gone/report", 0) + counts.get("catalog/gone/attachment", 0),
        "attachments": totals["attachments"],
        "list_pages": totals["list_pages"],
        "objects_stored": counts.get("catalog/new_bodies", 0),
        "bytes_stored": counts.get("catalog/new_bytes", 0),
        "errors": totals["errors"],
        "errors_by_reason": dict(sorted(errors_by_reason.items(), key=lambda kv: -kv[1])),
        "sites": sites,
        # Politeness as the hosts saw it: the most requests any one host got in one (whole) second, and per host.
        "busiest_second": counts.get("busiest_second", 0),
        "busiest_second_by_host": dict(sorted(busiest.items(), key=lambda kv: (-kv[1], kv[0]))),
    }
    for name in ("stopped", "finish_reason", "resumed_runs", "outages"):
        if counts.get(name):
            figures[name] = counts[name]
    return figures
