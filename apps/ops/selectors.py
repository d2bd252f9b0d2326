"""Reads for the operators' dashboard: business figures, system health, and hosts from Prometheus."""

from __future__ import annotations

import hashlib
import json
import math
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from apps.accounts.models import User
from apps.moderation.models import Report, ReportStatus
from apps.photos.models import Photo, PhotoStatus, Rendition
from apps.social.models import Comment, Like
from photosite import cache


@dataclass(frozen=True)
class DayCount:
    day: date
    count: int


def per_day(rows: QuerySet[Any], *, days: int = 30) -> list[DayCount]:
    """Rows per day of their created_at, oldest first, zeros included (a chart needs every day)."""
    today = timezone.localdate()
    first = today - timedelta(days=days - 1)
    counted = dict(
        rows.filter(created_at__date__gte=first)
        .annotate(day=TruncDate("created_at"))
        .values_list("day")
        .annotate(count=Count("id"))
        .values_list("day", "count")
    )
    return [
        DayCount(first + timedelta(days=offset), counted.get(first + timedelta(days=offset), 0))
        for offset in range(days)
    ]


def business_figures() -> dict[str, Any]:
    now = timezone.now()
    users = User.objects.aggregate(
        total=Count("id"),
        new_24h=Count("id", filter=_since("date_joined", now - timedelta(days=1))),
        new_7d=Count("id", filter=_since("date_joined", now - timedelta(days=7))),
    )
    photos = Photo.objects.aggregate(total=Count("id"), original_bytes=Sum("original_bytes"))
    rendition_bytes = Rendition.objects.aggregate(total=Sum("bytes"))["total"] or 0
    return {
        "users": users,
        "photos_total": photos["total"],
        "storage_bytes": (photos["original_bytes"] or 0) + rendition_bytes,
        "uploads_per_day": per_day(Photo.objects.all()),
        "likes_per_day": per_day(Like.objects.all()),
        "comments_per_day": per_day(Comment.objects.all()),
        "failed_24h": Photo.objects.filter(status=PhotoStatus.FAILED, updated_at__gte=now - timedelta(days=1)).count(),
        "open_reports": Report.objects.filter(status=ReportStatus.OPEN).count(),
    }


def _since(field: str, moment: datetime) -> Q:
    return Q(**{f"{field}__gte": moment})


def redis_figures() -> dict[str, Any] | None:
    """Memory and hit ratio of the cache's Redis, or None without Redis."""
    from django.conf import settings

    if "redis" not in settings.CACHES["default"]["BACKEND"].lower():
        return None
    from django_redis import get_redis_connection

    try:
        info = get_redis_connection("default").info()
    except Exception as error:  # shown on the dashboard, never raised
        return {"up": False, "error": str(error)[:200]}
    hits, misses = info.get("keyspace_hits", 0), info.get("keyspace_misses", 0)
    return {
        "up": True,
        "memory": info.get("used_memory_human"),
        "hit_ratio": hits / (hits + misses) if hits + misses else None,
    }


# --- Hosts: each node exporter's figures, read from Prometheus ------------------------

# The dashboard waits at most this long for Prometheus: a dead or blackholed one costs a
# refresh one second, then its "unreachable" answer is cached like a good one.
PROMETHEUS_TIMEOUT_SECONDS = 1.0
# One query per this many seconds, however many operators watch (the page refreshes every 10 s).
HOSTS_CACHE_SECONDS = 10

# One PromQL expression per figure, over the scrape job `node` (the node exporters in
# compose/production/prometheus/prometheus.yml and the alert rules). Rates over 1 minute:
# four samples at a 15 s scrape interval, recent enough for "now".
HOST_FIGURE_QUERIES = {
    "up": 'up{job="node"}',
    "cpu_busy_percent": '100 * (1 - avg by (instance) (rate(node_cpu_seconds_total{job="node",mode="idle"}[1m])))',
    "cpus": 'count by (instance) (node_cpu_seconds_total{job="node",mode="idle"})',
    "memory_used_percent": (
        '100 * (1 - node_memory_MemAvailable_bytes{job="node"} / node_memory_MemTotal_bytes{job="node"})'
    ),
    "root_used_percent": (
        '100 * (1 - node_filesystem_avail_bytes{job="node",mountpoint="/",fstype!="rootfs"}'
        ' / node_filesystem_size_bytes{job="node",mountpoint="/",fstype!="rootfs"})'
    ),
    # Device-mapper volumes sit on disks already counted: leaving them out avoids counting twice.
    "disk_read_bytes_per_second": (
        'sum by (instance) (rate(node_disk_read_bytes_total{job="node",device!~"dm-.*"}[1m]))'
    ),
    "disk_written_bytes_per_second": (
        'sum by (instance) (rate(node_disk_written_bytes_total{job="node",device!~"dm-.*"}[1m]))'
    ),
    "load1": 'node_load1{job="node"}',
}


