"""Reads for the operators' dashboard: business figures and system health."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from apps.accounts.models import User
from apps.moderation.models import Report, ReportStatus
from apps.photos.models import Photo, PhotoStatus, Rendition
from apps.social.models import Comment, Like


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
