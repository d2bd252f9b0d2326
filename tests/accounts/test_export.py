"""Data export: a zip of originals, photo details, albums and comments, built by a job on the
maintenance queue, kept privately, downloaded through a signed link that expires."""

from __future__ import annotations

import io
import json
import zipfile

import requests
from django.urls import reverse

from apps.accounts import tasks
from apps.accounts.models import DataExport, ExportStatus
from apps.accounts.services import data_export_expire
from apps.albums.services import album_add_photos, album_create
from apps.photos.models import Visibility
from apps.social.services import comment_create
from tests.conftest import wait_for
from tests.factories import UserFactory, ready_photo


def test_export_jobs_run_on_the_maintenance_queue() -> None:
    assert tasks.build_data_export.queue_name == "maintenance"
    assert tasks.accounts_sweep.queue_name == "maintenance"


def test_a_person_downloads_a_zip_of_their_data_through_a_signed_link(client, bucket, worker, settings) -> None:
    owner, friend = UserFactory(display_name="Exporter"), UserFactory()
    lake = ready_photo(owner, title="Lake", tags="water blue")
    secret = ready_photo(owner, title="Secret", visibility=Visibility.PRIVATE)
    friends = ready_photo(friend, title="Hill")
    album_add_photos(album=album_create(owner=owner, title="Best"), photo_ids=[secret.pk, lake.pk])
    comment_create(author=owner, photo=friends, body="Great hill")

    client.force_login(owner)
    assert client.post(reverse("data_export")).status_code == 302
    export = DataExport.objects.get(user=owner)
    wait_for(
        lambda: DataExport.objects.get(pk=export.pk).status == ExportStatus.READY,
        timeout=60,
        what=f"the export job; worker log:\n{worker.log()}",
    )
    export.refresh_from_db()
    assert export.key.startswith("private/exports/") and export.key in bucket.keys()
    assert export.photo_count == 2

    page = client.get(reverse("data_export")).content.decode()
    link = page.split('id="export-download" href="')[1].split('"')[0]
    redirect = client.get(link)
    assert redirect.status_code == 302
    signed_url = redirect["Location"]
    assert "Signature=" in signed_url
    assert requests.get(signed_url.split("?")[0], timeout=10).status_code == 403  # private without it
    download = requests.get(signed_url, timeout=10)
    assert download.status_code == 200
    expected_name = f"photosite-{owner.username}-{export.created_at:%Y-%m-%d}.zip"
    assert download.headers["Content-Disposition"] == f'attachment; filename="{expected_name}"'

    archive = zipfile.ZipFile(io.BytesIO(download.content))
    assert archive.testzip() is None
    names = archive.namelist()
    photos = json.loads(archive.read("photos.json"))
    assert [photo["title"] for photo in photos] == ["Lake", "Secret"]
    assert photos[0]["tags"] == ["blue", "water"] and photos[1]["visibility"] == "private"
    assert photos[0]["licence"] == "all-rights-reserved"
    for record, photo in zip(photos, [lake, secret], strict=True):
        assert record["file"] in names
        assert archive.read(record["file"]) == bucket.get(photo.original.name)  # the original, byte for byte
    (album,) = json.loads(archive.read("albums.json"))
    assert album["title"] == "Best" and album["photo_ids"] == [secret.pk, lake.pk]
    assert album["visibility"] == "public"
    (comment,) = json.loads(archive.read("comments.json"))
    assert comment["body"] == "Great hill" and comment["photo_id"] == friends.pk
    assert json.loads(archive.read("profile.json"))["display_name"] == "Exporter"
    assert not any("Hill" in name for name in names)  # nobody else's photos

    # The link is for its owner only, and only until it expires.
    client.force_login(friend)
    assert client.get(link).status_code == 404
    client.force_login(owner)
    settings.EXPORT_LINK_HOURS = 0
    assert client.get(link).status_code == 404
    DataExport.objects.filter(pk=export.pk).update(expires_at=export.created_at)
    data_export_expire(export_id=export.pk)
    assert export.key not in bucket.keys() and not DataExport.objects.filter(pk=export.pk).exists()


def test_a_second_request_while_one_is_being_prepared_changes_nothing(client, user, broker_redis) -> None:
    client.force_login(user)
    client.post(reverse("data_export"))
    client.post(reverse("data_export"))
    assert DataExport.objects.filter(user=user).count() == 1
    assert "being prepared" in client.get(reverse("account_settings")).content.decode()


