"""Grids beyond the home page: tags, search, popular, the following feed; cursor pagination and stepping."""

from __future__ import annotations

import re
from datetime import timedelta
from html import escape

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from apps.albums.services import album_add_photos, album_create
from apps.photos.models import Photo, Rendition, Tag
from apps.social.models import Like
from apps.social.services import follow_set, like_set
from photosite.storage import media_url
from tests.factories import PhotoRowFactory, UserFactory, ready_photo
from tests.images import jpeg_bytes


def titles_in_grid(body: str) -> list[str]:
    return re.findall(r'<span class="card-title">([^<]+)</span>', body)


def test_tags_entered_at_upload_and_edit_make_tag_pages(
    client, user, bucket, django_capture_on_commit_callbacks
) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from apps.photos.services import rendition_make_all

    client.force_login(user)
    upload = SimpleUploadedFile("a.jpg", jpeg_bytes(width=96, height=64), content_type="image/jpeg")
    client.post(
        reverse("photo_upload"),
        {"file": upload, "title": "Tagged", "tags": "#Sunset, beach beach", "visibility": "public"},
    )
    photo = Photo.objects.get()
    rendition_make_all(photo_id=photo.pk)
    assert sorted(photo.tags.values_list("name", flat=True)) == ["beach", "sunset"]
    assert "Tagged" in client.get(reverse("tag", args=["sunset"])).content.decode()
    assert client.get("/tags/Sunset/").status_code == 301  # one address per tag
    edit = reverse("photo_edit", args=[photo.pk])
    assert 'value="beach sunset"' in client.get(edit).content.decode()
    with django_capture_on_commit_callbacks(execute=True):  # the cache invalidation runs on commit
        client.post(edit, {"title": "Tagged", "tags": "dunes", "visibility": "public", "show_camera_facts": "on"})
    assert "Tagged" not in client.get(reverse("tag", args=["sunset"])).content.decode()
    page = client.get(reverse("tag", args=["dunes"])).content.decode()
    assert "Tagged" in page and "1 public photo" in page


def test_bad_tags_are_a_400_naming_the_tag_and_nothing_changes(client, user, bucket) -> None:
    photo = ready_photo(user, title="Keep me", tags="original")
    client.force_login(user)
    response = client.post(
        reverse("photo_edit", args=[photo.pk]), {"title": "Changed", "tags": "ok b@d", "visibility": "public"}
    )
    assert response.status_code == 400 and "“b@d” is not a tag" in response.content.decode()
    photo.refresh_from_db()
    assert photo.title == "Keep me" and list(photo.tags.values_list("name", flat=True)) == ["original"]
    too_many = " ".join(f"t{index}" for index in range(21))
    response = client.post(
        reverse("photo_edit", args=[photo.pk]), {"title": "x", "tags": too_many, "visibility": "public"}
    )
    assert response.status_code == 400 and "At most 20 tags" in response.content.decode()


def test_search_ranks_title_matches_above_caption_matches_and_finds_people(client, db, bucket) -> None:
    from apps.photos.services import photo_update

    owner = UserFactory(username="marta", display_name="Marta Kowalska")
    in_caption = ready_photo(owner, title="Harbour")
    photo_update(
        photo=in_caption, title="Harbour", caption="Boats near the lighthouse", alt_text="", visibility="public"
    )
    ready_photo(owner, title="Lighthouses at dusk")  # stemmed: "lighthouses" matches "lighthouse"
    ready_photo(owner, title="Meadow", tags="lighthouse")
    ready_photo(UserFactory(), title="Unrelated")
    body = client.get(reverse("search") + "?q=lighthouse").content.decode()
    assert titles_in_grid(body) == ["Lighthouses at dusk", "Meadow", "Harbour"]  # title > tag > caption
    by_name = client.get(reverse("search") + "?q=kowalska").content.decode()
    assert set(titles_in_grid(by_name)) == {"Harbour", "Lighthouses at dusk", "Meadow"}
    assert "@marta" in by_name  # the person, too
    assert "No photos match" in client.get(reverse("search") + "?q=zeppelin").content.decode()
    assert client.get(reverse("search") + "?q=" + "a" * 5000).status_code == 200  # clipped, not an error


