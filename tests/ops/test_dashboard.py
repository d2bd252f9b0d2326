"""The operators' dashboard and admin: staff only, figures right on known data."""

from __future__ import annotations

import re
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from apps.ops import selectors
from apps.photos import services
from apps.photos.models import Photo, PhotoStatus
from tests.conftest import staff_login
from tests.factories import UserFactory, uploaded_photo


def test_non_staff_are_refused(client, user) -> None:
    client.force_login(user)
    for url in (reverse("ops_dashboard"), reverse("ops_retry_failed"), reverse("admin:photos_photo_changelist")):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], url
    client.logout()
    assert client.get(reverse("ops_dashboard")).status_code == 302


def test_figures_are_right_on_known_data(user, bucket) -> None:
    now = timezone.now()
    old_user = UserFactory()
    type(old_user).objects.filter(pk=old_user.pk).update(date_joined=now - timedelta(days=10))
    type(user).objects.filter(pk=user.pk).update(date_joined=now - timedelta(days=3))
    UserFactory()  # joined now
    photos = [uploaded_photo(owner=user) for _ in range(3)]
    services.rendition_make_all(photo_id=photos[0].pk)
    Photo.objects.filter(pk=photos[1].pk).update(created_at=now - timedelta(days=2))
    services.photo_mark_failed(photo_id=photos[2].pk, reason="broken")

    figures = selectors.business_figures()
    assert figures["users"] == {"total": 3, "new_24h": 1, "new_7d": 2}
    assert figures["photos_total"] == 3
    photo = Photo.objects.get(pk=photos[0].pk)
    expected_bytes = sum(p.original_bytes for p in Photo.objects.all()) + sum(r.bytes for r in photo.renditions.all())
    assert figures["storage_bytes"] == expected_bytes
    per_day = figures["uploads_per_day"]
    assert (
        len(per_day) == 30 and per_day[-1].count == 2 and per_day[-3].count == 1 and sum(d.count for d in per_day) == 3
    )
    assert figures["failed_24h"] == 1


def test_likes_and_comments_per_day_count_each_day(user, other_user) -> None:
    from apps.social.models import Comment, Like
    from apps.social.services import comment_create, like_set
    from tests.factories import PhotoRowFactory

    photos = [PhotoRowFactory(owner=other_user) for _ in range(3)]
    for photo in photos:
        like_set(user=user, photo=photo, liked=True)
    Like.objects.filter(photo=photos[0]).update(created_at=timezone.now() - timedelta(days=1))
    Like.objects.filter(photo=photos[1]).update(created_at=timezone.now() - timedelta(days=45))  # outside the chart
    comment_create(author=user, photo=photos[0], body="one")
    comment_create(author=other_user, photo=photos[0], body="two")
    Comment.objects.filter(body="two").update(created_at=timezone.now() - timedelta(days=29))
    figures = selectors.business_figures()
    likes = [day.count for day in figures["likes_per_day"]]
    comments = [day.count for day in figures["comments_per_day"]]
    assert likes[-1] == 1 and likes[-2] == 1 and sum(likes) == 2
    assert comments[-1] == 1 and comments[0] == 1 and sum(comments) == 2


def test_dashboard_shows_health_and_retries_failed_photos(
    client, db, bucket, broker_redis, django_capture_on_commit_callbacks
) -> None:
    operator = UserFactory(is_staff=True)
    failed = uploaded_photo(owner=operator, title="Broken one")
    services.photo_mark_failed(photo_id=failed.pk, reason="broken")
    staff_login(client, operator)
    page = client.get(reverse("ops_dashboard")).content.decode()
    for expected in (
        "Failed renditions, 24 h",
        "Retry all",
        "<svg",
        "database",
        "storage",
        "broker",
        "Uploads per day",
    ):
        assert expected in page, expected
    partial = client.get(reverse("ops_dashboard") + "?partial=1").content.decode()
    assert "<html" not in partial and "Uploads per day" in partial

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("ops_retry_failed"))
    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.status == PhotoStatus.PROCESSING
    (message,) = broker_redis.hgetall("dramatiq:renditions.msgs").values()
    assert f'"args":[{failed.pk}]' in message.decode()
    # The Jobs card: the job waits in renditions, with how long it has waited.
    partial = client.get(reverse("ops_dashboard") + "?partial=1").content.decode()
    assert "<th>next job waited</th>" in partial
    assert re.search(r"<tr><td>renditions</td><td>1</td><td>\d+ s</td>", partial), partial


