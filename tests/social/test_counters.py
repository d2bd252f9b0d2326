"""Counts kept in sharded counters: off the photo's row, right under concurrency, repaired by
counts_reconcile, copied onto the rows for lists, and cards that stay cached while likes arrive."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.urls import reverse

from apps.accounts.models import User
from apps.photos.caching import photo_card_key
from apps.photos.models import Photo
from apps.social import services
from apps.social.models import PHOTO_LIKES, USER_FOLLOWERS, Comment, Like
from apps.social.selectors import PhotoCounts, person_counts, photo_counts
from photosite.counters import counter_add
from tests.factories import PhotoRowFactory, UserFactory, ready_photo


def test_likes_keep_the_photo_card_cached_and_the_page_shows_each_new_count(
    client, user, other_user, bucket, django_capture_on_commit_callbacks
) -> None:
    photo = ready_photo(other_user, title="Viral")
    assert client.get(reverse("photo_detail", args=[photo.pk])).status_code == 200  # caches the card
    assert cache.get(photo_card_key(photo.pk)) is not None
    client.force_login(user)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("photo_like", args=[photo.pk]), {"liked": "1"}, HTTP_ACCEPT="application/json")
    assert response.json() == {"liked": True, "count": 1}
    assert cache.get(photo_card_key(photo.pk)) is not None  # the like did not forget the card
    client.logout()
    assert (
        "<strong data-like-count>1</strong> like"
        in client.get(reverse("photo_detail", args=[photo.pk])).content.decode()
    )
    assert client.get(f"/api/v1/photos/{photo.pk}/").json()["like_count"] == 1


def test_counts_snapshot_copies_counts_that_moved_onto_the_photo_and_person_rows(user, other_user) -> None:
    photo = PhotoRowFactory(owner=other_user)
    services.like_set(user=user, photo=photo, liked=True)
    services.comment_create(author=user, photo=photo, body="Nice")
    services.follow_set(follower=user, followee=other_user, following=True)
    photo.refresh_from_db()
    assert photo.like_count == 0  # not written by the like: the photo row stays out of its way
    call_command("counts_snapshot")
    photo.refresh_from_db()
    other_user.refresh_from_db()
    user.refresh_from_db()
    assert (photo.like_count, photo.comment_count) == (1, 1)
    assert (other_user.follower_count, user.following_count) == (1, 1)


def test_counts_reconcile_repairs_every_count_from_the_rows(user, other_user) -> None:
    photo = PhotoRowFactory(owner=other_user)
    services.like_set(user=user, photo=photo, liked=True)
    services.comment_create(author=user, photo=photo, body="Nice")
    services.follow_set(follower=user, followee=other_user, following=True)
    # Drift of every kind: shards that say too much, rows removed behind the services' back.
    counter_add(PHOTO_LIKES, photo.pk, 41)
    counter_add(USER_FOLLOWERS, other_user.pk, -1)
    Comment.objects.all().delete()
    counter_add(PHOTO_LIKES, 999_999, 3)  # a photo that no longer exists
    output = StringIO()
    call_command("counts_reconcile", stdout=output)
    assert "photo.likes: 2 wrong" in output.getvalue()
    assert photo_counts(photo_id=photo.pk) == PhotoCounts(likes=1, comments=0)
    assert person_counts(user_id=other_user.pk).followers == 1
    photo.refresh_from_db()
    assert (photo.like_count, photo.comment_count) == (1, 0)  # the copies too
    again = StringIO()
    call_command("counts_reconcile", stdout=again)
    assert "photo.likes: 0 wrong" in again.getvalue()


@pytest.mark.django_db(transaction=True)
def test_reconcile_while_people_like_loses_no_like() -> None:
    """The repair adds a difference read in one snapshot: likes committed while it runs stay counted."""
    owner = UserFactory()
    photo = PhotoRowFactory(owner=owner)
    likers = [UserFactory() for _ in range(40)]
    counter_add(PHOTO_LIKES, photo.pk, 7)  # drift for the reconciler to find
    stop = threading.Event()

    def reconcile_in_a_loop() -> None:
        try:
            while not stop.is_set():
                services.counts_reconcile()
        finally:
            connection.close()

    def like(liker: User) -> None:
        try:
            services.like_set(user=liker, photo=Photo.objects.get(pk=photo.pk), liked=True)
        finally:
            connection.close()

    reconciler = threading.Thread(target=reconcile_in_a_loop)
    reconciler.start()
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(like, likers))
    finally:
        stop.set()
        reconciler.join()
    # No repair after the likes: the count is right because none was lost or counted twice.
    assert photo_counts(photo_id=photo.pk).likes == Like.objects.filter(photo=photo).count() == 40


def test_the_scheduler_copies_counts_every_minute_ranks_popular_and_repairs_daily() -> None:
    from dramatiq_crontab import scheduler

    import apps.social.tasks  # registers its schedules

    schedules = {job.name: str(job.trigger) for job in scheduler.get_jobs()}
    assert "minute='*'" in schedules["snapshot_counts"] and "hour='*'" in schedules["snapshot_counts"]
    assert "minute='*/10'" in schedules["refresh_popular"]
    assert "hour='2'" in schedules["reconcile_counts"]
    assert apps.social.tasks.reconcile_counts.queue_name == "maintenance"
