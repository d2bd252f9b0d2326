"""Actors: the fan-out of a like, comment or follow into notifications, and the daily digest."""

from __future__ import annotations

import dramatiq

from apps.notifications import services
from apps.photos.tasks import MAINTENANCE_QUEUE
from photosite.scheduler import periodic


# On the default queue, beside the renditions' workers: a notification should arrive within
# seconds, not wait behind the maintenance queue's long jobs.
@dramatiq.actor(max_retries=5, min_backoff=1_000, max_backoff=60_000)
def fan_out(kind: str, actor_id: int, target_id: int) -> None:
    """Tell whoever should hear of one like, comment or follow (safe to run twice)."""
    services.notifications_fan_out(kind=kind, actor_id=actor_id, target_id=target_id)


@periodic("5 7 * * *")
@dramatiq.actor(queue_name=MAINTENANCE_QUEUE, max_retries=0, time_limit=60 * 60 * 1000)
def send_digests() -> None:
    """Daily at 07:05 UTC: each person who chose a daily digest is emailed their unread news
    since the last one (notification_digests_send; never the same news twice)."""
    services.notification_digests_send()
