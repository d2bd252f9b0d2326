"""Every HTML page renders with a fixed number of SQL queries, whatever it shows.

Counts are for a cold cache (the worst case); each names its queries.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse

from apps.photos import services
from apps.photos.models import Photo, Tag
from tests.factories import uploaded_photo


def ready_photos(owner, count: int) -> list[Photo]:
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
    # session, user, owner's unfinished uploads, grid photos with owners and their renditions
    with django_assert_num_queries(4):
        response = client.get(reverse("home"))
    assert response.content.decode().count('class="card"') == photo_count


@pytest.mark.parametrize("photo_count", [1, 6])
def test_photo_page_for_a_visitor(client, user, bucket, django_assert_num_queries, photo_count) -> None:
    photos = ready_photos(user, photo_count)
    cache.clear()
    # the photo with its owner, renditions and the albums it is in; its tags; its like and
    # comment counts (from their counters, never from the card: a like does not forget the card)
    with django_assert_num_queries(3):
        assert client.get(reverse("photo_detail", args=[photos[-1].pk])).status_code == 200
    # opened from a grid, its card now cached: the counts; the previous and the next photo in it
    with django_assert_num_queries(3):
        assert client.get(reverse("photo_detail", args=[photos[-1].pk]) + "?from=recent").status_code == 200


@pytest.mark.parametrize(
    ("url_name", "expected", "queries"),
    [
        ("photo_upload", 3, "session, user, their albums for the album menu"),
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


def _people_world(user, count: int):
    """`count` of everything a page might list: followers, comments, albums, album photos."""
    from apps.albums.services import album_add_photos, album_create
    from apps.social.services import comment_create, follow_set
    from tests.factories import PhotoRowFactory, UserFactory

    photo = PhotoRowFactory(owner=user)
    PhotoRowFactory(owner=user)  # in no album: the album page always has photos to add
    album = None
    for index in range(count):
        fan = UserFactory()
        follow_set(follower=fan, followee=user, following=True)
        comment_create(author=fan, photo=photo, body=f"comment {index}")
        album = album_create(owner=user, title=f"Album {index}")
        album_add_photos(album=album, photo_ids=[photo.pk, PhotoRowFactory(owner=user).pk])
        photo.tags.add(Tag.objects.create(name=f"tag{index}"), through_defaults={"photo_created_at": photo.created_at})
    return photo, album


@pytest.mark.parametrize("count", [1, 5])
@pytest.mark.parametrize(
    ("page", "expected", "queries"),
    [
        ("followers", 4, "session, user, the person, the followers"),
        ("following", 4, "session, user, the person, whom they follow"),
        (
            "photo_signed_in",
            9,
            "session, user, the photo with renditions and albums, tags, like and comment counts, "
            "comments with authors, liked?, the owner's albums for the menu, their live share links",
        ),
        ("album_edit", 7, "session, user, the album, its photos, their renditions, photos to add, their renditions"),
        ("profile_edit", 2, "session, user"),
        ("api_albums", 5, "the person, albums with counts and cover ids, covers, their renditions, their tags"),
    ],
)
def test_more_pages_have_fixed_query_counts(client, user, django_assert_num_queries, page, expected, queries, count):
    photo, album = _people_world(user, count)
    client.force_login(user)
    urls = {
        "followers": reverse("followers", args=[user.username]),
        "following": reverse("following", args=[user.username]),
        "photo_signed_in": reverse("photo_detail", args=[photo.pk]),
        "album_edit": reverse("album_edit", args=[album.pk]),
        "profile_edit": reverse("profile_edit"),
        "api_albums": f"/api/v1/albums/?user={user.username}",
    }
    if page == "api_albums":
        client.logout()  # anonymous: no session or user queries
    cache.clear()
    with django_assert_num_queries(expected):
        assert client.get(urls[page]).status_code == 200, queries
