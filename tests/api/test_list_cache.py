"""The API's public photo lists are kept encoded in Redis (apps/api/views/common.py,
photo_page_response) under their listing's version, as the HTML grids are: a photo made
private leaves them at once, on every web process, and a viewer's own list is never kept."""

from __future__ import annotations

import time

import requests
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework import serializers
from rest_framework.test import APIClient

from apps.accounts.services import api_token_create
from apps.api.serializers import PhotoSerializer
from apps.photos import services
from apps.photos.models import Visibility
from apps.photos.selectors import photo_get_for_viewer
from tests.factories import UserFactory, ready_photo


def _titles(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [photo["title"] for photo in response.json()["results"]]


def test_the_public_list_is_kept_and_a_photo_made_private_leaves_it_at_once(
    user, bucket, django_capture_on_commit_callbacks
) -> None:
    api = APIClient()
    with django_capture_on_commit_callbacks(execute=True):
        tide = ready_photo(user, title="Low tide")
    first = api.get("/api/v1/photos/")
    assert _titles(first) == ["Low tide"]
    with CaptureQueriesContext(connection) as queries:
        again = api.get("/api/v1/photos/")
    assert _titles(again) == ["Low tide"] and again["ETag"] == first["ETag"]
    assert not [query for query in queries if "photos_photo" in query["sql"]], "the kept page, not the query"
    assert again["X-Page-Cache"] == "hit"  # kept whole for visitors, as the HTML pages are
    unchanged = api.get("/api/v1/photos/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert unchanged.status_code == 304 and unchanged.content == b"" and unchanged["ETag"] == first["ETag"]
    signed_in = APIClient()
    signed_in.credentials(HTTP_AUTHORIZATION=f"Token {api_token_create(user=user, name='t', scope='read')[1]}")
    mine = signed_in.get("/api/v1/photos/")
    assert _titles(mine) == ["Low tide"] and mine["Cache-Control"] == "private, no-cache"
    assert "X-Page-Cache" not in mine

    with django_capture_on_commit_callbacks(execute=True):
        services.photo_update(photo=tide, title=tide.title, caption="", alt_text="", visibility=Visibility.PRIVATE)
    changed = api.get("/api/v1/photos/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert _titles(changed) == [] and changed["ETag"] != first["ETag"]
    assert "X-Page-Cache" not in changed  # the kept page went with the listing's version
    assert api.get("/api/v1/photos/", {"tag": ""}).json()["results"] == []  # another address, the same listing


def test_each_address_keeps_its_own_page_and_next_link(user, bucket, django_capture_on_commit_callbacks) -> None:
    api = APIClient()
    with django_capture_on_commit_callbacks(execute=True):
        for index in range(3):
            ready_photo(user, title=f"Hill {index}")
    two = api.get("/api/v1/photos/", {"limit": 2}).json()
    one = api.get("/api/v1/photos/", {"limit": 1}).json()
    assert [photo["title"] for photo in two["results"]] == ["Hill 2", "Hill 1"]
    assert [photo["title"] for photo in one["results"]] == ["Hill 2"]
    assert "limit=2" in two["next"] and "limit=1" in one["next"]
    assert [photo["title"] for photo in api.get(two["next"]).json()["results"]] == ["Hill 0"]


def test_an_owners_own_list_is_never_kept_for_visitors(user, bucket, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        ready_photo(user, title="Open sky")
        ready_photo(user, title="My secret garden", visibility=Visibility.PRIVATE)
    owner = APIClient()
    owner.force_authenticate(user)
    assert _titles(owner.get("/api/v1/photos/", {"user": user.username})) == ["My secret garden", "Open sky"]
    assert _titles(APIClient().get("/api/v1/photos/", {"user": user.username})) == ["Open sky"]
    stranger = APIClient()
    stranger.force_authenticate(UserFactory())
    assert _titles(stranger.get("/api/v1/photos/", {"user": user.username})) == ["Open sky"]


def test_every_worker_drops_a_photo_made_private_from_the_api_list_within_a_second(site_server_factory) -> None:
    owner = UserFactory()
    photo = ready_photo(owner, title="Harbour lights")  # committed: the test is transactional
    server = site_server_factory(workers=2, threads=2)
    lists = [requests.get(f"{server.url}/api/v1/photos/", timeout=10).json() for _ in range(20)]
    assert all([item["title"] for item in page["results"]] == ["Harbour lights"] for page in lists)

    services.photo_update(photo=photo, title=photo.title, caption="", alt_text="", visibility=Visibility.PRIVATE)
    time.sleep(1)
    lists = [requests.get(f"{server.url}/api/v1/photos/", timeout=10).json() for _ in range(30)]
    assert all(page["results"] == [] for page in lists)


def test_a_photo_is_shown_as_drfs_generic_serializer_would_show_it(user, bucket) -> None:
    for visibility in (Visibility.PUBLIC, Visibility.UNLISTED):
        made = ready_photo(user, title=f"Pier, {visibility}", visibility=visibility, tags="sea boats")
        photo = photo_get_for_viewer(photo_id=made.pk, viewer=user)  # the card: renditions read as rows
        serializer = PhotoSerializer(photo, context={"viewer": user, "may_share": True})
        generic = serializers.ModelSerializer.to_representation(serializer, photo)
        assert serializer.data == generic
        assert list(serializer.data) == list(generic)  # the same order: the same bytes, the same ETag


def test_a_public_photo_is_kept_for_visitors_and_leaves_at_once_when_made_private(
    user, bucket, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        photo = ready_photo(user, title="Quay")
    api, address = APIClient(), f"/api/v1/photos/{photo.pk}/"
    first = api.get(address)
    again = api.get(address, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again["X-Page-Cache"] == "hit"
    with django_capture_on_commit_callbacks(execute=True):
        services.photo_update(photo=photo, title=photo.title, caption="", alt_text="", visibility=Visibility.PRIVATE)
    assert api.get(address).status_code == 404
    assert api.get(address, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 404
