"""Real Dramatiq worker processes on the Redis broker: a killed worker loses no job."""

from __future__ import annotations

import redis
from django.conf import settings

from apps.photos.models import Photo, PhotoStatus
from tests.conftest import WorkerProcess, wait_for
from tests.factories import uploaded_photo
from tests.images import jpeg_bytes


def jobs_in_progress(connection: redis.Redis) -> int:
    """Messages a worker has taken but not yet acknowledged (Dramatiq's per-worker ack sets)."""
    return sum(connection.scard(key) for key in connection.scan_iter("dramatiq:__acks__.*"))


def test_a_worker_killed_mid_rendition_loses_no_job(
    user, bucket, broker_redis, transactional_db, tmp_path, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        photos = [uploaded_photo(owner=user, data=jpeg_bytes(6000, 4000, seed=seed)) for seed in range(3)]
    first = WorkerProcess(tmp_path / "first-worker.log")  # the settings production runs with
    first.start()
    try:
        wait_for(lambda: jobs_in_progress(broker_redis) > 0, timeout=60, what="the worker to take a job")
        first.kill()
    finally:
        first.stop()
    unfinished = Photo.objects.filter(pk__in=[p.pk for p in photos], status=PhotoStatus.PROCESSING).count()
    assert unfinished > 0, "the worker must die with work in hand for this test to mean anything"

    second = WorkerProcess(tmp_path / "second-worker.log")
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
        assert photo.renditions.count() == 8  # 4 sizes in AVIF and in JPEG
    assert settings.BROKER_URL.startswith("redis://")


def holders(connection: redis.Redis) -> set[bytes]:
    """The workers' ack sets that hold a message: who has a job in hand."""
    return {key for key in connection.scan_iter("dramatiq:__acks__.*") if connection.scard(key)}


def test_a_killed_workers_job_is_taken_by_another_within_ten_seconds_with_the_default_settings(
    user, bucket, broker_redis, transactional_db, tmp_path, django_capture_on_commit_callbacks
) -> None:
    """Deterministic, not left to chance: every worker beats and sweeps for dead workers'
    jobs once a second (photosite.broker.RedisRedelivery), and a worker silent for
    BROKER_HEARTBEAT_TIMEOUT_MS (5 s by default) is dead."""
    import os
    import signal
    import time

    first = WorkerProcess(tmp_path / "first-worker.log")
    second = WorkerProcess(tmp_path / "second-worker.log")
    first.start()
    second.start()
    try:
        wait_for(lambda: len(list(broker_redis.scan_iter("dramatiq:photosite-workers:*"))) == 2, what="both workers")
        assert second.process is not None
        os.killpg(second.process.pid, signal.SIGSTOP)  # so the first takes the job
        try:
            with django_capture_on_commit_callbacks(execute=True):
                photo = uploaded_photo(owner=user, data=jpeg_bytes(6000, 4000, seed=7))
            wait_for(lambda: jobs_in_progress(broker_redis) > 0, timeout=60, what="the first worker to take the job")
            killed_holder = holders(broker_redis)
            first.kill()
            killed_at = time.monotonic()
        finally:
            os.killpg(second.process.pid, signal.SIGCONT)
        assert Photo.objects.get(pk=photo.pk).status == PhotoStatus.PROCESSING
        wait_for(lambda: holders(broker_redis) - killed_holder, timeout=30, what="another worker to take the job")
        handed_over_in = time.monotonic() - killed_at
        wait_for(
            lambda: Photo.objects.filter(pk=photo.pk, status=PhotoStatus.READY).exists(),
            timeout=60,
            what=f"the killed worker's job to complete; log:\n{second.log()[-3000:]}",
        )
    finally:
        first.stop()
        second.stop()
    # The heartbeat timeout (5 s) and at most a second's sweep; the job's own run comes on
    # top (bench/drills.py worker measures both, docs/PERFORMANCE.md). The bound tells the
    # mechanism from chance (Dramatiq's default took a minute or more), with room for a
    # loaded machine: this is not a speed test, the drill's figure is.
    assert handed_over_in <= 20, f"another worker took the job {handed_over_in:.1f} s after the kill"


def test_a_worker_started_as_production_starts_it_renders_with_its_allocator_and_queue_settings(
    user, bucket, broker_redis, transactional_db, tmp_path, django_capture_on_commit_callbacks
) -> None:
    """compose, Kubernetes and `make stack` all start workers with start-worker, which sets
    what a worker's memory and a job's wait depend on: glibc's arena limit, one job taken
    per free thread, a quarter-second look at idle queues (docs/PERFORMANCE.md, Jobs)."""
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from tests.conftest import ROOT, subprocess_env_for_test_database

    environment = subprocess_env_for_test_database()
    environment.pop("MALLOC_ARENA_MAX", None)
    environment.update(
        WORKER_PROCESSES="1",
        WORKER_THREADS="3",
        PATH=f"{Path(sys.executable).parent}:{environment.get('PATH', '/usr/bin:/bin')}",
    )
    log = tmp_path / "start-worker.log"
    process = subprocess.Popen(
        ["bash", str(ROOT / "compose" / "production" / "django" / "start-worker"), "--queues", "renditions"],
        cwd=ROOT,
        env=environment,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for(lambda: list(broker_redis.scan_iter("dramatiq:photosite-workers:*")), what="the worker to boot")
        with open(f"/proc/{process.pid}/environ", "rb") as raw:  # the worker's own, after the script's exec
            seen = dict(item.decode().split("=", 1) for item in raw.read().split(b"\0") if b"=" in item)
        assert seen["MALLOC_ARENA_MAX"] == "2"
        assert seen["dramatiq_queue_prefetch"] == "3"  # as many as it has threads
        assert seen["dramatiq_worker_timeout"] == "250"
        with django_capture_on_commit_callbacks(execute=True):
            photo = uploaded_photo(owner=user, data=jpeg_bytes(1600, 1200, seed=11))
        wait_for(
            lambda: Photo.objects.filter(pk=photo.pk, status=PhotoStatus.READY).exists(),
            timeout=120,
            what=f"the upload's renditions; log:\n{log.read_text(errors='replace')[-3000:]}",
        )
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
