"""A re-render's superseded rendition files stay for PHOTOS_SUPERSEDED_GRACE_SECONDS, for pages
made before it (open in a browser, kept by a cache), and the hourly sweep removes them after;
takedowns and deletes do not wait. Real PostgreSQL and SeaweedFS; a real worker where a job runs.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests
from django.core.management import call_command
from django.db import connection, transaction
from django.db.models import QuerySet
from django.test import Client
from django.utils import timezone

from apps.accounts.services import account_delete
from apps.photos import services
from apps.photos.imaging import PIPELINE_VERSION
from apps.photos.models import Photo, SupersededFile, Visibility
from apps.photos.services import rendition_make_all, superseded_files_sweep
from tests.conftest import ROOT, WorkerProcess, subprocess_env_for_test_database, wait_for
from tests.factories import UserFactory, ready_photo
from tests.photos.test_rebuild import NEW, OLD, as_made_by_the_previous_pipeline

RENDITION_URL = re.compile(r"https?://[^\"'\s,]+/renditions/[^\"'\s,]+")


def rebuilt(photo: Photo) -> list[str]:
    """Give the photo an older pipeline's renditions, rebuild it in place; the old URLs."""
    old_urls = as_made_by_the_previous_pipeline(photo)
    rendition_make_all(photo_id=photo.pk)
    assert all(NEW in str(name) for name in photo.renditions.values_list("file", flat=True))
    return old_urls


def gone(url: str) -> bool:
    return requests.get(url, timeout=10).status_code in (403, 404)


def answers(url: str) -> bool:
    return requests.get(url, timeout=10).status_code == 200


@contextmanager
def rows_held_elsewhere(rows: QuerySet[Any]) -> Iterator[None]:
    """These rows locked FOR UPDATE by another connection (a thread) while the block runs."""
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        try:
            with transaction.atomic():
                list(rows.select_for_update())
                holding.set()
                release.wait(timeout=60)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert holding.wait(timeout=10)
        yield
    finally:
        release.set()
        holder.join(timeout=70)


def past_grace(settings) -> datetime:
    return timezone.now() + timedelta(seconds=settings.PHOTOS_SUPERSEDED_GRACE_SECONDS + 1)


def test_a_page_made_before_a_rebuild_still_shows_its_pictures_until_the_grace_period_is_up(
    user, bucket, broker_redis, settings, django_capture_on_commit_callbacks
) -> None:
    photo = ready_photo(user, title="Sunset")
    as_made_by_the_previous_pipeline(photo)
    page = Client().get(f"/photos/{photo.pk}/").content.decode()  # a visitor opens it ...
    linked = sorted(set(RENDITION_URL.findall(page)))
    assert linked and all(OLD in url for url in linked)

    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):  # its cached page is dropped on commit
        rendition_make_all(photo_id=photo.pk)  # ... and the photo is re-rendered meanwhile
    assert NEW in Client().get(f"/photos/{photo.pk}/").content.decode()

    # Every picture of the open page still loads; the files wait a day, by name.
    assert all(answers(url) for url in linked)
    waiting = list(SupersededFile.objects.filter(photo_id=photo.pk))
    assert {row.name for row in waiting} == {
        str(name).replace(NEW, OLD) for name in photo.renditions.values_list("file", flat=True)
    }
    grace = timedelta(seconds=settings.PHOTOS_SUPERSEDED_GRACE_SECONDS)
    assert grace >= timedelta(days=1) and all(row.delete_after >= before + grace for row in waiting)

    # An hour's sweep before it is up removes nothing.
    assert superseded_files_sweep(now=timezone.now() + grace - timedelta(minutes=1)) == 0
    assert all(answers(url) for url in linked)

    # After it, the files are gone and so are their rows; the new ones stay.
    assert superseded_files_sweep(now=past_grace(settings)) == len(waiting)
    assert all(gone(url) for url in linked)
    assert not SupersededFile.objects.exists()
    assert all(answers(rendition.url) for rendition in photo.renditions.all())
    assert superseded_files_sweep(now=past_grace(settings)) == 0  # a second run finds nothing


