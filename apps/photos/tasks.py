"""Dramatiq actors for photos. Each takes ids, calls a service, and is safe to run twice.

Two queues, each with its own worker pool (compose, Kubernetes, `make stack`), so a
backlog of maintenance never delays what someone is waiting for:
- `renditions`: a new upload's or a retried photo's renditions, which a person waits for;
- `maintenance`: re-renders in bulk, storage cleanup, sweeps.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta
from typing import Any

import dramatiq
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from apps.photos import services
from photosite.scheduler import periodic

logger = logging.getLogger(__name__)
RENDITIONS_QUEUE = "renditions"
MAINTENANCE_QUEUE = "maintenance"


@dramatiq.actor(
    queue_name=RENDITIONS_QUEUE,
    max_retries=5,
    min_backoff=1_000,
    max_backoff=60_000,
    time_limit=5 * 60 * 1000,
    on_retry_exhausted="renditions_gave_up",
)
def make_renditions(photo_id: int) -> None:
    started = time.monotonic()
    services.rendition_make_all(photo_id=photo_id)
    # The job's own share of a photo's upload-to-ready time; the rest is the upload and the queue.
    took = time.monotonic() - started
    logger.info(
        "renditions job for photo %s took %.2f s",
        photo_id,
        took,
        extra={"labels.photo_id": photo_id, "event.action": "renditions-job", "event.duration": int(took * 1e9)},
    )


@dramatiq.actor(queue_name=RENDITIONS_QUEUE, max_retries=0)
def renditions_gave_up(message_data: dict[str, Any], retry_info: dict[str, Any]) -> None:
    """Retries are spent (storage or database down for minutes): tell the owner."""
    (photo_id,) = message_data["args"]
    services.photo_mark_failed(
        photo_id=photo_id,
        reason="We could not process this photo after several tries. Please retry it.",
    )


@dramatiq.actor(queue_name=MAINTENANCE_QUEUE, max_retries=10, min_backoff=5_000, max_backoff=300_000)
def delete_stored_files(names: list[str], purge: bool = True) -> None:
    """Remove objects no row names; with `purge`, then drop their public URLs from the caches
    in front (a failed purge retries the whole job, which is safe to rerun)."""
    services.stored_files_delete(names=names, purge=purge)


@dramatiq.actor(queue_name=MAINTENANCE_QUEUE, max_retries=5, min_backoff=5_000, max_backoff=300_000)
def rebuild_renditions(photo_id: int) -> None:
    """The same work as make_renditions, for bulk re-renders: behind maintenance, not uploads."""
    services.rendition_make_all(photo_id=photo_id)


@periodic("* * * * *")
@dramatiq.actor(queue_name=RENDITIONS_QUEUE, max_retries=0)
def requeue_stuck_photos() -> None:
    """The reaper: photos processing for longer than PHOTOS_STUCK_AFTER_SECONDS get their job again."""
    services.photo_requeue_unfinished(before=timezone.now() - timedelta(seconds=settings.PHOTOS_STUCK_AFTER_SECONDS))


@periodic("17 3 * * *")
@dramatiq.actor(queue_name=MAINTENANCE_QUEUE, max_retries=0, time_limit=6 * 60 * 60 * 1000)
def sweep_storage() -> None:
    """Daily: remove objects no row names, re-render photos whose files went missing."""
    call_command("storage_sweep", "--delete")  # by name: the sweep lives in the command for now


@periodic("41 * * * *")
@dramatiq.actor(queue_name=MAINTENANCE_QUEUE, max_retries=0, time_limit=60 * 60 * 1000)
def sweep_superseded_files() -> None:
    """Hourly: remove the files re-renders replaced, once PHOTOS_SUPERSEDED_GRACE_SECONDS are up.

    A job the scheduler sends, not a message delayed in the broker until the files are due:
    RabbitMQ gives up on a message a consumer holds for more than 30 minutes, and a day's
    delay would outlive a broker flush. Two at once (a slow one overlapping the next hour's)
    split the rows between them; a failed one leaves its batch to the next hour.
    """
    removed = services.superseded_files_sweep()
    if removed:
        logger.info(
            "removed %d superseded rendition file(s)", removed, extra={"event.action": "superseded-files-swept"}
        )
