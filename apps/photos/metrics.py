"""Business figures about photos for /metrics, registered in PhotosConfig.ready()."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

from django.db.models import Count
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric

from apps.photos.models import Photo, PhotoStatus


def photo_metrics_collect() -> Iterator[Metric]:
    day_ago = timezone.now() - timedelta(days=1)
    photos = GaugeMetricFamily("photosite_photos", "Photos by processing status", labels=["status"])
    by_status = dict(Photo.objects.values_list("status").annotate(count=Count("id")).values_list("status", "count"))
    for status in PhotoStatus.values:
        photos.add_metric([status], by_status.get(status, 0))
    yield photos
    yield GaugeMetricFamily(
        "photosite_photos_uploaded_24h",
        "Photos uploaded in the last 24 hours",
        value=Photo.objects.filter(created_at__gte=day_ago).count(),
    )
    yield GaugeMetricFamily(
        "photosite_renditions_failed_24h",
        "Photos whose renditions failed in the last 24 hours",
        value=Photo.objects.filter(status=PhotoStatus.FAILED, updated_at__gte=day_ago).count(),
    )
