"""Prometheus /metrics: django-prometheus (requests, latency, DB, cache) plus business and queue gauges.

Not for the public: answered only to addresses in METRICS_ALLOWED_NETWORKS
(loopback by default; add the Prometheus server's network) or to a request with
`Authorization: Bearer $METRICS_TOKEN`; everyone else gets a 404. With several
gunicorn workers, set PROMETHEUS_MULTIPROC_DIR so the figures add up across them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django_prometheus import middleware as prometheus_middleware
from django_prometheus.exports import ExportToDjangoView
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from photosite.broker import queue_stats
from photosite.db import monitor
from photosite.http import request_is_from_operators

# Business figures come from the apps, which register a function yielding metrics in
# AppConfig.ready() (photosite/ never imports an app).
_business_collectors: list[Callable[[], Iterable[Metric]]] = []


def business_collector_register(collect: Callable[[], Iterable[Metric]]) -> None:
    """Add an app's scrape-time figures (a few COUNT queries at most) to /metrics."""
    if collect not in _business_collectors:
        _business_collectors.append(collect)


MOST_LABELLED = 4096  # label sets remembered (method names are the client's: any more, start again)


class PrometheusAfterMiddleware(prometheus_middleware.PrometheusAfterMiddleware):
    """django-prometheus's, with each metric's child for a set of labels looked up once per process:
    `labels()` checks and joins its arguments on every call, a dozen times a request."""

    def __init__(self, get_response: Any = None) -> None:
        super().__init__(get_response)  # type: ignore[no-untyped-call]  # django-prometheus has no types
        self.labelled: dict[tuple[Any, ...], Any] = {}

    def label_metric(self, metric: Any, request: Any, response: Any = None, **labels: Any) -> Any:
        if not labels:
            return metric
        key = (id(metric), *labels.items())  # the metrics live as long as the process
        child = self.labelled.get(key)
        if child is None:
            if len(self.labelled) >= MOST_LABELLED:
                self.labelled.clear()
            child = self.labelled[key] = metric.labels(**labels)
        return child


class SiteCollector:
    """Figures computed at scrape time (a few COUNT queries and Redis reads)."""

    def collect(self) -> Iterator[Metric]:
        for collect in _business_collectors:
            yield from collect()
        healthy = GaugeMetricFamily("photosite_replica_healthy", "1 if the replica serves reads", labels=["alias"])
        lag = GaugeMetricFamily("photosite_replica_lag_seconds", "Replay lag at the last check", labels=["alias"])
        for alias in settings.DATABASE_REPLICAS:
            state = monitor.state(alias)
            healthy.add_metric([alias], 1 if state.healthy else 0)
            if state.lag_seconds is not None:
                lag.add_metric([alias], state.lag_seconds)
        yield healthy
        yield lag
        transitions = CounterMetricFamily(
            "photosite_replica_transitions", "Replicas joining or leaving the read rotation", labels=["alias", "event"]
        )
        for (alias, event), count in monitor.transitions.items():
            transitions.add_metric([alias, event], count)
        yield transitions

        stats = queue_stats()
        messages = GaugeMetricFamily("photosite_queue_messages", "Job messages by state", labels=["queue", "state"])
        for queue, by_state in stats["queues"].items():
            for state, count in by_state.items():
                messages.add_metric([queue, state], count)
        yield messages
        oldest = GaugeMetricFamily(
            "photosite_queue_oldest_message_age_seconds",
            "Seconds the next job to be handed out has waited in its queue (0 when the queue is empty)",
            labels=["queue"],
        )
        for queue, seconds in stats["oldest_waiting_seconds"].items():
            oldest.add_metric([queue], seconds)
        yield oldest
        if stats["workers"] is not None:
            yield GaugeMetricFamily("photosite_workers_live", "Workers with a recent heartbeat", value=stats["workers"])
        outbox = stats["outbox"]
        yield GaugeMetricFamily(
            "photosite_outbox_waiting", "Jobs committed but not yet handed to the broker", value=outbox["waiting"]
        )
        yield GaugeMetricFamily(
            "photosite_outbox_oldest_seconds",
            "Age of the oldest job waiting in the outbox",
            value=outbox["oldest_seconds"],
        )


_site_registry = CollectorRegistry(auto_describe=False)
_site_registry.register(SiteCollector())


def metrics(request: HttpRequest) -> HttpResponse:
    if not request_is_from_operators(request):
        raise Http404("No such page.")
    framework = ExportToDjangoView(request)
    body = framework.content + generate_latest(_site_registry)
    return HttpResponse(body, content_type=framework["Content-Type"])
