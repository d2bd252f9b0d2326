"""The Liked page: the photos you liked, newest like first, as you may see them now."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from apps.photos.services import photo_update
from apps.social.services import like_set
from tests.factories import PhotoRowFactory, UserFactory, ready_photo


def titles_in_grid(body: str) -> list[str]:
    return re.findall(r'<span class="card-title">([^<]+)</span>', body)


def test_liked_lists_your_likes_newest_first_and_drops_a_photo_made_private(client, user, bucket) -> None:
    owner = UserFactory()
    first, second, third = (ready_photo(owner, title=title) for title in ("First", "Second", "Third"))
    for photo in (second, first, third):
        like_set(user=user, photo=photo, liked=True)
    like_set(user=owner, photo=second, liked=True)  # someone else's like is not yours
    client.force_login(user)
    page = client.get(reverse("liked")).content.decode()
    assert titles_in_grid(page) == ["Third", "First", "Second"]
    assert f'<a href="{reverse("liked")}" aria-current="page">Liked</a>' in page  # in the header, current
    photo_update(photo=first, title="First", caption="", alt_text="", visibility="private")
    assert titles_in_grid(client.get(reverse("liked")).content.decode()) == ["Third", "Second"]
    like_set(user=user, photo=third, liked=False)
    assert titles_in_grid(client.get(reverse("liked")).content.decode()) == ["Second"]


def test_liked_needs_a_login_and_says_what_to_do_when_empty(client, user) -> None:
    assert client.get(reverse("liked")).status_code == 302
    client.force_login(user)
    assert "You have not liked any photos yet." in client.get(reverse("liked")).content.decode()


def test_liked_pages_through_every_like(client, user, db, settings) -> None:
    settings.PHOTOS_PAGE_SIZE = 2
    for index in range(5):
        like_set(user=user, photo=PhotoRowFactory(title=f"Row {index}"), liked=True)
    client.force_login(user)
    seen, url = [], reverse("liked")
    while url:
        page = client.get(url + ("&" if "?" in url else "?") + "partial=1").json()
        seen += titles_in_grid(page["html"])
        url = page["next"]
    assert seen == [f"Row {index}" for index in reversed(range(5))]


@pytest.mark.parametrize("like_count", [1, 5])
def test_liked_has_a_fixed_query_count(client, user, db, django_assert_num_queries, like_count) -> None:
    for index in range(like_count):
        like_set(user=user, photo=PhotoRowFactory(title=f"Row {index}"), liked=True)
    client.force_login(user)
    # the user (the session is in the cache), the liked photos with their owners and renditions
    with django_assert_num_queries(2):
        body = client.get(reverse("liked")).content.decode()
    assert len(titles_in_grid(body)) == like_count
