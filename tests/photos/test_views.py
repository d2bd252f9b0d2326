"""The photo pages as a person uses them, through Django's test client."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.photos import services
from apps.photos.models import Photo, PhotoStatus, Visibility
from apps.photos.selectors import photo_share_path
from tests.factories import uploaded_photo
from tests.images import decompression_bomb_png, jpeg_bytes, png_bytes, truncated_jpeg_bytes, webp_bytes


def upload(client, data: bytes, name: str = "photo.jpg", **fields: str):
    payload = {
        "file": SimpleUploadedFile(name, data),
        "title": "",
        "caption": "",
        "alt_text": "",
        "visibility": "public",
    }
    payload.update(fields)
    return client.post(reverse("photo_upload"), payload)


def ready_photo(owner, **kwargs) -> Photo:
    photo = uploaded_photo(owner=owner, **kwargs)
    services.rendition_make_all(photo_id=photo.pk)
    photo.refresh_from_db()
    return photo


@pytest.mark.parametrize(("data", "name"), [(jpeg_bytes(), "a.jpg"), (png_bytes(), "b.png"), (webp_bytes(), "c.webp")])
def test_upload_stores_the_photo_and_shows_its_processing_page(logged_in_client, user, bucket, data, name) -> None:
    response = upload(logged_in_client, data, name, title="My trip", caption="Hills", alt_text="Green hills")
    photo = Photo.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("photo_detail", args=[photo.pk])
    assert (photo.owner, photo.title, photo.caption, photo.alt_text) == (user, "My trip", "Hills", "Green hills")
    assert bucket.keys() == [photo.original.name]
    page = logged_in_client.get(response["Location"])
    assert page.status_code == 200
    assert "Processing…" in page.content.decode()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"this is plain text, not a photo", "This file is not a JPEG, PNG, WebP, HEIC, AVIF or GIF image."),
        (b"", "The file is empty."),
        (truncated_jpeg_bytes(), "The image is damaged or incomplete"),
        (decompression_bomb_png(), "The image has too many pixels; the limit is 50 megapixels."),
    ],
    ids=["not-an-image", "empty", "truncated-jpeg", "decompression-bomb"],
)
def test_bad_upload_gets_a_400_page_with_the_reason_and_stores_nothing(logged_in_client, bucket, data, message) -> None:
    response = upload(logged_in_client, data, "holiday.jpg")
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Photo.objects.count() == 0
    assert bucket.keys() == []


def test_upload_over_the_byte_limit_is_refused_with_the_limit(logged_in_client, bucket, settings) -> None:
    settings.PHOTO_MAX_UPLOAD_BYTES = 2 * 1024 * 1024
    oversized = jpeg_bytes(640, 480) + b"\0" * (2 * 1024 * 1024)
    response = upload(logged_in_client, oversized, "big.jpg")
    assert response.status_code == 400
    assert "The file is too big (2.0\xa0MB); the limit is 2.0\xa0MB." in response.content.decode()
    assert Photo.objects.count() == 0 and bucket.keys() == []


def test_request_body_far_over_the_limit_is_refused_before_it_is_read(logged_in_client, bucket, settings) -> None:
    settings.PHOTO_MAX_UPLOAD_BYTES = 1024
    response = upload(logged_in_client, b"\0" * (2 * 1024 * 1024), "huge.jpg")
    assert response.status_code == 413
    assert "The file is too big; the limit is 1.0\xa0KB." in response.content.decode()
    assert Photo.objects.count() == 0 and bucket.keys() == []


def test_upload_needs_a_login(client, db) -> None:
    response = client.get(reverse("photo_upload"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_home_shows_newest_public_ready_photos_only(client, user, other_user, bucket) -> None:
    older = ready_photo(user, title="Older public")
    newer = ready_photo(other_user, title="Newer public")
    ready_photo(user, title="Secret one", visibility=Visibility.PRIVATE)
    ready_photo(user, title="Link only", visibility=Visibility.UNLISTED)
    uploaded_photo(owner=user, title="Still processing")
    body = client.get(reverse("home")).content.decode()
    assert body.index("Newer public") < body.index("Older public")
    for hidden in ("Secret one", "Link only", "Still processing"):
        assert hidden not in body
    assert f'href="{reverse("photo_detail", args=[newer.pk])}?from=recent"' in body
    assert older.renditions.get(size=320, format="jpg").file.name in body  # a real thumbnail, not the original


def test_home_query_count_does_not_grow_with_photos(client, user, bucket, django_assert_num_queries) -> None:
    ready_photo(user)
    cache.clear()
    with django_assert_num_queries(1):  # photos with their owners and their renditions
        client.get(reverse("home"))
    for _ in range(4):
        ready_photo(user)
    cache.clear()
    with django_assert_num_queries(1):
        response = client.get(reverse("home"))
    assert response.content.decode().count('class="card"') == 5
    with django_assert_num_queries(0):  # warm: the grid comes from Redis
        assert client.get(reverse("home")).content.decode().count('class="card"') == 5


def test_private_photo_is_a_404_for_everyone_but_its_owner(client, user, other_user, bucket) -> None:
    photo = ready_photo(user, title="Diary", visibility=Visibility.PRIVATE)
    url = reverse("photo_detail", args=[photo.pk])
    assert client.get(url).status_code == 404
    client.force_login(other_user)
    response = client.get(url)
    assert response.status_code == 404 and "Diary" not in response.content.decode()
    client.force_login(user)
    assert "Diary" in client.get(url).content.decode()


def test_unlisted_photo_opens_by_link(client, user, bucket) -> None:
    photo = ready_photo(user, title="For friends", visibility=Visibility.UNLISTED)
    assert "For friends" in client.get(photo_share_path(photo=photo)).content.decode()
    assert client.get(reverse("photo_detail", args=[photo.pk])).status_code == 404  # the id alone opens nothing


def test_owner_edits_title_caption_and_alt_text(logged_in_client, user, bucket) -> None:
    photo = ready_photo(user)
    response = logged_in_client.post(
        reverse("photo_edit", args=[photo.pk]),
        {"title": "Renamed", "caption": "New words", "alt_text": "A red barn", "visibility": "public"},
    )
    assert response.status_code == 302
    photo.refresh_from_db()
    assert (photo.title, photo.caption, photo.alt_text) == ("Renamed", "New words", "A red barn")
    assert 'alt="A red barn"' in logged_in_client.get(reverse("photo_detail", args=[photo.pk])).content.decode()


def test_edit_with_an_empty_title_is_refused_and_changes_nothing(logged_in_client, user, bucket) -> None:
    photo = ready_photo(user, title="Keep me")
    response = logged_in_client.post(
        reverse("photo_edit", args=[photo.pk]), {"title": "", "caption": "x", "alt_text": "", "visibility": "public"}
    )
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    photo.refresh_from_db()
    assert (photo.title, photo.caption) == ("Keep me", "")


def test_others_cannot_edit_or_delete_a_photo(client, user, other_user, bucket) -> None:
    photo = ready_photo(user, title="Mine")
    client.force_login(other_user)
    edit = client.post(reverse("photo_edit", args=[photo.pk]), {"title": "Hacked", "visibility": "public"})
    delete = client.post(reverse("photo_delete", args=[photo.pk]))
    assert (edit.status_code, delete.status_code) == (404, 404)
    photo.refresh_from_db()
    assert photo.title == "Mine"


def test_owner_deletes_a_photo_and_it_disappears_at_once(logged_in_client, user, bucket) -> None:
    photo = ready_photo(user, title="Gone soon")
    response = logged_in_client.post(reverse("photo_delete", args=[photo.pk]))
    assert response.status_code == 302
    assert logged_in_client.get(reverse("photo_detail", args=[photo.pk])).status_code == 404
    assert "Gone soon" not in logged_in_client.get(reverse("home")).content.decode()


def test_failed_photo_shows_the_reason_and_retry_to_its_owner(
    logged_in_client, user, bucket, django_capture_on_commit_callbacks, broker_redis
) -> None:
    photo = uploaded_photo(owner=user)
    services.photo_mark_failed(photo_id=photo.pk, reason="The image could not be decoded (bad huffman).")
    page = logged_in_client.get(reverse("photo_detail", args=[photo.pk])).content.decode()
    assert "could not be decoded (bad huffman)" in page and "Retry" in page
    with django_capture_on_commit_callbacks(execute=True):
        logged_in_client.post(reverse("photo_retry", args=[photo.pk]))
    photo.refresh_from_db()
    assert photo.status == PhotoStatus.PROCESSING
    (message,) = broker_redis.hgetall("dramatiq:renditions.msgs").values()
    assert '"actor_name":"make_renditions"' in message.decode()


def test_unknown_page_gets_the_sites_404(client, db) -> None:
    response = client.get("/photos/999999/")
    assert response.status_code == 404
    assert "not shared with you" in response.content.decode()


def test_camera_facts_show_on_the_photo_page_until_the_owner_hides_them(logged_in_client, user, bucket) -> None:
    from PIL import ExifTags

    from tests.images import camera_exif

    exif = camera_exif()
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.FNumber] = 4.0
    photo = ready_photo(user, data=jpeg_bytes(800, 600, exif=exif))
    url = reverse("photo_detail", args=[photo.pk])
    page = logged_in_client.get(url).content.decode()
    assert "TestCam TC-1" in page and "f/4" in page
    logged_in_client.post(
        reverse("photo_edit", args=[photo.pk]),
        {"title": "Same", "caption": "", "alt_text": "", "visibility": "public"},  # checkbox left unticked
    )
    cache.clear()
    page = logged_in_client.get(url).content.decode()
    assert "TestCam" not in page and "f/4" not in page


def test_photo_page_offers_avif_before_jpeg_and_no_webp(client, user, bucket) -> None:
    photo = ready_photo(user)
    page = client.get(reverse("photo_detail", args=[photo.pk])).content.decode()
    assert page.index('type="image/avif"') < page.index('<img class="hero"')
    assert "image/webp" not in page and ".webp" not in page


def test_owner_downloads_the_original_and_nobody_else_can(client, user, other_user, bucket) -> None:
    import requests

    data = jpeg_bytes(900, 600)
    photo = ready_photo(user, data=data)
    url = reverse("photo_original", args=[photo.pk])
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 302 and "Signature=" in response["Location"]
    assert requests.get(response["Location"], timeout=10).content == data
    client.force_login(other_user)
    assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302  # to the login page
    assert "Signature" not in client.get(url)["Location"]


def test_static_files_have_hashed_names_and_far_future_headers(client, db) -> None:
    page = client.get(reverse("login")).content.decode()
    import re

    stylesheet = re.search(r'href="(/static/css/site\.[0-9a-f]{12}\.css)"', page)
    assert stylesheet, "the stylesheet link carries a content hash"
    served = client.get(stylesheet.group(1))
    assert served.status_code == 200
    assert "immutable" in served["Cache-Control"] and "max-age=315360000" in served["Cache-Control"]


def test_upload_while_storage_is_down_gets_a_503_and_records_nothing(logged_in_client, settings) -> None:
    unreachable = {**settings.STORAGES["default"]}
    unreachable["OPTIONS"] = {**unreachable["OPTIONS"], "endpoint_url": "http://127.0.0.1:9"}
    settings.STORAGES = {**settings.STORAGES, "default": unreachable}
    response = upload(logged_in_client, jpeg_bytes(640, 480), "during-outage.jpg")
    assert response.status_code == 503
    assert "Photo storage is unavailable right now. Nothing was saved" in response.content.decode()
    assert Photo.objects.count() == 0


def test_a_malformed_content_length_is_a_client_error_not_a_500(logged_in_client, bucket) -> None:
    response = logged_in_client.post(
        reverse("photo_upload"),
        {"file": SimpleUploadedFile("a.jpg", jpeg_bytes(320, 240)), "visibility": "public"},
        CONTENT_LENGTH="twelve",
    )
    assert 400 <= response.status_code < 500
    assert Photo.objects.count() == 0


def test_a_nul_byte_in_the_url_is_a_400_not_a_database_error(client, db) -> None:
    for url in ("/search/?q=a%00b", "/api/v1/photos/?user=%00", "/tags/a%00b/", "/accounts/people/x%00/"):
        response = client.get(url)
        assert response.status_code == 400, url
        assert b"NUL" in response.content


def test_a_photo_page_names_the_albums_it_is_in_that_the_viewer_may_see_by_title(
    client, user, other_user, bucket, django_assert_num_queries
) -> None:
    from apps.albums.services import album_create

    photo = ready_photo(user, title="Ridge")
    for title, visibility in (("Zebra <b>", Visibility.PUBLIC), ("Alps", Visibility.PUBLIC), ("Diary", "private")):
        album_create(owner=user, title=title, visibility=visibility, photo_ids=[photo.pk])
    cache.clear()
    url = reverse("photo_detail", args=[photo.pk])
    with django_assert_num_queries(3):  # the photo with renditions and albums; its tags; its counts
        body = client.get(url).content.decode()
    albums = body[body.index('class="in-albums"') :].split("</p>")[0]
    assert albums.index(">Alps</a>") < albums.index(">Zebra &lt;b&gt;</a>") and "Diary" not in albums
    for rendition in photo.renditions.filter(format="jpg"):  # the sizes offered for download
        assert f'href="{rendition.url}" data-size="{rendition.size}"' in body
    client.force_login(user)  # the owner sees their private album too
    assert ">Diary</a>" in client.get(url).content.decode()
