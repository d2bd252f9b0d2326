"""What a read-only API token is shown of its owner's links. Handing a link out is a write (a
link opens the item for anyone and outlives the token), so through a read-only token an unlisted
photo's or album's `share_url` is null, as a share link's URL is (tests/sharing)."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from apps.accounts.models import TokenScope
from apps.accounts.services import api_token_create
from apps.albums.selectors import album_share_path
from apps.albums.services import album_add_photos, album_create, album_set_cover
from apps.photos.models import Visibility
from apps.photos.selectors import photo_share_path
from tests.factories import ready_photo


def _client_with(user, scope: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=user, name=scope, scope=scope)[1]}")
    return api


def _shown(api: APIClient, address: str, params: dict[str, str] | None = None) -> Any:
    response = api.get(address, params or {})
    assert response.status_code == 200, response.content
    return response.json()


def test_a_read_only_token_gets_no_link_to_its_owners_unlisted_photo_or_album(user, bucket) -> None:
    photo = ready_photo(user, title="Back lane", visibility=Visibility.UNLISTED)
    album = album_create(owner=user, title="Lanes", visibility=Visibility.UNLISTED)
    album_add_photos(album=album, photo_ids=[photo.pk])
    album_set_cover(album=album, photo_id=photo.pk)

    writer, reader = _client_with(user, TokenScope.WRITE), _client_with(user, TokenScope.READ)
    photo_address, album_address = f"/api/v1/photos/{photo.pk}/", f"/api/v1/albums/{album.pk}/"
    assert _shown(writer, photo_address)["share_url"] == photo_share_path(photo=photo)
    assert _shown(writer, album_address)["share_url"] == album_share_path(album=album)
    assert _shown(writer, album_address)["cover"]["share_url"] == photo_share_path(photo=photo)

    assert _shown(reader, photo_address)["share_url"] is None
    [listed] = _shown(reader, "/api/v1/photos/", {"user": user.username})["results"]
    assert listed["title"] == "Back lane" and listed["share_url"] is None
    shown_album = _shown(reader, album_address)
    assert shown_album["title"] == "Lanes" and shown_album["share_url"] is None
    assert shown_album["cover"]["share_url"] is None
    [listed_album] = _shown(reader, "/api/v1/albums/", {"user": user.username})
    assert listed_album["share_url"] is None and listed_album["cover"]["share_url"] is None
    # Nowhere in the answers does the photo's or album's link token appear.
    for token in (photo_share_path(photo=photo), album_share_path(album=album)):
        key = token.partition("?k=")[2]
        for address in (photo_address, album_address, "/api/v1/photos/?user=" + user.username):
            assert key not in reader.get(address).content.decode()
