"""Every HTML page renders with a fixed number of SQL queries, whatever it shows.

Counts are for a cold cache (the worst case); each names its queries.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse

from apps.photos import services
from tests.factories import uploaded_photo


def ready_photos(owner, count: int) -> list:
    photos = []
    for index in range(count):
        photo = uploaded_photo(owner=owner, title=f"Photo {index}")
        services.rendition_make_all(photo_id=photo.pk)
        photos.append(photo)
    return photos


@pytest.mark.parametrize("photo_count", [1, 6])
def test_home_for_a_signed_in_owner(client, user, bucket, django_assert_num_queries, photo_count) -> None:
    ready_photos(user, photo_count)
    uploaded_photo(owner=user, title="Still processing")  # shows in the owner's strip
    client.force_login(user)
    cache.clear()
    # session, user, owner's unfinished uploads, grid photos with owners, their renditions
    with django_assert_num_queries(5):
        response = client.get(reverse("home"))
    assert response.content.decode().count('class="card"') == photo_count


@pytest.mark.parametrize("photo_count", [1, 6])
def test_photo_page_for_a_visitor(client, user, bucket, django_assert_num_queries, photo_count) -> None:
    photos = ready_photos(user, photo_count)
    cache.clear()
    # the photo with its owner; its renditions; its tags; the albums it is in
    with django_assert_num_queries(4):
        assert client.get(reverse("photo_detail", args=[photos[-1].pk])).status_code == 200
    # opened from a grid: the previous and the next photo in it
    with django_assert_num_queries(2):
        assert client.get(reverse("photo_detail", args=[photos[-1].pk]) + "?from=recent").status_code == 200


@pytest.mark.parametrize(
    ("url_name", "expected", "queries"),
    [
        ("photo_upload", 2, "session, user"),
        ("photo_edit", 4, "session, user, the photo by owner, its tags"),
        ("photo_delete", 3, "session, user, the photo by owner"),
    ],
)
def test_owner_pages(client, user, bucket, django_assert_num_queries, url_name, expected, queries) -> None:
    photo = ready_photos(user, 1)[0]
    client.force_login(user)
    url = reverse(url_name) if url_name == "photo_upload" else reverse(url_name, args=[photo.pk])
    cache.clear()  # the session then comes from the database, as after a Redis restart
    with django_assert_num_queries(expected):
        assert client.get(url).status_code == 200, queries


@pytest.mark.parametrize("url_name", ["login", "signup"])
def test_account_pages_need_no_queries(client, db, django_assert_num_queries, url_name) -> None:
    with django_assert_num_queries(0):
        assert client.get(reverse(url_name)).status_code == 200