def test_two_sweeps_at_once_remove_each_file_once_without_errors(
    user, bucket, broker_redis, transactional_db, settings
) -> None:
    old_urls = [url for index in range(4) for url in rebuilt(ready_photo(user, title=f"Photo {index}"))]
    due = SupersededFile.objects.count()
    assert due == len(old_urls) >= 8
    when = past_grace(settings)
    start = threading.Barrier(2)
    removed: list[int] = []
    errors: list[BaseException] = []

    def sweep() -> None:
        try:
            start.wait(timeout=10)
            removed.append(superseded_files_sweep(now=when, batch_size=1))  # many small transactions
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    sweepers = [threading.Thread(target=sweep) for _ in range(2)]
    for sweeper in sweepers:
        sweeper.start()
    for sweeper in sweepers:
        sweeper.join(timeout=120)
    assert not errors, errors
    assert len(removed) == 2 and sum(removed) == due  # every row taken by exactly one of them
    assert all(gone(url) for url in old_urls)
    assert not SupersededFile.objects.exists()


def test_a_sweep_passes_over_rows_another_sweep_holds_and_leaves_them_to_it(
    user, bucket, broker_redis, transactional_db, settings
) -> None:
    old_urls = rebuilt(ready_photo(user, title="Held"))
    held_names = list(SupersededFile.objects.order_by("pk").values_list("name", flat=True)[:2])
    with rows_held_elsewhere(SupersededFile.objects.filter(name__in=held_names)):  # another sweep mid-batch
        # Does not wait for the held rows (it would only return after the 60 s they are held, with them).
        removed = superseded_files_sweep(now=past_grace(settings))
    assert removed == len(old_urls) - 2
    assert sorted(SupersededFile.objects.values_list("name", flat=True)) == sorted(held_names)
    assert superseded_files_sweep(now=past_grace(settings)) == 2
    assert all(gone(url) for url in old_urls)


def test_a_sweep_passes_over_a_photo_a_writer_holds_and_takes_its_files_on_the_next_run(
    user, bucket, broker_redis, transactional_db, settings
) -> None:
    """A job, a visibility move or a takedown holds the photo's row while it puts files under
    its names: the sweep never removes a file from under it, and never makes it wait."""
    photo = ready_photo(user, title="Busy")
    old_urls = rebuilt(photo)
    with rows_held_elsewhere(Photo.objects.filter(pk=photo.pk)):  # a writer holding the photo
        assert superseded_files_sweep(now=past_grace(settings)) == 0  # returns without waiting
        assert all(answers(url) for url in old_urls)
    assert superseded_files_sweep(now=past_grace(settings)) == len(old_urls)
    assert all(gone(url) for url in old_urls)


def test_a_move_into_a_name_still_waiting_makes_it_live_again(user, bucket, broker_redis, settings) -> None:
    """A private photo's rebuild left its old private keys waiting; rolled back while public,
    those keys are its public ones. Made private again, its files move onto the waiting
    private names: the sweep must not remove them."""
    photo = ready_photo(user, title="Back and forth")
    services.photo_update(photo=photo, title=photo.title, caption="", alt_text="", visibility=Visibility.PRIVATE)
    private_names = list(photo.renditions.values_list("file", flat=True))
    services.superseded_files_keep(photo_id=photo.pk, names=private_names)  # as a rebuild records them
    services.photo_update(photo=photo, title=photo.title, caption="", alt_text="", visibility=Visibility.PUBLIC)
    assert not SupersededFile.objects.exclude(name__in=private_names).exists()
    services.photo_update(photo=photo, title=photo.title, caption="", alt_text="", visibility=Visibility.PRIVATE)
    assert sorted(photo.renditions.values_list("file", flat=True)) == sorted(private_names)
    assert not SupersededFile.objects.filter(name__in=private_names).exists()  # live again
    superseded_files_sweep(now=past_grace(settings))
    assert set(bucket.keys("private/renditions/")) >= set(private_names)


