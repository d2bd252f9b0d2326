"""/api/v1 end to end through DRF: each endpoint, one error format, the privacy matrix."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from apps.albums.services import album_add_photos, album_create
from apps.moderation.models import Report
from apps.photos.models import Photo, Tag, Visibility
from apps.social.selectors import photo_counts
from apps.social.services import comment_create, follow_set
from photosite.pagecache import EDGE_CACHE_CONTROL
from tests.factories import PASSWORD, UserFactory, ready_photo
from tests.images import jpeg_bytes


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def as_user(api: APIClient, user) -> APIClient:
    api.force_authenticate(user)
    return api


def test_token_is_issued_for_the_right_password_and_revoked(api, user) -> None:
    wrong = api.post("/api/v1/auth/token/", {"username": user.username, "password": "nope"}, format="json")
    assert wrong.status_code == 400
    assert wrong.json() == {
        "error": {
            "status": 400,
            "message": "Wrong user name or password.",
            "fields": {"non_field_errors": ["Wrong user name or password."]},
        }
    }
    token = api.post("/api/v1/auth/token/", {"username": user.username, "password": PASSWORD}, format="json").json()[
        "token"
    ]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.post("/api/v1/photos/1/like/").status_code == 404  # authenticated: no such photo, not 401
    assert api.delete("/api/v1/auth/token/").status_code == 204
    assert api.post("/api/v1/photos/1/like/").status_code == 401


def test_upload_by_multipart_then_read_edit_and_delete(api, user, bucket, django_capture_on_commit_callbacks) -> None:
    as_user(api, user)
    upload = SimpleUploadedFile("lake.jpg", jpeg_bytes(width=96, height=64), content_type="image/jpeg")
    created = api.post(
        "/api/v1/photos/",
        {"file": upload, "title": "Lake", "tags": "water, calm", "visibility": "public"},
        format="multipart",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["title"] == "Lake" and body["tags"] == ["calm", "water"] and body["status"] == "processing"
    from apps.photos.services import rendition_make_all

    rendition_make_all(photo_id=body["id"])
    detail = api.get(f"/api/v1/photos/{body['id']}/")
    assert detail.json()["status"] == "ready"
    assert {(r["format"], r["size"]) for r in detail.json()["renditions"]} >= {("jpg", 320), ("avif", 320)}
    etag = detail["ETag"]
    assert api.get(f"/api/v1/photos/{body['id']}/", HTTP_IF_NONE_MATCH=etag).status_code == 304
    with django_capture_on_commit_callbacks(execute=True):  # the cached card is forgotten on commit
        edited = api.patch(
            f"/api/v1/photos/{body['id']}/", {"caption": "Still water", "tags": ["mirror"]}, format="json"
        )
    assert (
        edited.json()["caption"] == "Still water"
        and edited.json()["tags"] == ["mirror"]
        and edited.json()["title"] == "Lake"
    )
    assert api.get(f"/api/v1/photos/{body['id']}/", HTTP_IF_NONE_MATCH=etag).status_code == 200  # changed: new ETag
    stranger = APIClient()
    stranger.force_authenticate(UserFactory())
    assert stranger.delete(f"/api/v1/photos/{body['id']}/").status_code == 404
    assert api.delete(f"/api/v1/photos/{body['id']}/").status_code == 204
    assert not Photo.objects.exists()


def test_a_bad_upload_is_a_400_with_field_errors_and_stores_nothing(api, user, bucket) -> None:
    as_user(api, user)
    text = SimpleUploadedFile("notes.jpg", b"not an image", content_type="image/jpeg")
    response = api.post("/api/v1/photos/", {"file": text, "title": "x"}, format="multipart")
    assert response.status_code == 400 and "JPEG, PNG, WebP" in response.json()["error"]["message"]
    missing = api.post("/api/v1/photos/", {"title": "no file"}, format="multipart")
    assert missing.status_code == 400 and "file" in missing.json()["error"]["fields"]
    bad_tags = api.post(
        "/api/v1/photos/", {"file": SimpleUploadedFile("a.jpg", jpeg_bytes(96, 64)), "tags": "b@d"}, format="multipart"
    )
    assert bad_tags.status_code == 400 and "tags" in bad_tags.json()["error"]["fields"]
    assert not Photo.objects.exists() and bucket.keys("private/originals/") == []


def test_lists_filter_page_by_cursor_and_refuse_bad_cursors(api, user, settings, bucket) -> None:
    settings.PHOTOS_PAGE_SIZE = 2
    for index in range(3):
        ready_photo(user, title=f"Hill {index}", tags="hills")
    ready_photo(UserFactory(), title="Other")
    first = api.get("/api/v1/photos/", {"user": user.username}).json()
    assert [photo["title"] for photo in first["results"]] == ["Hill 2", "Hill 1"]
    second = api.get(first["next"]).json()
    assert [photo["title"] for photo in second["results"]] == ["Hill 0"] and second["next"] is None
    assert len(api.get("/api/v1/photos/", {"tag": "hills", "limit": 10}).json()["results"]) == 3
    searched = api.get("/api/v1/photos/", {"q": "hill", "limit": 10}).json()["results"]
    assert searched[0]["title"].startswith("Hill")
    bad = api.get("/api/v1/photos/", {"cursor": "garbage"})
    assert bad.status_code == 400 and "broken" in bad.json()["error"]["message"]
    assert api.get("/api/v1/photos/", {"limit": "500"}).status_code == 400


def test_social_endpoints_follow_like_comment_feed_and_report(api, user, other_user, bucket) -> None:
    photo = ready_photo(other_user, title="Shared")
    as_user(api, user)
    assert api.post(f"/api/v1/users/{other_user.username}/follow/").json() == {"following": True, "count": 1}
    assert api.get(f"/api/v1/users/{other_user.username}/").json()["following"] is True
    assert [p["title"] for p in api.get("/api/v1/feed/").json()["results"]] == ["Shared"]
    assert api.post(f"/api/v1/photos/{photo.pk}/like/").json() == {"liked": True, "count": 1}
    assert [p["title"] for p in api.get("/api/v1/popular/").json()["results"]] == ["Shared"]
    assert api.delete(f"/api/v1/photos/{photo.pk}/like/").json() == {"liked": False, "count": 0}
    posted = api.post(f"/api/v1/photos/{photo.pk}/comments/", {"body": "Nice"}, format="json")
    assert posted.status_code == 201
    assert [c["body"] for c in api.get(f"/api/v1/photos/{photo.pk}/comments/").json()] == ["Nice"]
    empty = api.post(f"/api/v1/photos/{photo.pk}/comments/", {"body": " "}, format="json")
    assert empty.status_code == 400 and empty.json()["error"]["message"] == "Write something first."
    report = api.post("/api/v1/reports/", {"photo": photo.pk, "reason": "spam"}, format="json")
    assert report.status_code == 201 and Report.objects.get().photo == photo
    both = api.post("/api/v1/reports/", {"photo": photo.pk, "comment": 1, "reason": "spam"}, format="json")
    assert both.status_code == 400
    assert api.delete(f"/api/v1/comments/{posted.json()['id']}/").status_code == 204


def test_albums_create_fill_order_cover_and_read(api, user, bucket) -> None:
    photos = [ready_photo(user, title=f"A{index}") for index in range(3)]
    as_user(api, user)
    album = api.post("/api/v1/albums/", {"title": "Walk"}, format="json").json()
    ids = [photo.pk for photo in photos]
    api.post(f"/api/v1/albums/{album['id']}/photos/", {"photos": ids}, format="json")
    api.put(f"/api/v1/albums/{album['id']}/photos/", {"photos": list(reversed(ids))}, format="json")
    covered = api.put(f"/api/v1/albums/{album['id']}/cover/", {"photo": ids[1]}, format="json").json()
    assert covered["cover"]["id"] == ids[1] and covered["photo_count"] == 3
    listed = api.get("/api/v1/photos/", {"album": album["id"]}).json()["results"]
    assert [photo["title"] for photo in listed] == ["A2", "A1", "A0"]
    renamed = api.patch(f"/api/v1/albums/{album['id']}/", {"title": "Long walk"}, format="json").json()
    assert renamed["title"] == "Long walk"
    assert [a["title"] for a in APIClient().get("/api/v1/albums/", {"user": user.username}).json()] == ["Long walk"]
    wrong = api.put(f"/api/v1/albums/{album['id']}/photos/", {"photos": ids[:1]}, format="json")
    assert wrong.status_code == 400 and "every photo" in wrong.json()["error"]["message"]


@pytest.mark.parametrize("viewer", ["anonymous", "stranger"])
def test_private_photos_are_invisible_through_every_endpoint(api, user, bucket, viewer) -> None:
    private = ready_photo(user, title="Secret", visibility=Visibility.PRIVATE, tags="secret")
    album = album_create(owner=user, title="Box")
    album_add_photos(album=album, photo_ids=[private.pk])
    comment = comment_create(author=user, photo=private, body="note to self")
    if viewer == "stranger":
        stranger = UserFactory()
        follow_set(follower=stranger, followee=user, following=True)
        as_user(api, stranger)
    for url in (
        "/api/v1/photos/",
        f"/api/v1/photos/?user={user.username}",
        "/api/v1/photos/?tag=secret",
        "/api/v1/photos/?q=secret",
        f"/api/v1/photos/?album={album.pk}",
        "/api/v1/popular/",
        f"/api/v1/albums/?user={user.username}",
        f"/api/v1/albums/{album.pk}/",
    ):
        response = api.get(url)
        assert response.status_code == 200 and "Secret" not in response.content.decode(), url
    if viewer == "stranger":
        assert "Secret" not in api.get("/api/v1/feed/").content.decode()
    assert api.get(f"/api/v1/photos/{private.pk}/").status_code == 404
    assert api.get(f"/api/v1/photos/{private.pk}/comments/").status_code == 404
    expected_write = 404 if viewer == "stranger" else 401
    assert api.post(f"/api/v1/photos/{private.pk}/like/").status_code == expected_write
    assert (
        api.post(f"/api/v1/photos/{private.pk}/comments/", {"body": "hi"}, format="json").status_code == expected_write
    )
    assert (
        api.post("/api/v1/reports/", {"comment": comment.pk, "reason": "spam"}, format="json").status_code
        == expected_write
    )
    assert api.get(f"/api/v1/albums/{album.pk}/").json()["photo_count"] == 0
    counts = photo_counts(photo_id=private.pk)
    assert (counts.likes, counts.comments) == (0, 1)


def test_schema_and_docs_are_served_without_outside_network(api, db) -> None:
    schema = api.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/v1/photos/" in schema.content
    docs = api.get("/api/docs/").content.decode()
    assert "swagger-ui" in docs and "https://" not in docs.split("<body")[0]  # assets from our own static files


def test_direct_upload_through_the_api_lands_in_storage_and_becomes_a_photo(
    api, user, other_user, bucket, django_capture_on_commit_callbacks
) -> None:
    import requests

    as_user(api, user)
    data = jpeg_bytes(width=400, height=300)
    grant = api.post("/api/v1/uploads/", {"filename": "pier.jpg", "size": len(data)}, format="json").json()
    stored = requests.post(grant["url"], data=grant["fields"], files={"file": ("pier.jpg", data)}, timeout=30)
    assert stored.status_code in (200, 201, 204)
    # Someone else cannot claim the file with the token.
    thief = APIClient()
    thief.force_authenticate(other_user)
    stolen = thief.post("/api/v1/uploads/complete/", {"token": grant["token"]}, format="json")
    assert stolen.status_code == 403 and "not yours" in stolen.json()["error"]["message"]
    with django_capture_on_commit_callbacks(execute=True):
        done = api.post(
            "/api/v1/uploads/complete/",
            {"token": grant["token"], "filename": "pier.jpg", "tags": ["pier"], "alt_text": "A pier"},
            format="json",
        )
    assert done.status_code == 201, done.content
    photo = Photo.objects.get()
    assert (photo.owner, photo.title, photo.alt_text) == (user, "pier", "A pier")
    assert bucket.keys("private/incoming/") == [] and bucket.get(photo.original.name) == data
    too_big = api.post("/api/v1/uploads/", {"size": 10**10}, format="json")
    assert too_big.status_code == 413 and too_big.json()["error"]["status"] == 413


@pytest.mark.parametrize("rows", [2, 7])
def test_photo_list_query_count_does_not_grow(api, user, django_assert_num_queries, rows) -> None:
    from tests.factories import PhotoRowFactory

    for index in range(rows):
        row = PhotoRowFactory(owner=user)
        row.tags.add(Tag.objects.create(name=f"t{index}"), through_defaults={"photo_created_at": row.created_at})
    # photos with owners; their renditions; their tags (anonymous: no session, no user)
    with django_assert_num_queries(3):
        assert len(api.get("/api/v1/photos/").json()["results"]) == rows


def test_photo_list_answers_304_while_it_has_not_changed(api, user, bucket, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # committed, as a request's upload is
        ready_photo(user, title="First light")
    first = api.get("/api/v1/photos/")
    etag = first["ETag"]
    # The same for every visitor: kept whole for them, and by the edge for a second (photosite/pagecache.py).
    assert first.status_code == 200 and first["Cache-Control"] == EDGE_CACHE_CONTROL
    unchanged = api.get("/api/v1/photos/", HTTP_IF_NONE_MATCH=etag)
    assert unchanged.status_code == 304 and unchanged.content == b""

    with django_capture_on_commit_callbacks(execute=True):
        ready_photo(user, title="Second light")
    changed = api.get("/api/v1/photos/", HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert [photo["title"] for photo in changed.json()["results"]] == ["Second light", "First light"]
