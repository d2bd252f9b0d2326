"""A person's page: their photos, with the visibility rules, in a bounded number of queries."""

from __future__ import annotations

from django.core.cache import cache
from django.urls import reverse

from apps.photos import services
from apps.photos.models import Visibility
from tests.factories import uploaded_photo


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
        with django_assert_num_queries(3):  # the person; their photos with owner; renditions
            assert client.get(url).content.decode().count('class="card"') == count
    with django_assert_num_queries(1):  # warm: only the person
        client.get(url)
