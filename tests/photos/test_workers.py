"""Real Dramatiq worker processes on the Redis broker: a killed worker loses no job."""

from __future__ import annotations

import redis
from django.conf import settings

from apps.photos.models import Photo, PhotoStatus
from tests.conftest import WorkerProcess, wait_for
from tests.factories import uploaded_photo
from tests.images import jpeg_bytes

# Quick failure detection for the test; production keeps 60 s (settings.py).
FAST_REDELIVERY = {"BROKER_HEARTBEAT_TIMEOUT_MS": "2000", "BROKER_MAINTENANCE_CHANCE": "1000000"}


def jobs_in_progress(connection: redis.Redis) -> int:
    """Messages a worker has taken but not yet acknowledged (Dramatiq's per-worker ack sets)."""
    return sum(connection.scard(key) for key in connection.scan_iter("dramatiq:__acks__.*"))


def test_a_worker_killed_mid_rendition_loses_no_job(
    user, bucket, broker_redis, transactional_db, tmp_path, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        photos = [uploaded_photo(owner=user, data=jpeg_bytes(6000, 4000, seed=seed)) for seed in range(3)]
    first = WorkerProcess(tmp_path / "first-worker.log", **FAST_REDELIVERY)
    first.start()
    try:
        wait_for(lambda: jobs_in_progress(broker_redis) > 0, timeout=60, what="the worker to take a job")
        first.kill()
    finally:
        first.stop()
    unfinished = Photo.objects.filter(pk__in=[p.pk for p in photos], status=PhotoStatus.PROCESSING).count()
    assert unfinished > 0, "the worker must die with work in hand for this test to mean anything"

    second = WorkerProcess(tmp_path / "second-worker.log", **FAST_REDELIVERY)
    second.start()
    try:
        wait_for(
            lambda: Photo.objects.filter(pk__in=[p.pk for p in photos], status=PhotoStatus.READY).count() == 3,
            timeout=120,
            what=f"every photo to be rendered after the crash; log:\n{second.log()}",
        )
    finally:
        second.stop()
    for photo in photos:
        photo.refresh_from_db()
        assert photo.renditions.count() == 10
    assert settings.BROKER_URL.startswith("redis://")
