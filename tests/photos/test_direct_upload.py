"""Browser-to-S3 uploads: a presigned POST whose policy S3 enforces, then a check by content."""

from __future__ import annotations

import json
import threading
from typing import Any

import requests
from django.db import connection
from django.urls import reverse

from apps.photos.models import Photo, stored_name
from photosite.storage import media_url
from tests.images import jpeg_bytes, png_bytes


def start(client, size: int, filename: str = "photo.jpg"):
    return client.post(
        reverse("upload_direct_start"),
        json.dumps({"filename": filename, "size": size}),
        content_type="application/json",
    )


def send_to_storage(grant: dict[str, Any], data: bytes) -> requests.Response:
    """What the browser does: a multipart POST straight to the bucket."""
    return requests.post(grant["url"], data=grant["fields"], files={"file": ("photo.jpg", data)}, timeout=30)


def complete(client, grant: dict[str, Any], **details: str):
    body = {"token": grant["token"], "filename": "harbour_at_dawn.jpg", "visibility": "public", **details}
    return client.post(reverse("upload_direct_complete"), json.dumps(body), content_type="application/json")


def test_direct_upload_lands_in_storage_and_becomes_a_photo(
    logged_in_client, user, bucket, django_capture_on_commit_callbacks
) -> None:
    data = jpeg_bytes(1200, 800)
    grant = start(logged_in_client, len(data)).json()
    assert grant["fields"]["key"].startswith("private/incoming/")
    assert send_to_storage(grant, data).status_code in (200, 201, 204)
    with django_capture_on_commit_callbacks(execute=True):
        response = complete(logged_in_client, grant, alt_text="Boats at dawn")
    assert response.status_code == 201
    photo = Photo.objects.get()
    assert response.json()["url"] == reverse("photo_detail", args=[photo.pk])
    assert (photo.owner, photo.title, photo.alt_text) == (user, "harbour at dawn", "Boats at dawn")
    assert bucket.keys() == [photo.original.name] and str(photo.original.name).startswith("private/originals/")
    assert bucket.get(photo.original.name) == data


def test_storage_refuses_a_file_larger_than_the_policy_allows(logged_in_client, bucket, settings) -> None:
    settings.PHOTO_MAX_UPLOAD_BYTES = 100_000
    grant = start(logged_in_client, 50_000).json()  # the browser declared a small file...
    stored = send_to_storage(grant, b"\xff" * 300_000)  # ...and sent a big one
    assert 400 <= stored.status_code < 500
    assert bucket.keys() == []


def test_declared_size_over_the_limit_is_refused_before_any_upload(logged_in_client, settings) -> None:
    settings.PHOTO_MAX_UPLOAD_BYTES = 1024 * 1024
    response = start(logged_in_client, 5 * 1024 * 1024)
    assert response.status_code == 413
    assert response.json()["error"] == "The file is too big (5.0\xa0MB); the limit is 1.0\xa0MB."


def test_a_non_image_in_storage_is_refused_and_deleted(logged_in_client, bucket) -> None:
    grant = start(logged_in_client, 100).json()
    send_to_storage(grant, b"#!/bin/sh\necho this is not a photo\n")
    response = complete(logged_in_client, grant)
    assert response.status_code == 400
    assert response.json()["error"] == "This file is not a JPEG, PNG, WebP, HEIC, AVIF or GIF image."
    assert Photo.objects.count() == 0 and bucket.keys() == []


def test_completing_without_uploading_says_so(logged_in_client, bucket) -> None:
    grant = start(logged_in_client, 100).json()
    response = complete(logged_in_client, grant)
    assert response.status_code == 400 and "did not arrive" in response.json()["error"]


def test_someone_elses_upload_token_is_refused(client, user, other_user, bucket) -> None:
    client.force_login(user)
    data = jpeg_bytes(640, 480)
    grant = start(client, len(data)).json()
    send_to_storage(grant, data)
    client.force_login(other_user)
    response = complete(client, grant)
    assert response.status_code == 403
    assert Photo.objects.count() == 0


def test_malformed_requests_get_a_clear_400(logged_in_client, bucket) -> None:
    url = reverse("upload_direct_start")
    for body in ("not json", "[1, 2]", json.dumps({"size": "big"}), json.dumps({"size": -5})):
        response = logged_in_client.post(url, body, content_type="application/json")
        assert response.status_code == 400 and response.json()["error"]
    response = logged_in_client.post(
        reverse("upload_direct_complete"), json.dumps({"token": "forged"}), content_type="application/json"
    )
    assert response.status_code == 403