def test_admin_photo_list_shows_thumbnails_with_bounded_queries(
    client, db, bucket, django_assert_max_num_queries
) -> None:
    operator = UserFactory(is_staff=True, is_superuser=True)
    staff_login(client, operator)
    for count in (1, 4):
        while Photo.objects.count() < count:
            photo = uploaded_photo(owner=operator)
            services.rendition_make_all(photo_id=photo.pk)
        with django_assert_max_num_queries(12):
            page = client.get(reverse("admin:photos_photo_changelist")).content.decode()
        assert page.count('style="height:48px') == count


def test_admin_delete_removes_the_files_by_job(
    client, db, bucket, broker_redis, django_capture_on_commit_callbacks
) -> None:
    operator = UserFactory(is_staff=True, is_superuser=True)
    staff_login(client, operator)
    photo = uploaded_photo(owner=operator)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("admin:photos_photo_changelist"), {"action": "delete_with_files", "_selected_action": [photo.pk]}
        )
    assert not Photo.objects.filter(pk=photo.pk).exists()
    (message,) = broker_redis.hgetall("dramatiq:maintenance.msgs").values()
    assert '"actor_name":"delete_stored_files"' in message.decode() and photo.original.name in message.decode()


def test_dashboard_and_report_page_queries_do_not_grow(client, db, bucket) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from photosite.health import readiness_forget

    operator, owner, reporter = UserFactory(is_staff=True), UserFactory(), UserFactory()
    counts = []
    for photos in (1, 5):
        while Photo.objects.count() < photos:
            services.rendition_make_all(photo_id=uploaded_photo(owner=owner).pk)
        staff_login(client, operator)
        readiness_forget()
        with CaptureQueriesContext(connection) as dashboard:
            client.get(reverse("ops_dashboard"))
        client.force_login(reporter)
        photo = Photo.objects.first()
        assert photo is not None
        with CaptureQueriesContext(connection) as report_page:
            client.get(reverse("photo_report", args=[photo.pk]))
        counts.append((len(dashboard.captured_queries), len(report_page.captured_queries)))
    assert counts[0] == counts[1], counts
    assert counts[0][0] <= 13  # session, user, 6 figures, readiness SELECT 1, jobs waiting in the outbox


def test_the_dashboard_speaks_german_to_a_german_operator(client, db, bucket, broker_redis) -> None:
    operator = UserFactory(is_staff=True)
    failed = uploaded_photo(owner=operator, title="Broken one")
    services.photo_mark_failed(photo_id=failed.pk, reason="broken")
    staff_login(client, operator)
    for address in (reverse("ops_dashboard"), reverse("ops_dashboard") + "?partial=1"):
        page = client.get(address, HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9").content.decode()
        for german in (
            "Geschäftszahlen",
            "Fehlgeschlagene Bildgrößen, 24 h",
            "Alle neu versuchen",
            "Uploads pro Tag, letzte 30 Tage",
            "Likes pro Tag · 0 heute",
            "Systemzustand",
            "Abhängigkeit",
            "Job-Warteschlangen",
            "Fotos in 30 Tagen",  # the chart's description
            "aktualisiert sich alle 10 s",
        ):
            assert german in page, (address, german)
        for english in ("Retry all", "Uploads per day", "Business figures", "refreshes every", "in 30 days", "max "):
            assert english not in page, (address, english)
