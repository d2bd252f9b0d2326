"""The API's discovery lists: a person's timeline, your liked photos; and the photo page stepping
through the timeline, Liked and a filtered search it was opened from."""

from __future__ import annotations

import re
from urllib.parse import quote

from django.urls import reverse
from rest_framework.test import APIClient

from apps.social.services import like_set
from tests.factories import UserFactory, camera_photo, ready_photo


def titles(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [photo["title"] for photo in response.json()["results"]]


def test_a_persons_timeline_and_your_liked_photos(user, bucket) -> None:
    erin = UserFactory(username="erin")
    camera_photo(erin, title="Old", make="TestCam", model="TC-1", taken="2019:05:01 10:00:00")
    newer = camera_photo(erin, title="Newer", make="TestCam", model="TC-1", taken="2022:05:01 10:00:00")
    hidden = camera_photo(
        erin, title="Hers only", make="T", model="1", taken="2023:01:01 10:00:00", visibility="private"
    )
    api = APIClient()
    assert titles(api.get("/api/v1/photos/?user=erin&order=taken")) == ["Newer", "Old"]
    assert titles(api.get("/api/v1/photos/?user=erin&order=taken&month=2019-05")) == ["Old"]
    bad = api.get("/api/v1/photos/?user=erin&order=taken&month=May")
    assert bad.status_code == 400 and bad.json()["error"]["fields"] == {"month": ["Give the month as YYYY-MM."]}
    assert api.get("/api/v1/photos/?liked=1").status_code == 401
    like_set(user=user, photo=newer, liked=True)
    like_set(user=erin, photo=hidden, liked=True)
    # Signed in as a client is, with a cookie (force_authenticate sends none, so to the page
    # cache, which answers visitors first, it would look like the visitor above).
    api.force_login(user)
    assert titles(api.get("/api/v1/photos/?liked=1")) == ["Newer"]
    api.force_login(erin)
    assert titles(api.get("/api/v1/photos/?liked=1")) == ["Hers only"]  # her own private one, for her
    assert titles(api.get("/api/v1/photos/?user=erin&order=taken")) == ["Hers only", "Newer", "Old"]


def test_the_photo_page_steps_through_the_listing_it_was_opened_from(client, user, bucket) -> None:
    erin = UserFactory(username="erin")
    first = camera_photo(erin, title="First taken", make="TestCam", model="TC-1", taken="2019:05:01 10:00:00")
    second = camera_photo(erin, title="Second taken", make="TestCam", model="TC-1", taken="2022:05:01 10:00:00")
    ready_photo(erin, title="Another camera")

    def next_link(photo, listing: str) -> str | None:
        page = client.get(reverse("photo_detail", args=[photo.pk]) + "?from=" + quote(listing, safe="")).content
        match = re.search(r'<a rel="next" data-key="ArrowRight" href="/photos/(\d+)/', page.decode())
        return match.group(1) if match else None

    assert next_link(second, "timeline:erin") == str(first.pk)  # older by date taken
    assert next_link(second, "search?camera=TestCam+TC-1") == str(first.pk)
    assert next_link(first, "search?camera=TestCam+TC-1") is None
    like_set(user=user, photo=first, liked=True)
    like_set(user=user, photo=second, liked=True)
    client.force_login(user)
    assert next_link(second, "liked") == str(first.pk)  # the earlier like
