"""Search finds the newest SEARCH_CANDIDATES matches whether a word is rare or common.

A word with fewer matches than that is answered from the GIN index (all its matches, however
old); a common word by walking the newest photos (selectors._search_candidates). Either way
only what the viewer may see is found, and another person's private photos never take a
place among the newest."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from apps.photos import selectors
from apps.photos.models import Photo
from apps.photos.services import photo_search_index_update
from tests.factories import PhotoRowFactory, UserFactory

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the GIN index and the walk are PostgreSQL's")


def titles_in(body: str) -> set[str]:
    return set(re.findall(r'<span class="card-title">([^<]+)</span>', body))


def search(client, words: str) -> set[str]:
    response = client.get(reverse("search"), {"q": words})
    assert response.status_code == 200
    return titles_in(response.content.decode())


def api_search(api: APIClient, words: str) -> set[str]:
    response = api.get("/api/v1/photos/", {"q": words})
    assert response.status_code == 200, response.content
    return {photo["title"] for photo in response.json()["results"]}


def indexed(*photos: Photo) -> None:
    photo_search_index_update(photo_ids=[photo.pk for photo in photos])


@pytest.fixture
def three_candidates(monkeypatch) -> None:
    monkeypatch.setattr(selectors, "SEARCH_CANDIDATES", 3)


def test_a_rare_word_finds_its_old_photo_behind_many_newer_ones(client, db, three_candidates) -> None:
    owner = UserFactory()
    old = PhotoRowFactory(owner=owner, title="zanzibar ferry")
    newer = [PhotoRowFactory(owner=owner, title=f"harbour {index}") for index in range(6)]
    indexed(old, *newer)
    assert search(client, "zanzibar") == {"zanzibar ferry"}
    # The common word still shows its newest three matches only, as before.
    assert search(client, "harbour") == {"harbour 3", "harbour 4", "harbour 5"}


@pytest.mark.parametrize(("matches", "shown"), [(3, {0, 1, 2}), (4, {1, 2, 3})])
def test_a_word_with_as_many_matches_as_candidates_or_one_more_shows_the_newest(
    client, db, three_candidates, matches, shown
) -> None:
    owner = UserFactory()
    photos = [PhotoRowFactory(owner=owner, title=f"lagoon {index}") for index in range(matches)]
    indexed(*photos)
    assert search(client, "lagoon") == {f"lagoon {index}" for index in shown}


def test_no_one_finds_another_persons_private_unlisted_or_hidden_photo_by_a_rare_word(client, db) -> None:
    owner = UserFactory()
    deactivated = UserFactory()
    photos = [
        PhotoRowFactory(owner=owner, title="quokka public"),
        PhotoRowFactory(owner=owner, title="quokka private", visibility="private"),
        PhotoRowFactory(owner=owner, title="quokka unlisted", visibility="unlisted"),
        PhotoRowFactory(owner=owner, title="quokka hidden", hidden_at=timezone.now()),
        PhotoRowFactory(owner=deactivated, title="quokka of a deactivated person"),
    ]
    deactivated.is_active = False
    deactivated.save(update_fields=["is_active"])
    indexed(*photos)
    stranger = UserFactory()
    api = APIClient()
    assert search(client, "quokka") == {"quokka public"}
    assert api_search(api, "quokka") == {"quokka public"}
    client.force_login(stranger)
    api.force_authenticate(stranger)
    assert search(client, "quokka") == {"quokka public"}
    assert api_search(api, "quokka") == {"quokka public"}
    # Their owner finds all their own (a hidden one too: it is hidden from others).
    client.force_login(owner)
    assert search(client, "quokka") == {"quokka public", "quokka private", "quokka unlisted", "quokka hidden"}


def test_another_persons_newer_private_matches_take_no_place_among_the_newest(client, db, three_candidates) -> None:
    owner, other = UserFactory(), UserFactory()
    public = [PhotoRowFactory(owner=owner, title=f"harbour public {index}") for index in range(4)]
    private = [
        PhotoRowFactory(owner=other, title=f"harbour private {index}", visibility="private") for index in range(4)
    ]
    indexed(*public, *private)
    # Eight matches, the four newest private: a stranger sees the three newest public ones.
    client.force_login(UserFactory())
    assert search(client, "harbour") == {"harbour public 1", "harbour public 2", "harbour public 3"}
