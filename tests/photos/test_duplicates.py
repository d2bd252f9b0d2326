"""A file whose bytes the person already uploaded is refused by every door, naming the photo it repeats."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from apps.photos.models import Photo
from tests.factories import UserFactory, uploaded_photo
from tests.images import jpeg_bytes
from tests.photos.test_direct_upload import complete, send_to_storage, start


def test_the_upload_form_refuses_a_file_already_uploaded_and_links_to_it(logged_in_client, user, bucket) -> None:
    data = jpeg_bytes(320, 240)
    first = uploaded_photo(owner=user, data=data, title="Harbour")
    keys_before = bucket.keys()
    upload = SimpleUploadedFile("again.jpg", data, content_type="image/jpeg")
    response = logged_in_client.post(reverse("photo_upload"), {"file": upload, "visibility": "public"})
    assert response.status_code == 409
    page = response.content.decode()
    assert "You have already uploaded this file, as “Harbour”." in page
    assert f'href="{reverse("photo_detail", args=[first.pk])}"' in page
    assert list(Photo.objects.values_list("pk", flat=True)) == [first.pk] and bucket.keys() == keys_before


def test_the_upload_page_script_gets_a_409_with_the_existing_photo(logged_in_client, user, bucket) -> None:
    data = jpeg_bytes(320, 240)
    first = uploaded_photo(owner=user, data=data)
    upload = SimpleUploadedFile("again.jpg", data, content_type="image/jpeg")
    response = logged_in_client.post(
        reverse("photo_upload"), {"file": upload, "visibility": "public"}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 409
    assert response.json()["existing_url"] == reverse("photo_detail", args=[first.pk])
    assert Photo.objects.count() == 1


def test_someone_else_may_upload_the_same_file(client, user, bucket) -> None:
    data = jpeg_bytes(320, 240)
    uploaded_photo(owner=user, data=data)
    other = UserFactory()
    client.force_login(other)
    upload = SimpleUploadedFile("mine.jpg", data, content_type="image/jpeg")
    assert client.post(reverse("photo_upload"), {"file": upload, "visibility": "public"}).status_code == 302
    assert Photo.objects.filter(owner=other).count() == 1


def test_a_direct_upload_of_a_file_already_uploaded_is_refused_and_removed(logged_in_client, user, bucket) -> None:
    data = jpeg_bytes(320, 240)
    first = uploaded_photo(owner=user, data=data)
    keys_before = bucket.keys()
    grant = start(logged_in_client, len(data)).json()
    assert send_to_storage(grant, data).status_code in (200, 201, 204)
    response = complete(logged_in_client, grant)
    assert response.status_code == 409
    assert response.json()["existing_url"] == reverse("photo_detail", args=[first.pk])
    assert Photo.objects.count() == 1 and bucket.keys() == keys_before  # the incoming copy is gone too


def test_the_api_answers_409_with_the_existing_photos_id(user, bucket) -> None:
    data = jpeg_bytes(320, 240)
    first = uploaded_photo(owner=user, data=data)
    api = APIClient()
    api.force_authenticate(user)
    upload = SimpleUploadedFile("again.jpg", data, content_type="image/jpeg")
    response = api.post("/api/v1/photos/", {"file": upload}, format="multipart")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["existing_id"] == first.pk and "already uploaded" in error["message"]
    assert Photo.objects.count() == 1
