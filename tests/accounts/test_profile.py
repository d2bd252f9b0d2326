"""A person's page: their photos, with the visibility rules, in a bounded number of queries."""

from __future__ import annotations

from django.contrib.postgres.search import SearchQuery
from django.core.cache import cache
from django.urls import reverse

from apps.accounts.models import User
from apps.accounts.services import profile_update
from apps.photos import services
from apps.photos.models import Photo, Visibility
from tests.factories import UserFactory, uploaded_photo
from tests.locks import race_with_a_rendition_job


def ready(owner, title: str, visibility: str = Visibility.PUBLIC):
    photo = uploaded_photo(owner=owner, title=title, visibility=visibility)
    services.rendition_make_all(photo_id=photo.pk)
    return photo


def test_profile_shows_public_photos_to_others_and_everything_to_the_owner(client, user, other_user, bucket) -> None:
    ready(user, "Open view")
    ready(user, "Only by link", Visibility.UNLISTED)
    ready(user, "My diary", Visibility.PRIVATE)
    ready(other_user, "Someone else's")
    url = reverse("profile", args=[user.username])
    for viewer in (None, other_user):
        client.logout() if viewer is None else client.force_login(viewer)
        body = client.get(url).content.decode()
        assert "Open view" in body
        assert "Only by link" not in body and "My diary" not in body and "Someone else" not in body
    client.force_login(user)
    body = client.get(url).content.decode()
    assert all(title in body for title in ("Open view", "Only by link", "My diary"))


def test_unknown_or_deactivated_people_are_a_404(client, user) -> None:
    assert client.get(reverse("profile", args=["nobody-here"])).status_code == 404
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert client.get(reverse("profile", args=[user.username])).status_code == 404


def test_profile_query_count_does_not_grow_and_is_cached(client, user, bucket, django_assert_num_queries) -> None:
    url = reverse("profile", args=[user.username])
    for count in (1, 5):
        while user.photos.count() < count:
            ready(user, f"Photo {user.photos.count()}")
        cache.clear()
        # the person; their albums; how many photos; follower and following counts; their
        # photos with owner and renditions
        with django_assert_num_queries(5):
            assert client.get(url).content.decode().count('class="card"') == count
    with django_assert_num_queries(3):  # warm, at another address: the person, their albums, their follow counts
        client.get(url, {"visit": "2"})
    with django_assert_num_queries(0):  # that address again: the whole page, kept for visitors
        client.get(url, {"visit": "2"})


def test_editing_the_profile_changes_name_bio_and_avatar(
    client, user, bucket, django_capture_on_commit_callbacks
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from tests.images import jpeg_bytes

    photo = ready(user, "Findable")
    client.force_login(user)
    avatar = SimpleUploadedFile("me.jpg", jpeg_bytes(width=400, height=300), content_type="image/jpeg")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("profile_edit"), {"display_name": "Zofia Nowak", "bio": "I shoot fog.", "avatar": avatar}
        )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.avatar_key.startswith("public/avatars/") and user.avatar_key in bucket.keys("public/avatars/")
    import io

    from PIL import Image

    assert Image.open(io.BytesIO(bucket.get(user.avatar_key))).size == (256, 256)
    page = client.get(reverse("profile", args=[user.username])).content.decode()
    assert "Zofia Nowak" in page and "I shoot fog." in page and user.avatar_key in page
    # Photo pages and search know the new name at once.
    assert "Zofia Nowak" in client.get(reverse("photo_detail", args=[photo.pk])).content.decode()
    assert "Findable" in client.get(reverse("search") + "?q=nowak").content.decode()


def test_a_bad_avatar_is_a_400_and_the_profile_is_unchanged(client, user, bucket) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(user)
    before = user.display_name
    not_an_image = SimpleUploadedFile("me.jpg", b"hello, not a picture", content_type="image/jpeg")
    response = client.post(reverse("profile_edit"), {"display_name": "New name", "bio": "", "avatar": not_an_image})
    assert response.status_code == 400
    assert "JPEG, PNG, WebP" in response.content.decode()
    user.refresh_from_db()
    assert user.display_name == before and user.avatar_key == ""
    assert bucket.keys("public/avatars/") == []


def test_a_rename_while_an_upload_finishes_rendering_does_not_deadlock(transactional_db, bucket) -> None:
    """A rendition job locks its photo, then its owner's row (the unfinished count); a rename
    locks the owner's row, then re-indexes the owner's photos for search. Under one row lock
    these two waited on each other until PostgreSQL killed one (a 500 for the rename)."""
    owner = UserFactory(display_name="Ana")
    photo = uploaded_photo(owner=owner, title="Harbour")
    errors = race_with_a_rendition_job(
        photo_id=photo.pk,
        owner_id=owner.pk,
        other=lambda: profile_update(user=User.objects.get(pk=owner.pk), display_name="Ana Lindqvist", bio=""),
    )
    assert not errors, errors
    assert User.objects.get(pk=owner.pk).display_name == "Ana Lindqvist"
    services.rendition_make_all(photo_id=photo.pk)
    assert [found.pk for found in Photo.objects.filter(search_vector=SearchQuery("Lindqvist"))] == [photo.pk]