@dataclass(frozen=True)
class Host:
    """One node exporter target; a down one has no figures (Prometheus could not scrape it)."""

    instance: str
    up: bool
    cpu_busy_percent: float | None = None
    cpus: int | None = None
    memory_used_percent: float | None = None
    root_used_percent: float | None = None
    disk_read_bytes_per_second: float | None = None
    disk_written_bytes_per_second: float | None = None
    load1: float | None = None


@dataclass(frozen=True)
class HostFigures:
    """The Hosts panel: every node exporter target, down ones first, or why there are none."""

    hosts: tuple[Host, ...] = ()
    error: str = ""  # set when Prometheus could not be asked or did not answer sensibly

    @property
    def up_count(self) -> int:
        return sum(host.up for host in self.hosts)


def host_figures() -> HostFigures | None:
    """CPU, memory, root filesystem, disk I/O and load of every host, or None without PROMETHEUS_URL.

    Never raises and never waits more than PROMETHEUS_TIMEOUT_SECONDS: when Prometheus is
    down the result says so, and is cached as briefly as a good one.
    """
    base_url: str = settings.PROMETHEUS_URL
    if not base_url:
        return None
    # The address is in the key so that pointing the site at another Prometheus shows it at once.
    key = f"ops:hosts:{hashlib.sha256(base_url.encode()).hexdigest()[:16]}"
    return cache.get_or_compute(key, lambda: _host_figures_from(base_url), ttl=HOSTS_CACHE_SECONDS)


def _host_figures_from(base_url: str) -> HostFigures:
    # One request for every figure, so they are read at the same instant and a slow
    # Prometheus costs the timeout once: each expression tagged with a `figure` label.
    query = " or ".join(
        f'label_replace(max by (instance) ({expression}), "figure", "{name}", "", "")'
        for name, expression in HOST_FIGURE_QUERIES.items()
    )
    try:
        rows = _prometheus_query(base_url, query)
    except (OSError, ValueError, KeyError, TypeError) as error:
        return HostFigures(error=f"{type(error).__name__}: {error}"[:200])
    figures: dict[str, dict[str, float]] = {}
    for row in rows:
        value = float(row["value"][1])
        if not math.isnan(value):  # e.g. a 0/0 on a host that reports no memory total
            figures.setdefault(row["metric"].get("instance", "?"), {})[row["metric"]["figure"]] = value
    hosts = []
    for instance, values in figures.items():
        if values.get("up") != 1:
            hosts.append(Host(instance=instance, up=False))  # a rate may outlive the target by a minute
            continue
        cpus = values.get("cpus")
        hosts.append(
            Host(
                instance=instance,
                up=True,
                cpu_busy_percent=values.get("cpu_busy_percent"),
                cpus=int(cpus) if cpus is not None else None,
                memory_used_percent=values.get("memory_used_percent"),
                root_used_percent=values.get("root_used_percent"),
                disk_read_bytes_per_second=values.get("disk_read_bytes_per_second"),
                disk_written_bytes_per_second=values.get("disk_written_bytes_per_second"),
                load1=values.get("load1"),
            )
        )
    return HostFigures(hosts=tuple(sorted(hosts, key=lambda host: (host.up, host.instance))))


def _prometheus_query(base_url: str, query: str) -> list[dict[str, Any]]:
    """An instant query's vector (`/api/v1/query`); raises OSError or ValueError when it fails."""
    if urllib.parse.urlsplit(base_url).scheme not in ("http", "https"):
        raise ValueError(f"PROMETHEUS_URL must start with http:// or https://, not {base_url!r}")
    url = f"{base_url}/api/v1/query?{urllib.parse.urlencode({'query': query})}"
    # The scheme is checked above, so no file:// or other opener can be reached from settings.
    with urllib.request.urlopen(url, timeout=PROMETHEUS_TIMEOUT_SECONDS) as response:  # noqa: S310
        answer = json.load(response)
    if answer.get("status") != "success" or answer["data"]["resultType"] != "vector":
        raise ValueError(f"Prometheus answered {answer.get('errorType', '')} {answer.get('error', '')}".strip())
    rows: list[dict[str, Any]] = answer["data"]["result"]
    return rows
