"""An album's own visibility, set on its form and through the API, its unlisted link, and its
link preview. Who sees what is in the visibility matrix (tests/photos/test_visibility_matrix.py)."""

from __future__ import annotations

import re

from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from apps.albums.models import Album
from apps.albums.selectors import album_share_path
from apps.albums.services import album_create
from apps.photos.models import Visibility, stored_name
from tests.factories import UserFactory, ready_photo


def meta(body: str) -> dict[str, str]:
    return dict(re.findall(r'<meta (?:property|name)="([^"]+)" content="([^"]*)"', body))


def test_the_api_creates_and_changes_an_albums_visibility(db) -> None:
    owner = UserFactory()
    api = APIClient()
    api.force_authenticate(owner)
    created = api.post("/api/v1/albums/", {"title": "Trip", "visibility": "unlisted"}, format="json")
    assert created.status_code == 201
    album = Album.objects.get(pk=created.json()["id"])
    assert created.json()["visibility"] == "unlisted"
    assert created.json()["share_url"] == album_share_path(album=album)
    changed = api.patch(f"/api/v1/albums/{album.pk}/", {"visibility": "private"}, format="json")
    assert changed.status_code == 200 and changed.json()["visibility"] == "private"
    assert changed.json()["share_url"] is None
    refused = api.patch(f"/api/v1/albums/{album.pk}/", {"visibility": "friends"}, format="json")
    assert refused.status_code == 400 and "visibility" in refused.content.decode()
    album.refresh_from_db()
    assert album.visibility == Visibility.PRIVATE
    renamed = api.patch(f"/api/v1/albums/{album.pk}/", {"title": "Trip 2"}, format="json")
    assert renamed.json()["visibility"] == "private"  # a change that does not name it keeps it


def test_the_album_form_sets_visibility_and_shows_the_unlisted_link(client, db) -> None:
    owner = UserFactory()
    client.force_login(owner)
    album = album_create(owner=owner, title="Garden")
    fields = {"title": "Garden", "description": ""}
    response = client.post(reverse("album_edit", args=[album.pk]), {**fields, "visibility": "unlisted"})
    assert response.status_code == 302
    album.refresh_from_db()
    link = album_share_path(album=album)
    assert album.visibility == Visibility.UNLISTED
    assert f"http://testserver{link}" in client.get(reverse("album_edit", args=[album.pk])).content.decode()
    assert client.post(reverse("album_edit", args=[album.pk]), {**fields, "visibility": "x"}).status_code == 400
    album.refresh_from_db()
    assert album.visibility == Visibility.UNLISTED
    # The photo page's "New album with this photo" sends a title alone: a public album.
    client.post(reverse("album_create"), {"title": "Quick"})
    assert Album.objects.get(title="Quick").visibility == Visibility.PUBLIC


def test_album_pages_preview_their_public_cover_and_nothing_private(db, bucket) -> None:
    owner = UserFactory()
    public = ready_photo(owner, title="Open cover")
    private = ready_photo(owner, title="Closed", visibility=Visibility.PRIVATE)
    album = album_create(owner=owner, title="Coast", photo_ids=[private.pk, public.pk])  # the private one is cover
    visitor = Client()
    tags = meta(visitor.get(reverse("album_detail", args=[album.pk])).content.decode())
    assert tags["og:title"] == "Coast" and tags["og:url"] == f"http://testserver/albums/{album.pk}/"
    public_files = {stored_name(r.file) for r in public.renditions.all()}
    assert any(tags["og:image"].endswith(name) for name in public_files)  # the cover a visitor may see
    assert "robots" not in tags
    album.visibility = Visibility.UNLISTED
    album.save(update_fields=["visibility"])
    tags = meta(visitor.get(album_share_path(album=album)).content.decode())
    assert tags["robots"] == "noindex" and tags["og:url"] == f"http://testserver{album_share_path(album=album)}"
    album.visibility = Visibility.PRIVATE
    album.save(update_fields=["visibility"])
    visitor.force_login(owner)
    body = visitor.get(reverse("album_detail", args=[album.pk])).content.decode()
    assert "Coast" in body and "og:" not in body


def test_an_unlisted_albums_next_pages_keep_its_link(client, db, bucket, settings) -> None:
    settings.PHOTOS_PAGE_SIZE = 1
    owner = UserFactory()
    first, second = ready_photo(owner, title="First stop"), ready_photo(owner, title="Second stop")
    album = album_create(owner=owner, title="Long", photo_ids=[first.pk, second.pk], visibility=Visibility.UNLISTED)
    link = album_share_path(album=album)
    page = client.get(link).content.decode()
    assert "First stop" in page and "Second stop" not in page
    more = re.search(r'<a class="button more" rel="next" href="([^"]+)"', page)
    assert more, "no link to the next page"
    next_url = more.group(1).replace("&amp;", "&")
    assert link.partition("?")[2] in next_url
    following = client.get(next_url)
    assert following.status_code == 200 and "Second stop" in following.content.decode()
    scrolled = client.get(next_url + "&partial=1")
    assert scrolled.status_code == 200 and "Second stop" in scrolled.json()["html"]
