"""Search by camera, lens, date range and tag; `#word` as `word`; your own photos in your own searches."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.urls import reverse
from rest_framework.test import APIClient

from apps.photos.models import Photo
from apps.photos.services import photo_update
from tests.factories import UserFactory, camera_photo, ready_photo


def titles_in_grid(body: str) -> list[str]:
    return re.findall(r'<span class="card-title">([^<]+)</span>', body)


def search_titles(client, query: str) -> set[str]:
    response = client.get(reverse("search") + "?" + query)
    assert response.status_code == 200, response.content
    return set(titles_in_grid(response.content.decode()))


def api_titles(api: APIClient, query: str) -> set[str]:
    response = api.get("/api/v1/photos/?" + query)
    assert response.status_code == 200, response.content
    return {photo["title"] for photo in response.json()["results"]}


@pytest.fixture
def library(db, bucket) -> dict[str, Photo]:
    owner = UserFactory()
    return {
        "pier": camera_photo(
            owner,
            title="Pier",
            make="TestCam",
            model="TC-1",
            lens="Wide 23mm",
            taken="2021:07:14 18:30:00",
            tags="sunset",
        ),
        "dune": camera_photo(owner, title="Dune", make="OtherCam", model="OC 5", taken="2019:03:02 09:00:00"),
        "field": ready_photo(owner, title="Field", tags="sunset"),  # no EXIF: dated by its upload
    }


def test_search_filters_narrow_the_page_and_the_api_alike(client, library) -> None:
    api = APIClient()
    cases = [
        ("camera=testcam+tc-1", {"Pier"}),  # as the photo page shows it, any case
        ("lens=WIDE+23MM", {"Pier"}),
        ("date_from=2021-07-14&date_to=2021-07-14", {"Pier"}),  # both ends inclusive
        ("date_to=2020-12-31", {"Dune"}),
        ("tag=sunset&q=pier", {"Pier"}),
        ("tag=%23sunset", {"Pier", "Field"}),
        ("camera=nocam", set()),
    ]
    for query, expected in cases:
        assert search_titles(client, query) == expected, query
        assert api_titles(api, query) == expected, query
    assert api_titles(api, "tag=sunset") == {"Pier", "Field"}  # a tag alone is still the tag's listing
    page = client.get(reverse("search") + "?camera=TestCam+TC-1").content.decode()
    assert 'value="TestCam TC-1"' in page and '<details class="filters" open>' in page


def test_the_photo_page_links_its_camera_and_lens_to_the_filters(client, library) -> None:
    page = client.get(reverse("photo_detail", args=[library["pier"].pk])).content.decode()
    assert 'href="/search/?camera=TestCam%20TC-1"' in page and 'href="/search/?lens=Wide%2023mm"' in page


def test_hidden_camera_facts_are_never_found_by_a_filter(client, library) -> None:
    pier = library["pier"]
    photo_update(photo=pier, title="Pier", caption="", alt_text="", visibility="public", show_camera_facts=False)
    assert search_titles(client, "camera=TestCam+TC-1") == set()
    assert search_titles(client, "lens=Wide+23mm") == set()
    assert search_titles(client, "date_from=2021-07-01&date_to=2021-07-31") == set()  # its date was one of them


def test_a_hash_word_finds_what_the_word_finds(client, db, bucket) -> None:
    owner = UserFactory()
    ready_photo(owner, title="Evening", tags="sunset")
    ready_photo(owner, title="Sunset over the bay")
    ready_photo(owner, title="Morning")
    assert (
        search_titles(client, "q=%23sunset") == search_titles(client, "q=sunset") == {"Evening", "Sunset over the bay"}
    )


def test_your_own_private_and_unlisted_photos_are_in_your_searches_only(client, user, db, bucket) -> None:
    other = UserFactory()
    ready_photo(user, title="Lighthouse mine, private", visibility="private")
    ready_photo(user, title="Lighthouse mine, unlisted", visibility="unlisted")
    ready_photo(other, title="Lighthouse theirs, private", visibility="private")
    ready_photo(other, title="Lighthouse theirs, unlisted", visibility="unlisted")
    ready_photo(other, title="Lighthouse public")
    assert search_titles(client, "q=lighthouse") == {"Lighthouse public"}
    client.force_login(user)
    mine = {"Lighthouse public", "Lighthouse mine, private", "Lighthouse mine, unlisted"}
    assert search_titles(client, "q=lighthouse") == mine
    api = APIClient()
    api.force_authenticate(user)
    assert api_titles(api, "q=lighthouse") == mine
    assert api_titles(APIClient(), "q=lighthouse") == {"Lighthouse public"}


def test_a_filter_that_means_nothing_is_a_400(client, db) -> None:
    response = client.get(reverse("search") + "?date_from=2021-13-01")
    assert response.status_code == 400
    assert "date_from: give a date as YYYY-MM-DD." in response.content.decode()
    backwards = client.get(reverse("search") + "?date_from=2021-02-01&date_to=2021-01-01")
    assert backwards.status_code == 400
    api = APIClient().get("/api/v1/photos/?camera=x&date_to=soon")
    assert api.status_code == 400 and api.json()["error"]["fields"] == {"date_to": ["give a date as YYYY-MM-DD."]}


@pytest.mark.parametrize("photo_count", [1, 5])
def test_a_filtered_search_page_has_a_fixed_query_count(client, db, bucket, django_assert_num_queries, photo_count):
    owner = UserFactory()
    for index in range(photo_count):
        camera_photo(owner, title=f"Photo {index}", make="TestCam", model="TC-1", tags="sunset")
    cache.clear()
    # the matching photos with their owners and their renditions
    with django_assert_num_queries(1):
        body = client.get(reverse("search") + "?camera=TestCam+TC-1&tag=sunset&q=photo").content.decode()
    assert len(titles_in_grid(body)) == photo_count
