"""Business figures about people for /metrics, registered in AccountsConfig.ready()."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from apps.accounts.models import User


def user_metrics_collect() -> Iterator[Metric]:
    yield GaugeMetricFamily("photosite_users", "Registered users", value=User.objects.count())