def test_a_file_a_rendition_names_again_is_never_removed_by_the_sweep(
    user, bucket, broker_redis, settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    photo = ready_photo(user, title="Rolled back")
    old_urls = rebuilt(photo)  # the older pipeline's files now wait for their grace period
    assert SupersededFile.objects.filter(photo_id=photo.pk).count() == len(old_urls)

    # The operators roll the pipeline back and rebuild: the old keys are the current ones again.
    monkeypatch.setattr(services, "PIPELINE_VERSION", PIPELINE_VERSION - 1)
    rendition_make_all(photo_id=photo.pk)
    current = sorted(rendition.url for rendition in photo.renditions.all())
    assert current == sorted(old_urls)
    assert all(NEW in name for name in SupersededFile.objects.values_list("name", flat=True))

    # A row recorded for a key a rendition names (two jobs of different versions racing) is
    # dropped by the sweep, its file kept.
    services.superseded_files_keep(photo_id=photo.pk, names=[photo.renditions.values_list("file", flat=True)[0]])
    superseded_files_sweep(now=past_grace(settings))
    assert all(answers(url) for url in current)
    assert not SupersededFile.objects.exists()
    assert not any(NEW in key for key in bucket.keys("public/renditions/"))


def test_a_takedown_during_the_grace_period_removes_the_superseded_files_at_once(
    user, bucket, worker: WorkerProcess
) -> None:
    moderator = UserFactory(is_staff=True)
    hidden, private, deleted, kept = (
        ready_photo(user, title=title) for title in ("Hidden", "Private", "Deleted", "Untouched")
    )
    old_urls = {photo.title: rebuilt(photo) for photo in (hidden, private, deleted, kept)}
    assert all(answers(url) for urls in old_urls.values() for url in urls)

    services.photo_hide(photo=hidden, moderator=moderator, reason="Reported")
    services.photo_update(photo=private, title="Private", caption="", alt_text="", visibility=Visibility.PRIVATE)
    services.photo_delete(photo_id=deleted.pk)

    taken_down = [url for title in ("Hidden", "Private", "Deleted") for url in old_urls[title]]
    wait_for(
        lambda: all(gone(url) for url in taken_down),
        timeout=30,
        what=f"the superseded public files to go with the takedown; worker log:\n{worker.log()}",
    )
    assert set(SupersededFile.objects.values_list("photo_id", flat=True)) == {kept.pk}
    assert all(answers(url) for url in old_urls["Untouched"])


def test_an_account_deletion_removes_its_superseded_files_at_once(user, bucket, worker: WorkerProcess) -> None:
    old_urls = rebuilt(ready_photo(user, title="Mine"))
    assert all(answers(url) for url in old_urls)
    account_delete(user_id=user.pk)
    # No waiting for the grace period or a sweep: a deleted person's pictures go with them.
    assert not SupersededFile.objects.exists()
    wait_for(lambda: all(gone(url) for url in old_urls), timeout=30, what=f"the files to go; log:\n{worker.log()}")


def test_the_storage_sweep_counts_waiting_files_as_kept_not_orphans_and_removes_them_when_due(
    user, bucket, broker_redis, settings
) -> None:
    old_urls = rebuilt(ready_photo(user, title="Swept"))
    out = io.StringIO()
    call_command("storage_sweep", "--grace-minutes", "0", "--delete", stdout=out)
    report = out.getvalue()
    assert "Orphaned objects (no row): 0" in report, report
    assert f"Superseded files kept for pages that may still link them: {len(old_urls)}" in report
    assert all(answers(url) for url in old_urls)

    SupersededFile.objects.update(delete_after=timezone.now() - timedelta(seconds=1))  # a day went by
    out = io.StringIO()
    call_command("storage_sweep", "--grace-minutes", "0", "--delete", stdout=out)
    report = out.getvalue()
    assert f"Superseded files past their grace period, removed: {len(old_urls)}" in report, report
    assert "Orphaned objects (no row): 0" in report
    assert all(gone(url) for url in old_urls)
    assert not SupersededFile.objects.exists()


def test_the_scheduler_sends_the_superseded_files_sweep_every_hour_to_the_maintenance_workers() -> None:
    from dramatiq_crontab import scheduler

    from apps.photos import tasks  # registers its schedules

    schedules = {job.name: str(job.trigger) for job in scheduler.get_jobs()}
    assert "minute='41'" in schedules["sweep_superseded_files"] and "hour='*'" in schedules["sweep_superseded_files"]
    assert tasks.sweep_superseded_files.queue_name == tasks.MAINTENANCE_QUEUE


def test_a_grace_period_shorter_than_half_an_hour_is_refused_at_start_up() -> None:
    """Anything near a renditions job's 5 minutes lets a sweep remove a key a job is storing
    again (a pipeline rolled back): the site refuses to start rather than lose pictures."""
    env = subprocess_env_for_test_database()
    refused = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**env, "PHOTOS_SUPERSEDED_GRACE_SECONDS": "60"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode != 0 and "PHOTOS_SUPERSEDED_GRACE_SECONDS must be at least 1800" in refused.stderr
    accepted = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**env, "PHOTOS_SUPERSEDED_GRACE_SECONDS": "3600"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert accepted.returncode == 0, accepted.stderr