def test_upload_page_answers_json_for_the_script(logged_in_client, bucket) -> None:
    accept = {"HTTP_ACCEPT": "application/json"}
    ok = logged_in_client.post(
        reverse("photo_upload"), {"file": _file(jpeg_bytes(640, 480)), "visibility": "public"}, **accept
    )
    assert ok.status_code == 201 and ok.json()["url"].startswith("/photos/")
    bad = logged_in_client.post(reverse("photo_upload"), {"file": _file(b"nope"), "visibility": "public"}, **accept)
    assert bad.status_code == 400
    assert bad.json()["error"] == "This file is not a JPEG, PNG, WebP, HEIC, AVIF or GIF image."


def _file(data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("x.jpg", data)


# --- A grant is single-use -----------------------------------------------------------


def test_a_grant_makes_one_photo_however_often_the_file_is_sent_and_completed(
    logged_in_client, bucket, django_capture_on_commit_callbacks
) -> None:
    data = jpeg_bytes(640, 480)
    grant = start(logged_in_client, len(data)).json()
    send_to_storage(grant, data)
    with django_capture_on_commit_callbacks(execute=True):
        assert complete(logged_in_client, grant).status_code == 201
    for _ in range(3):  # the presigned POST is still valid: send the same file again, claim again
        assert send_to_storage(grant, data).status_code in (200, 201, 204)
        with django_capture_on_commit_callbacks(execute=True):
            again = complete(logged_in_client, grant)
        assert again.status_code == 403
        assert again.json()["error"] == "This upload has already been completed. Please upload the file again."
    assert Photo.objects.count() == 1
    assert bucket.keys("private/incoming/") == []  # the resent copies do not linger


def test_two_completions_of_one_grant_at_once_make_one_photo(user, transactional_db, bucket) -> None:
    from django.test import Client

    clients = [Client(), Client()]
    for client in clients:
        client.force_login(user)
    data = jpeg_bytes(1600, 1200)
    grant = start(clients[0], len(data)).json()
    send_to_storage(grant, data)
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def claim(client) -> None:
        try:
            barrier.wait()
            statuses.append(complete(client, grant).status_code)
        finally:
            connection.close()  # this thread's own connection, or the test database cannot be dropped

    threads = [threading.Thread(target=claim, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201, 403]  # the loser is told the grant is used, whichever step it lost at
    assert Photo.objects.count() == 1


def test_direct_upload_completions_count_against_the_upload_limit(user, bucket, settings) -> None:
    from rest_framework.test import APIClient

    settings.WRITE_LIMITS = {**settings.WRITE_LIMITS, "upload": "1/hour"}  # photosite.ratelimit
    api = APIClient()
    api.force_authenticate(user)
    statuses = []
    for _ in range(2):
        data = jpeg_bytes(320, 240)
        grant = api.post("/api/v1/uploads/", {"size": len(data)}, format="json").json()
        send_to_storage(grant, data)
        statuses.append(api.post("/api/v1/uploads/complete/", {"token": grant["token"]}, format="json").status_code)
    assert statuses == [201, 429]
    assert Photo.objects.count() == 1


# --- The stored type comes from the decoded format, never from the client ------------


def test_storage_refuses_a_content_type_the_grant_did_not_pin(logged_in_client, bucket) -> None:
    grant = start(logged_in_client, 100).json()
    page = b"<html><script>alert(document.cookie)</script></html>"
    stored = requests.post(
        grant["url"],
        data={**grant["fields"], "Content-Type": "text/html"},
        files={"file": ("photo.jpg", page)},
        timeout=30,
    )
    assert 400 <= stored.status_code < 500
    assert bucket.keys() == []


def test_the_original_is_stored_and_served_with_the_type_of_its_decoded_format(
    logged_in_client, bucket, django_capture_on_commit_callbacks
) -> None:
    data = png_bytes(320, 240)
    grant = start(logged_in_client, len(data)).json()
    # Whatever type the incoming object carries (another client, a lax S3), the copy gets the decoded one.
    bucket.client.put_object(Bucket=bucket.name, Key=grant["fields"]["key"], Body=data, ContentType="text/html")
    with django_capture_on_commit_callbacks(execute=True):
        assert complete(logged_in_client, grant).status_code == 201
    photo = Photo.objects.get()
    head = bucket.client.head_object(Bucket=bucket.name, Key=photo.original.name)
    assert head["ContentType"] == "image/png"
    served = requests.get(media_url(stored_name(photo.original)), timeout=30)
    assert served.status_code == 200 and served.headers["Content-Type"] == "image/png"


def test_an_upload_through_the_page_is_stored_with_its_decoded_type_not_the_declared_one(
    logged_in_client, bucket
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("photo.html", jpeg_bytes(320, 240), content_type="text/html")
    response = logged_in_client.post(reverse("photo_upload"), {"file": upload, "visibility": "public"})
    assert response.status_code == 302
    photo = Photo.objects.get()
    assert bucket.client.head_object(Bucket=bucket.name, Key=photo.original.name)["ContentType"] == "image/jpeg"
