"""Share pages and the share list endpoints run a fixed number of SQL queries, whatever
the number of photos in a shared album or of links on an item (cold cache; each names its queries)."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from apps.albums.services import album_create
from apps.photos.models import Visibility
from apps.sharing.services import share_link_create
from tests.factories import PhotoRowFactory, UserFactory


@pytest.mark.parametrize("count", [1, 6])
def test_share_pages_and_lists_have_fixed_query_counts(db, django_assert_num_queries, count) -> None:
    owner = UserFactory()
    photos = [PhotoRowFactory(owner=owner, visibility=Visibility.PRIVATE) for _ in range(count)]
    album = album_create(owner=owner, title="Counted", photo_ids=[p.pk for p in photos], visibility="private")
    album_link = share_link_create(owner=owner, album=album)
    photo_links = [share_link_create(owner=owner, photo=photos[0]) for _ in range(count)]
    visitor, api = Client(), APIClient()
    api.force_authenticate(owner)
    cache.clear()
    pages = [
        (f"/s/{album_link.token}/", 4, "the link with owner and album, the page of photos, renditions, +1 view"),
        (f"/s/{album_link.token}/{photos[-1].pk}/", 3, "the link with owner and album, the photo, renditions"),
        (f"/s/{photo_links[0].token}/", 4, "the link with owner and album, the photo, renditions, +1 view"),
    ]
    for url, expected, queries in pages:
        with django_assert_num_queries(expected):
            assert visitor.get(url).status_code == 200, queries
    with django_assert_num_queries(2):  # the photo by its owner, its links
        assert len(api.get(f"/api/v1/photos/{photos[0].pk}/shares/").json()) == count
    with django_assert_num_queries(2):  # the album by its owner, its links
        assert len(api.get(f"/api/v1/albums/{album.pk}/shares/").json()) == 1
