"""Interactive work is never queued behind maintenance: renditions have their own queue and
worker pool (apps/photos/tasks.py), as deployed by compose, Kubernetes and `make stack`."""

from __future__ import annotations

import time

from apps.photos.models import Photo, PhotoStatus
from apps.photos.tasks import rebuild_renditions
from tests.conftest import WorkerProcess, wait_for
from tests.factories import uploaded_photo
from tests.images import jpeg_bytes

BACKLOG = 2000


def seconds_until_ready(photo: Photo, worker: WorkerProcess) -> float:
    started = time.monotonic()
    wait_for(
        lambda: Photo.objects.filter(pk=photo.pk, status=PhotoStatus.READY).exists(),
        timeout=120,
        what=f"photo {photo.pk} to be ready; log:\n{worker.log()[-3000:]}",
    )
    return time.monotonic() - started


def test_a_new_upload_is_ready_in_its_normal_time_behind_2000_maintenance_jobs(
    user, bucket, broker_redis, transactional_db, tmp_path, django_capture_on_commit_callbacks
) -> None:
    # The renditions pool as compose and Kubernetes start it; the maintenance pool is busy
    # elsewhere (or down), so its backlog stays put while we measure.
    worker = WorkerProcess(tmp_path / "renditions-worker.log", queues=("renditions", "default"))
    worker.start()
    try:
        with django_capture_on_commit_callbacks(execute=True):
            first = uploaded_photo(owner=user, data=jpeg_bytes(2400, 1600, seed=1))
        normal = seconds_until_ready(first, worker)  # includes the worker's start

        for _ in range(BACKLOG):
            rebuild_renditions.send(first.pk)
        assert broker_redis.llen("dramatiq:maintenance") == BACKLOG

        with django_capture_on_commit_callbacks(execute=True):
            second = uploaded_photo(owner=user, data=jpeg_bytes(2400, 1600, seed=2))
        behind_backlog = seconds_until_ready(second, worker)
    finally:
        worker.stop()
    assert behind_backlog <= max(normal, 5.0), f"{behind_backlog:.1f} s behind the backlog vs {normal:.1f} s"
    assert broker_redis.llen("dramatiq:maintenance") == BACKLOG, "the renditions pool took no maintenance job"