def test_the_hourly_sweep_removes_expired_exports_and_stray_zips(user, bucket) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from apps.accounts.services import EXPORT_ORPHAN_GRACE, data_exports_sweep
    from photosite.storage import object_save

    expired_key = object_save("private/exports/expired.zip", b"zip")
    stray_key = object_save("private/exports/stray.zip", b"zip")
    live_key = object_save("private/exports/live.zip", b"zip")
    now = timezone.now()
    DataExport.objects.create(user=user, status=ExportStatus.READY, key=expired_key, expires_at=now)
    live = DataExport.objects.create(
        user=user, status=ExportStatus.READY, key=live_key, expires_at=now + timedelta(hours=1)
    )

    assert data_exports_sweep() == 1  # the stray zip is younger than the grace period
    assert list(DataExport.objects.values_list("pk", flat=True)) == [live.pk]
    assert expired_key not in bucket.keys() and stray_key in bucket.keys()

    later = now + EXPORT_ORPHAN_GRACE + timedelta(minutes=1)
    DataExport.objects.filter(pk=live.pk).update(expires_at=later + timedelta(hours=1))
    assert data_exports_sweep(now=later) == 1
    assert bucket.keys("private/exports/") == [live_key]


def test_the_zip_lists_their_notifications_and_share_links_without_password_hashes(db, bucket, settings) -> None:
    from apps.accounts.exports import archive_write
    from apps.notifications.services import notifications_fan_out, notifications_mark_read
    from apps.sharing.models import ShareLink
    from apps.sharing.services import share_link_create, share_link_revoke
    from apps.social.services import follow_set, like_set

    owner, fan, other = UserFactory(), UserFactory(), UserFactory()
    photo = ready_photo(owner, title="Lake", visibility=Visibility.PRIVATE)
    public = ready_photo(owner, title="Hill")
    album = album_create(owner=owner, title="Trip", visibility=Visibility.UNLISTED)
    like_set(user=fan, photo=public, liked=True)
    like_set(user=other, photo=public, liked=True)
    follow_set(follower=fan, followee=owner, following=True)
    for kind, actor, target in [("like", fan, public.pk), ("like", other, public.pk), ("follow", fan, owner.pk)]:
        notifications_fan_out(kind=kind, actor_id=actor.pk, target_id=target)
    notifications_mark_read(
        user=owner, ids=list(owner.notifications.filter(kind="follow").values_list("pk", flat=True))
    )
    with_password = share_link_create(owner=owner, photo=photo, expires_in_days=7, password="s3cret-Q7X")
    revoked = share_link_create(owner=owner, album=album)
    share_link_revoke(link=revoked)
    ShareLink.objects.filter(pk=with_password.pk).update(view_count=3)
    share_link_create(owner=other, album=album_create(owner=other, title="Theirs", visibility=Visibility.PRIVATE))

    key = "private/exports/test-notifications.zip"
    archive_write(user=owner, key=key, download_name="export.zip")
    archive = zipfile.ZipFile(io.BytesIO(bucket.get(key)))

    notifications = {item["kind"]: item for item in json.loads(archive.read("notifications.json"))}
    assert set(notifications) == {"like", "follow"}
    assert notifications["like"]["photo_id"] == public.pk and notifications["like"]["count"] == 2
    assert notifications["like"]["read"] is False and notifications["like"]["read_at"] is None
    assert notifications["follow"]["photo_id"] is None and notifications["follow"]["read"] is True
    assert notifications["like"]["created_at"] and notifications["like"]["updated_at"]

    links = json.loads(archive.read("share_links.json"))
    assert len(links) == 2  # theirs, not the other person's
    by_target = {
        ("photo", link["photo_id"]) if link["photo_id"] else ("album", link["album_id"]): link for link in links
    }
    photo_link, album_link = by_target[("photo", photo.pk)], by_target[("album", album.pk)]
    assert photo_link["url"] == f"{settings.SITE_URL}/s/{with_password.token}/"
    assert photo_link["views"] == 3 and photo_link["has_password"] is True
    assert photo_link["expires_at"] and photo_link["revoked_at"] is None and photo_link["created_at"]
    assert album_link["revoked_at"] and album_link["expires_at"] is None
    raw = archive.read("share_links.json").decode()
    assert with_password.password not in raw and "pbkdf2" not in raw and "s3cret" not in raw
    assert "share_links.json" in archive.read("README.txt").decode()