def test_popular_orders_by_likes_in_the_last_seven_days(client, db, bucket) -> None:
    owner = UserFactory()
    once, twice, long_ago = (ready_photo(owner, title=title) for title in ("Once", "Twice", "Long ago"))
    fans = [UserFactory() for _ in range(3)]
    like_set(user=fans[0], photo=once, liked=True)
    for fan in fans[:2]:
        like_set(user=fan, photo=twice, liked=True)
    for fan in fans:
        like_set(user=fan, photo=long_ago, liked=True)
    Like.objects.filter(photo=long_ago).update(created_at=timezone.now() - timedelta(days=8))
    cache.clear()
    assert titles_in_grid(client.get(reverse("explore")).content.decode()) == ["Twice", "Once"]


def test_pages_walk_every_photo_once_by_cursor_even_with_equal_times(client, settings, db) -> None:
    settings.PHOTOS_PAGE_SIZE = 3
    owner = UserFactory()
    same_moment = timezone.now() - timedelta(hours=1)
    for index in range(8):
        PhotoRowFactory(owner=owner, title=f"P{index}")
    Photo.objects.update(created_at=same_moment)  # ties on time: the id breaks them
    expected = [f"P{index}" for index in reversed(range(8))]

    seen: list[str] = []
    url: str | None = reverse("home")
    pages = 0
    with CaptureQueriesContext(connection) as queries:
        while url:
            body = client.get(url).content.decode()
            seen += titles_in_grid(body)
            match = re.search(r'<a class="button more" rel="next" href="([^"]+)"', body)
            url = match.group(1).replace("&amp;", "&") if match else None
            pages += 1
    assert seen == expected and pages == 3
    assert not any("OFFSET" in query["sql"].upper() for query in queries.captured_queries)

    # The script's way: ?partial=1 answers the next cards as JSON.
    first = client.get(reverse("home")).content.decode()
    next_link = re.search(r'rel="next" href="([^"]+)"', first)
    assert next_link
    next_url = next_link.group(1)
    data = client.get(next_url + "&partial=1").json()
    assert titles_in_grid(data["html"]) == expected[3:6] and data["next"]


def test_a_broken_cursor_is_a_400_with_a_way_back(client, db) -> None:
    from photosite.pagination import cursor_encode

    crafted = [
        cursor_encode(["abc", 1]),  # well-formed, but not a time
        cursor_encode([{"t": "2026-01-01T00:00:00+00:00"}, "x"]),  # not an id
        cursor_encode([{"t": "2026-01-01T00:00:00"}, 1]),  # a naive time: never one of ours
    ]
    for cursor in ("garbage", "W10", "WyJ4Il0", "eyJhIjoxfQ", *crafted):
        api = client.get(f"/api/v1/photos/?cursor={cursor}")
        assert api.status_code == 400 and "broken" in api.json()["error"]["message"], cursor
        response = client.get(reverse("home") + f"?after={cursor}")
        assert response.status_code == 400 and "This page link is broken" in response.content.decode()
        partial = client.get(reverse("home") + f"?after={cursor}&partial=1")
        assert partial.status_code == 400 and "broken" in partial.json()["error"]


def test_photo_page_steps_to_the_previous_and_next_photo_of_its_grid(client, user, bucket) -> None:
    older, middle, newer = (ready_photo(user, title=title) for title in ("Older", "Middle", "Newer"))
    page = client.get(reverse("photo_detail", args=[middle.pk]) + "?from=recent").content.decode()
    assert f'rel="prev" data-key="ArrowLeft" href="/photos/{newer.pk}/?from=recent"' in page
    assert f'rel="next" data-key="ArrowRight" href="/photos/{older.pk}/?from=recent"' in page
    last = client.get(reverse("photo_detail", args=[older.pk]) + "?from=recent").content.decode()
    assert 'rel="next"' not in last
    plain = client.get(reverse("photo_detail", args=[middle.pk]) + "?from=nonsense:1").content.decode()
    assert 'rel="prev"' not in plain and 'rel="next"' not in plain


