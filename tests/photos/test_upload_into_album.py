"""The upload page puts new photos straight into one of the person's albums and gives every
file the same tags; the API's upload takes the album too. Another person's album is refused
before anything is stored."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from apps.albums.models import AlbumEntry
from apps.albums.services import album_create
from apps.photos.models import Photo
from tests.factories import UserFactory
from tests.images import jpeg_bytes


def upload(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, jpeg_bytes(), content_type="image/jpeg")


def test_the_upload_page_puts_each_file_in_the_album_with_the_shared_tags(client, db, bucket) -> None:
    owner, other = UserFactory(), UserFactory()
    album = album_create(owner=owner, title="Holiday")
    album_create(owner=other, title="Not yours")
    client.force_login(owner)
    page = client.get(reverse("photo_upload")).content.decode()
    assert 'id="uploader-album"' in page and "Holiday" in page and "Not yours" not in page
    assert 'id="uploader-tags"' in page
    for name in ("one.jpg", "two.jpg"):  # as the page's script sends each file: the shared tags first
        response = client.post(
            reverse("photo_upload"),
            {"file": upload(name), "tags": "holiday 2026 " + name[:3], "visibility": "public", "album": album.pk},
            HTTP_ACCEPT="application/json",
        )
        assert response.status_code == 201, response.content
    photos = Photo.objects.filter(owner=owner).order_by("pk")
    assert [entry.photo_id for entry in AlbumEntry.objects.filter(album=album)] == [p.pk for p in photos]
    assert [sorted(tag.name for tag in photo.tags.all()) for photo in photos] == [
        ["2026", "holiday", "one"],
        ["2026", "holiday", "two"],
    ]


def test_someone_elses_album_is_refused_and_nothing_is_stored(client, db, bucket) -> None:
    owner, other = UserFactory(), UserFactory()
    theirs = album_create(owner=other, title="Not yours")
    client.force_login(owner)
    response = client.post(
        reverse("photo_upload"), {"file": upload("x.jpg"), "album": theirs.pk}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 400 and "album" in response.json()["fields"]
    api = APIClient()
    api.force_authenticate(owner)
    refused = api.post("/api/v1/photos/", {"file": upload("y.jpg"), "album": theirs.pk}, format="multipart")
    assert refused.status_code == 400 and "album" in refused.content.decode()
    assert not Photo.objects.filter(owner=owner).exists()
    assert not bucket.keys("private/originals/")
    assert not AlbumEntry.objects.filter(album=theirs).exists()


def test_the_api_upload_goes_into_the_album(db, bucket) -> None:
    owner = UserFactory()
    album = album_create(owner=owner, title="Holiday")
    api = APIClient()
    api.force_authenticate(owner)
    created = api.post("/api/v1/photos/", {"file": upload("z.jpg"), "album": album.pk}, format="multipart")
    assert created.status_code == 201, created.content
    assert AlbumEntry.objects.filter(album=album, photo_id=created.json()["id"]).exists()
    assert album.__class__.objects.get(pk=album.pk).cover_id == created.json()["id"]  # its first photo
