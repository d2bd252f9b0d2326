"""Albums: create, rename, add and remove, reorder, choose a cover; only the owner changes them."""

from __future__ import annotations

import re

from django.test import Client
from django.urls import reverse

from apps.albums.models import Album, AlbumEntry
from apps.albums.services import album_add_photos, album_create
from apps.photos.models import Visibility
from tests.factories import PhotoRowFactory, ready_photo


def order(album: Album) -> list[int]:
    return list(album.entries.order_by("position", "id").values_list("photo_id", flat=True))


def titles_in_grid(body: str) -> list[str]:
    return re.findall(r'<span class="card-title">([^<]+)</span>', body)


def test_create_add_reorder_cover_and_remove_through_the_pages(client, user, bucket) -> None:
    first, second, third = (ready_photo(user, title=title) for title in ("First", "Second", "Third"))
    client.force_login(user)
    response = client.post(reverse("album_create"), {"title": "Trip", "photo": first.pk})
    album = Album.objects.get()
    assert response["Location"] == reverse("album_edit", args=[album.pk])
    arrange = reverse("album_arrange", args=[album.pk])
    client.post(arrange, {"action": "add", "photo": [second.pk, third.pk]})
    assert order(album) == [first.pk, second.pk, third.pk]
    album.refresh_from_db()
    assert album.cover_id == first.pk  # the first photo added becomes the cover

    client.post(arrange, {"action": "later", "photo": first.pk})
    assert order(album) == [second.pk, first.pk, third.pk]
    client.post(arrange, {"action": "earlier", "photo": third.pk})
    assert order(album) == [second.pk, third.pk, first.pk]
    client.post(arrange, {"action": "order", "photo": [first.pk, second.pk, third.pk]})
    assert order(album) == [first.pk, second.pk, third.pk]
    client.post(arrange, {"action": "cover", "photo": third.pk})
    album.refresh_from_db()
    assert album.cover_id == third.pk
    client.post(arrange, {"action": "remove", "photo": third.pk})
    album.refresh_from_db()
    assert order(album) == [first.pk, second.pk] and album.cover_id == first.pk

    client.post(reverse("album_edit", args=[album.pk]), {"title": "Summer trip", "description": "Sea and hills"})
    page = client.get(reverse("album_detail", args=[album.pk])).content.decode()
    assert "Summer trip" in page and titles_in_grid(page) == ["First", "Second"]
    # The photo page names the album (its cached card was forgotten on rename).
    assert "Summer trip" in client.get(reverse("photo_detail", args=[first.pk])).content.decode()


def test_bad_album_changes_are_400s_that_change_nothing(client, user, other_user, bucket) -> None:
    mine = PhotoRowFactory(owner=user)
    theirs = PhotoRowFactory(owner=other_user)
    album = album_create(owner=user, title="Mine")
    album_add_photos(album=album, photo_ids=[mine.pk])
    client.force_login(user)
    arrange = reverse("album_arrange", args=[album.pk])
    for data in (
        {"action": "add", "photo": theirs.pk},  # not yours
        {"action": "order", "photo": [mine.pk, mine.pk]},  # not each photo once
        {"action": "cover", "photo": theirs.pk},  # not in the album
        {"action": "fly", "photo": mine.pk},
        {"action": "add"},
        {"action": "add", "photo": "abc"},
    ):
        response = client.post(arrange, data)
        assert response.status_code == 400, data
        assert "The album was not changed" in response.content.decode()
    assert order(album) == [mine.pk]
    assert client.post(reverse("album_create"), {"title": "  "}).status_code == 400
    # A new album "with this photo" naming someone else's (or no such) photo: no album either.
    for photo in (theirs.pk, 99999999999999999999):
        response = client.post(reverse("album_create"), {"title": "Grab", "photo": photo})
        assert response.status_code == 400 and "only add your own photos" in response.content.decode()
    assert list(Album.objects.values_list("title", flat=True)) == ["Mine"]


def test_only_the_owner_can_change_an_album(client, user, other_user) -> None:
    album = album_create(owner=user, title="Private plans")
    client.force_login(other_user)
    for name in ("album_edit", "album_delete"):
        assert client.get(reverse(name, args=[album.pk])).status_code == 404
    assert client.post(reverse("album_arrange", args=[album.pk]), {"action": "add"}).status_code == 404
    assert client.post(reverse("album_delete", args=[album.pk])).status_code == 404
    assert Album.objects.filter(pk=album.pk).exists()


def test_deleting_an_album_keeps_its_photos(client, user) -> None:
    photo = PhotoRowFactory(owner=user)
    album = album_create(owner=user, title="Temporary")
    album_add_photos(album=album, photo_ids=[photo.pk])
    client.force_login(user)
    client.post(reverse("album_delete", args=[album.pk]))
    assert not Album.objects.exists() and not AlbumEntry.objects.exists()
    photo.refresh_from_db()


def test_album_page_shows_visitors_only_public_photos_in_the_owners_order(client, user, bucket) -> None:
    public = ready_photo(user, title="Open")
    private = ready_photo(user, title="Closed", visibility=Visibility.PRIVATE)
    later = ready_photo(user, title="Later")
    album = album_create(owner=user, title="Mixed")
    album_add_photos(album=album, photo_ids=[later.pk, private.pk, public.pk])
    url = reverse("album_detail", args=[album.pk])
    assert titles_in_grid(client.get(url).content.decode()) == ["Later", "Open"]
    client.force_login(user)
    assert titles_in_grid(client.get(url).content.decode()) == ["Later", "Closed", "Open"]
    # Stepping through the album follows its order, not upload time.
    page = client.get(reverse("photo_detail", args=[later.pk]) + f"?from=album:{album.pk}").content.decode()
    assert f'href="/photos/{private.pk}/?from=album%3A{album.pk}"' in page


def test_ids_that_are_not_plain_numbers_are_400s_not_500s(user) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    album = album_create(owner=user, title="Mine")
    for value in ("²", "9" * 5000):
        arranged = client.post(reverse("album_arrange", args=[album.pk]), {"action": "add", "photo": value})
        assert arranged.status_code == 400 and "The album was not changed" in arranged.content.decode()
        added = client.post(reverse("album_add_photo"), {"album": value, "photo": "1"})
        assert added.status_code == 400 and "Choose an album." in added.content.decode()


def test_add_to_album_offers_only_albums_the_photo_is_not_in(client, user, bucket) -> None:
    photo = ready_photo(user, title="Harbour")
    holiday = album_create(owner=user, title="Holiday")
    album_add_photos(album=holiday, photo_ids=[photo.pk])
    album_create(owner=user, title="Best of")
    client.force_login(user)
    page = client.get(reverse("photo_detail", args=[photo.pk])).content.decode()
    menu = re.search(r'<select id="album-choice".*?</select>', page, re.S)
    assert menu and re.findall(r"<option [^>]*>([^<]+)</option>", menu.group(0)) == ["Best of"]

    album_add_photos(album=Album.objects.get(title="Best of"), photo_ids=[photo.pk])
    page = client.get(reverse("photo_detail", args=[photo.pk])).content.decode()
    assert "Add to album" not in page, "in every album already: nothing to offer"
    assert "New album with this photo" in page
