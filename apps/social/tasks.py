"""Periodic jobs: counts copied onto the rows every minute and repaired daily; Popular ranked
every ten minutes."""

from __future__ import annotations

import dramatiq
from django.utils import timezone

from apps.photos.services import listing_counts_reconcile
from apps.photos.tasks import MAINTENANCE_QUEUE
from apps.social import services
from photosite.scheduler import periodic


@periodic("* * * * *")
@dramatiq.actor(queue_name=MAINTENANCE_QUEUE, max_retries=0)
def snapshot_counts() -> None:
    """Every minute: counts that moved are copied onto Photo and User (lists read the copies)."""
    services.counts_snapshot(since=timezone.now() - services.SNAPSHOT_OVERLAP)


@periodic("*/10 * * * *")
@dramatiq.actor(queue_name=MAINTENANCE_QUEUE, max_retries=0)
def refresh_popular() -> None:
    """Every ten minutes: Popular is ranked again from the week's likes (popular_refresh)."""
    services.popular_refresh()


@periodic("37 2 * * *")
@dramatiq.actor(queue_name=MAINTENANCE_QUEUE, max_retries=0, time_limit=2 * 60 * 60 * 1000)
def reconcile_counts() -> None:
    """Daily: every denormalized count is checked against its rows and repaired (counts_reconcile)."""
    services.counts_reconcile()
    listing_counts_reconcile()