@pytest.mark.parametrize("rows", [2, 7])
def test_listing_pages_query_counts_do_not_grow(client, user, django_assert_num_queries, rows) -> None:
    owner = UserFactory()
    follow_set(follower=user, followee=owner, following=True)
    album = album_create(owner=owner, title="Set")
    photos = [PhotoRowFactory(owner=owner, title=f"Lighthouse {index}") for index in range(rows)]
    album_add_photos(album=album, photo_ids=[photo.pk for photo in photos])
    for photo in photos:
        like_set(user=user, photo=photo, liked=True)
    photos[0].tags.add(
        Tag.objects.create(name=f"t{photos[0].pk}"), through_defaults={"photo_created_at": photos[0].created_at}
    )
    from apps.photos.services import photo_search_index_update

    photo_search_index_update(photo_ids=[photo.pk for photo in photos])
    tag = photos[0].tags.get().name
    client.force_login(user)
    cases = [
        # session, user, then: the photos with their owners and renditions
        (reverse("explore"), 4),  # + whether a fresh Popular ranking exists (none here: likes are counted)
        (reverse("feed"), 3),
        (reverse("search") + "?q=lighthouse", 4),  # + people matching the words
        # + the album with its owner; its link preview: the album as a visitor sees it, its cover, renditions
        (reverse("album_detail", args=[album.pk]), 7),
        (reverse("tag", args=[tag]), 4),  # + the tag's photo count
    ]
    for url, expected in cases:
        cache.clear()
        with django_assert_num_queries(expected):
            assert client.get(url).status_code == 200, url


def test_tag_pages_walk_every_tagged_photo_once_newest_first(client, user, settings, bucket) -> None:
    settings.PHOTOS_PAGE_SIZE = 2
    for index in range(5):
        ready_photo(user, title=f"T{index}", tags="walk")
    ready_photo(user, title="Untagged")
    seen: list[str] = []
    url: str | None = reverse("tag", args=["walk"])
    while url:
        body = client.get(url).content.decode()
        seen += titles_in_grid(body)
        match = re.search(r'<a class="button more" rel="next" href="([^"]+)"', body)
        url = match.group(1).replace("&amp;", "&") if match else None
    assert seen == ["T4", "T3", "T2", "T1", "T0"]
    page = client.get(reverse("photo_detail", args=[Photo.objects.get(title="T2").pk]) + "?from=tag:walk")
    body = page.content.decode()
    newer, older = Photo.objects.get(title="T3"), Photo.objects.get(title="T1")
    assert f'rel="prev" data-key="ArrowLeft" href="/photos/{newer.pk}/' in body
    assert f'rel="next" data-key="ArrowRight" href="/photos/{older.pk}/' in body


def test_a_photo_page_from_a_tag_that_cannot_exist_is_a_400_naming_it(client, db) -> None:
    photo = PhotoRowFactory()
    response = client.get(reverse("photo_detail", args=[photo.pk]), {"from": "tag:a/b"})
    assert response.status_code == 400
    assert "“a/b” is not a tag: use letters, digits, “-” and “_”." in response.content.decode()
    for meaningless in ("album:²", "album:" + "9" * 5000, "nonsense:1"):  # ignored, as before
        assert client.get(reverse("photo_detail", args=[photo.pk]), {"from": meaningless}).status_code == 200


def test_grid_cards_link_every_rendition_read_with_the_photos(client, user, bucket, django_assert_num_queries) -> None:
    photo = ready_photo(user, title="Dunes")
    renditions = list(photo.renditions.order_by("size", "id"))
    cache.clear()
    with django_assert_num_queries(1):  # the photos with their owners and renditions, in one row each
        body = client.get(reverse("home")).content.decode()
    for rendition in renditions:
        assert f"{escape(rendition.url)} {rendition.width}w" in body, rendition.format


def test_a_rendition_key_the_row_cannot_carry_is_still_linked(client, user, bucket) -> None:
    # The renditions come in the photo's row joined by control characters; a key holding one
    # (none of ours does) sends the page to a second query instead of a wrong address.
    photo = ready_photo(user, title="Odd key")
    odd = photo.renditions.filter(format="jpg").order_by("size")[0]
    Rendition.objects.filter(pk=odd.pk).update(file=f"public/odd\x1ename-{odd.pk}.jpg")
    cache.clear()
    body = client.get(reverse("home")).content.decode()
    assert escape(media_url(f"public/odd\x1ename-{odd.pk}.jpg")) in body
    assert titles_in_grid(body) == ["Odd key"]


def test_card_words_with_line_breaks_and_markup_are_escaped(client, user, bucket) -> None:
    # A card's words are escaped together with the page's URLs, split again on line breaks:
    # a title holding one is escaped on its own, and nothing else on the page moves.
    ready_photo(user, title="Tide <b>low</b> & high")
    PhotoRowFactory(owner=user, title="Two\nlines <i>")
    cache.clear()
    body = client.get(reverse("home")).content.decode()
    assert "Two\nlines &lt;i&gt;" in body and "Tide &lt;b&gt;low&lt;/b&gt; &amp; high" in body
    assert "<b>low" not in body and "<i>" not in body
