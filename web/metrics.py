"""``/metrics``: Prometheus's text format, computed from the catalog when scraped.

Nothing is counted in the server's memory: the catalog is the record, so the figures survive
restarts of the server and include crawls run by hand or by the scheduler alike. Counters are
sums over every run's figures (a running run's so far), so they only grow. The fleet's figures are each
worker's last heartbeat (labelled by worker and host); a worker's counters start again when it does, which
Prometheus's rate() reads as the reset it is.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC

from fastapi import APIRouter, Response
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from archive import overview
from archive.catalog import DISPATCH_STATES, RUN_STATUSES

from . import fleet
from .state import ArchiveState, State

router = APIRouter(tags=["operations"])


class CatalogCollector:
    def __init__(self, state: ArchiveState) -> None:
        self.state = state

    def collect(self) -> Iterator[Metric]:
        totals = overview.totals(self.state.catalog)
        runs = GaugeMetricFamily("nianbao_runs", "Runs in the catalog by status (running: crawls under way)",
                                 labels=["status"])
        for status in RUN_STATUSES:
            runs.add_metric([status], totals.runs.get(status, 0))
        yield runs
        yield CounterMetricFamily("nianbao_requests", "HTTP requests made by all runs", value=totals.requests)
        errors = CounterMetricFamily("nianbao_errors", "Failures recorded (URLs that could not be archived), by reason",
                                     labels=["reason"])
        for reason, count in sorted(totals.errors_by_reason.items()):
            errors.add_metric([reason], count)
        yield errors
        yield CounterMetricFamily("nianbao_bytes_stored", "Bytes of new bodies stored by all runs",
                                  value=totals.bytes_stored)
        yield CounterMetricFamily("nianbao_objects_stored", "New bodies stored by all runs",
                                  value=totals.objects_stored)
        yield GaugeMetricFamily("nianbao_parse_queue_depth", "Archived bodies waiting for the parser",
                                value=totals.parse_queue)
        reports = GaugeMetricFamily("nianbao_reports_archived", "Distinct report URLs archived, by report year",
                                    labels=["year"])
        for year, count in sorted(totals.reports_by_year.items(), key=lambda kv: kv[0] or 0):
            reports.add_metric([str(year) if year else "unknown"], count)
        yield reports
        flagged = GaugeMetricFamily("nianbao_sites_flagged", "Registry sites with a coverage flag, by flag",
                                    labels=["flag"])
        flags = overview.flags(self.state.catalog, self.state.site_ids(), self.state.today())
        for kind in ("missing", "failing"):
            flagged.add_metric([kind], sum(1 for f in flags if f.kind == kind))
        yield flagged
        if totals.last_finished is not None:
            yield GaugeMetricFamily("nianbao_last_run_finished_timestamp_seconds",
                                    "When the newest run ended (Unix time)",
                                    value=totals.last_finished.replace(tzinfo=UTC).timestamp())  # naive UTC
        yield from self.fleet_metrics()

    def fleet_metrics(self) -> Iterator[Metric]:
        """One sample per worker in each family (none for an empty fleet), and the dispatches by state."""
        labels = ["worker", "host"]
        up = GaugeMetricFamily("nianbao_worker_up", "1 if the worker takes work (ready or busy), else 0", labels=labels)
        age = GaugeMetricFamily("nianbao_worker_heartbeat_age_seconds", "Seconds since the worker's last heartbeat",
                                labels=labels)
        requests = CounterMetricFamily("nianbao_worker_requests", "HTTP requests the worker's crawls made since it "
                                       "started", labels=labels)
        rate = GaugeMetricFamily("nianbao_worker_requests_per_second", "The worker's requests a second, lately",
                                 labels=labels)
        errors = CounterMetricFamily("nianbao_worker_errors", "Failures the worker's crawls recorded since it started",
                                     labels=labels)
        crawls = GaugeMetricFamily("nianbao_worker_crawls", "Crawls the worker runs now", labels=labels)
        for worker in fleet.workers(self.state):
            names = [worker["name"], worker["host"]]
            up.add_metric(names, 1 if worker["state"] in fleet.UP_STATES else 0)
            age.add_metric(names, worker["heartbeat_age"])
            requests.add_metric(names, worker["requests"])
            rate.add_metric(names, worker["requests_per_s"])
            errors.add_metric(names, worker["errors"])
            crawls.add_metric(names, len(worker["crawls"]))
        yield from (up, age, requests, rate, errors, crawls)
        counts = self.state.catalog.dispatch_counts()
        dispatches = GaugeMetricFamily("nianbao_dispatches", "Dispatches (sites handed out as one crawl) by state",
                                       labels=["state"])
        for dispatch_state in DISPATCH_STATES:
            dispatches.add_metric([dispatch_state], counts.get(dispatch_state, 0))
        yield dispatches


@router.get("/metrics", summary="Prometheus metrics (open: no token)", response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"}})
def metrics(state: State) -> Response:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(CatalogCollector(state))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
