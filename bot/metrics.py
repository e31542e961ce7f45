"""GET /metrics: Prometheus' text format through prometheus_client.

Counters and histograms live in this process (one registry per app, no import-time globals) and
count what this replica did; scrape every replica and sum. The queue's gauges (open, overdue,
pending jobs, the oldest due job) are read from the database at each scrape, so every replica
reports the same, correct value however many there are. Multiprocess mode (PROMETHEUS_MULTIPROC_DIR)
is for several worker processes behind one port (gunicorn); a `handoff serve` process is one asyncio
process with its own port, so it does not need it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

from core import telemetry as names
from db.engine import Database
from db.gauges import read_gauges

PREFIX = "handoff_"
_COUNTERS = {
    names.ESCALATIONS: ("Escalations created", ("urgency",)),
    names.CLAIMS: ("Pick Up presses by outcome", ("outcome",)),
    names.NUDGES: ("Reminders sent, by kind", ("kind",)),
    names.MODEL_CALLS: ("Model calls by outcome", ("outcome",)),
    names.MODEL_TOKENS: ("Model tokens", ("direction",)),
    names.PLATFORM_CALLS: ("Chat platform API calls", ("platform", "method", "outcome")),
}
_MINUTES = (30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800)
_HISTOGRAMS = {
    names.ACK_LATENCY: ("Time to answer a platform's request, by route", ("route",),
                        (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5)),
    names.TIME_TO_PICKUP: ("Escalated (or released) until picked up", (), _MINUTES),
    names.TIME_TO_FIRST_ACTION: ("Escalated until the owner's first reply", (), _MINUTES),
    names.MODEL_LATENCY: ("Model call latency", (), (0.5, 1, 2, 5, 10, 20, 30, 60, 120)),
    names.CARD_LAG: ("State change until the card shows it", ("platform",),
                     (0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300)),
}


class PrometheusTelemetry:
    """The core's Telemetry hook, as Prometheus counters and histograms in this app's own registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._counters = {
            name: Counter(PREFIX + name, doc, labels, registry=self.registry)
            for name, (doc, labels) in _COUNTERS.items()
        }
        self._histograms = {
            name: Histogram(PREFIX + name + "_seconds", doc, labels, buckets=buckets, registry=self.registry)
            for name, (doc, labels, buckets) in _HISTOGRAMS.items()
        }

    def count(self, name: str, value: float = 1, **labels: str) -> None:
        if value:
            metric = self._counters[name]
            (metric.labels(**labels) if labels else metric).inc(value)

    def observe(self, name: str, value: float, **labels: str) -> None:
        metric = self._histograms[name]
        (metric.labels(**labels) if labels else metric).observe(max(0.0, value))


async def queue_gauges(database: Database, now: datetime) -> CollectorRegistry:
    """The database's view of the queue, as gauges in a registry built for this one scrape."""
    async with database.transaction() as conn:
        gauges = await read_gauges(conn, now=now)
    families = [
        GaugeMetricFamily(PREFIX + "open_unclaimed", "Escalations waiting for pick-up", value=gauges.open_unclaimed),
        GaugeMetricFamily(PREFIX + "overdue", "Waiting escalations past their last reminder", value=gauges.overdue),
        GaugeMetricFamily(PREFIX + "oldest_due_job_age_seconds", "How long the longest-waiting due job has waited",
                          value=gauges.oldest_due_job_age_s),
    ]
    pending = GaugeMetricFamily(PREFIX + "pending_jobs", "Jobs waiting in the outbox, by kind", labels=["kind"])
    for kind, n in sorted(gauges.pending_jobs.items()):
        pending.add_metric([kind], n)
    families.append(pending)
    registry = CollectorRegistry()
    registry.register(_Fixed(families))
    return registry


class _Fixed:
    def __init__(self, families) -> None:
        self.families = families

    def collect(self):
        return iter(self.families)


def metrics_route(telemetry: PrometheusTelemetry, database: Database, clock: Callable[[], datetime]):
    async def metrics(_request: web.Request) -> web.Response:
        body = generate_latest(telemetry.registry) + generate_latest(await queue_gauges(database, clock()))
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    return metrics


def ack_timer(telemetry: PrometheusTelemetry):
    """Middleware: how long each request took to answer, by route (for Slack and Teams this is the
    ack they time). Unmatched paths share one label, so scanners cannot grow the label set."""

    @web.middleware
    async def timed(request: web.Request, handler):
        started = time.perf_counter()
        try:
            return await handler(request)
        finally:
            resource = request.match_info.route.resource
            route = resource.canonical if resource is not None else "unmatched"
            telemetry.observe(names.ACK_LATENCY, time.perf_counter() - started, route=route)

    return timed
