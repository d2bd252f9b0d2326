"""One write limit per person whichever door: a burst through the HTML forms is refused
with a 429 that changes nothing, as the API's is, and both draw on the same count (in
Redis, photosite.ratelimit)."""

from __future__ import annotations

import pytest
import requests
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from prometheus_client import REGISTRY

from apps.accounts.services import api_token_create
from apps.photos.models import Photo
from apps.social.models import Comment, Follow, Like
from photosite.ratelimit import Rate, rate_limit_hit, rate_parse
from tests.factories import UserFactory, ready_photo
from tests.images import jpeg_bytes


@pytest.fixture
def photo(db, bucket) -> Photo:
    return ready_photo(UserFactory(), title="Much discussed")


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_forty_comments_through_the_form_in_a_burst_stop_at_the_limit_and_the_rest_are_not_stored(photo) -> None:
    client = signed_in(UserFactory())
    url = reverse("comment_create", args=[photo.pk])
    refusals_before = REGISTRY.get_sample_value("photosite_writes_refused_total", {"action": "comment"}) or 0
    statuses = [client.post(url, {"body": f"Comment {number}"}).status_code for number in range(40)]
    assert statuses == [302] * 30 + [429] * 10  # WRITE_LIMITS["comment"]: 30/min
    assert Comment.objects.filter(photo=photo).count() == 30
    refusals = REGISTRY.get_sample_value("photosite_writes_refused_total", {"action": "comment"})
    assert refusals == refusals_before + 10  # operators see the burst on /metrics
    refused = client.post(url, {"body": "One more"})
    page = refused.content.decode()
    assert "comments in a short time" in page and "Nothing was saved" in page
    assert int(refused["Retry-After"]) >= 1
    assert not Comment.objects.filter(body="One more").exists()
    # Someone else still comments: the limit is per person.
    assert signed_in(UserFactory()).post(url, {"body": "Mine"}).status_code == 302


def test_the_api_and_the_form_draw_on_one_comment_budget(photo, settings) -> None:
    settings.WRITE_LIMITS = {**settings.WRITE_LIMITS, "comment": "5/min"}
    client = signed_in(UserFactory())
    api, form = reverse("api_comments", args=[photo.pk]), reverse("comment_create", args=[photo.pk])
    for number in range(3):
        assert client.post(api, {"body": f"By API {number}"}, content_type="application/json").status_code == 201
    assert [client.post(form, {"body": f"By form {n}"}).status_code for n in range(3)] == [302, 302, 429]
    refused = client.post(api, {"body": "By API again"}, content_type="application/json")
    assert refused.status_code == 429 and refused.json()["error"]["status"] == 429
    assert Comment.objects.filter(photo=photo).count() == 5


def test_likes_and_follows_share_one_limit_between_the_pages_script_and_the_api(photo, settings) -> None:
    settings.WRITE_LIMITS = {**settings.WRITE_LIMITS, "like": "3/min", "follow": "2/min"}
    fan = UserFactory()
    client = signed_in(fan)
    like_url = reverse("photo_like", args=[photo.pk])
    as_script = {"Accept": "application/json"}
    assert client.post(like_url, {"liked": "1"}, headers=as_script).status_code == 200
    assert client.delete(reverse("api_like", args=[photo.pk])).status_code == 200
    assert client.post(like_url, {"liked": "1"}, headers=as_script).status_code == 200
    refused = client.post(like_url, {"liked": "0"}, headers=as_script)
    assert refused.status_code == 429 and "liked and unliked a lot" in refused.json()["error"]
    assert client.post(reverse("api_like", args=[photo.pk])).status_code == 429
    assert Like.objects.filter(user=fan, photo=photo).exists()  # the refused unlike changed nothing

    owner = photo.owner
    follow_url = reverse("follow", args=[owner.username])
    assert client.post(follow_url, {"following": "1"}).status_code == 302
    assert client.delete(reverse("api_follow", args=[owner.username])).status_code == 200
    assert client.post(follow_url, {"following": "1"}).status_code == 429
    assert not Follow.objects.filter(follower=fan, followee=owner).exists()


def test_uploads_by_the_form_and_the_api_share_one_limit(db, bucket, settings) -> None:
    settings.WRITE_LIMITS = {**settings.WRITE_LIMITS, "upload": "2/hour"}
    uploader = UserFactory()
    client = signed_in(uploader)

    def upload(url: str) -> int:
        file = SimpleUploadedFile("p.jpg", jpeg_bytes(width=64, height=48), content_type="image/jpeg")
        return client.post(url, {"file": file, "title": "Burst", "visibility": "public"}).status_code

    assert upload(reverse("photo_upload")) == 302
    assert upload(reverse("api_photos")) == 201
    assert upload(reverse("photo_upload")) == 429
    assert upload(reverse("api_photos")) == 429
    assert Photo.objects.filter(owner=uploader).count() == 2
    assert client.get(reverse("photo_upload")).status_code == 200  # the page itself is not a write


def test_profile_saves_with_their_avatars_are_limited_too(db, settings) -> None:
    settings.WRITE_LIMITS = {**settings.WRITE_LIMITS, "profile": "2/hour"}
    person = UserFactory(display_name="Before")
    client = signed_in(person)
    url = reverse("profile_edit")
    assert [client.post(url, {"display_name": f"Name {n}", "bio": ""}).status_code for n in range(3)] == [302, 302, 429]
    person.refresh_from_db()
    assert person.display_name == "Name 1"


def test_the_window_slides_so_a_burst_across_its_edge_cannot_take_twice_the_limit(db) -> None:
    rate = Rate(count=10, seconds=60)

    def hit(at: float) -> float | None:
        return rate_limit_hit(scope="test", ident="someone", rate=rate, now=1_000_020 + at)

    assert [hit(50 + n * 0.1) for n in range(10)] == [None] * 10  # late in one window
    wait = hit(51)
    assert wait is not None and wait >= 1
    # Just past the edge the last window still weighs almost fully: still refused.
    assert hit(61) is not None
    # Halfway into the next window half of the last one counts: room for five more.
    assert [hit(90 + n * 0.1) is None for n in range(6)] == [True] * 5 + [False]


def test_rates_read_as_the_api_writes_them() -> None:
    assert rate_parse("30/min") == Rate(30, 60)
    assert rate_parse("60/hour") == Rate(60, 3600)
    assert rate_parse("5/300s") == Rate(5, 300)
    assert rate_parse("1000/day") == Rate(1000, 86400)


def test_two_web_processes_count_one_budget_for_the_form_and_the_api(photo, site_server_factory) -> None:
    settings = {"WRITE_LIMIT_COMMENT": "4/min"}
    first, second = site_server_factory(**settings), site_server_factory(**settings)
    commenter = UserFactory()
    _, key = api_token_create(user=commenter, name="burst", scope="write")
    session = signed_in(commenter).cookies[django_settings.SESSION_COOKIE_NAME].value
    csrf = "c" * 32  # any secret will do: the form's token only has to match the cookie's
    cookies = {django_settings.SESSION_COOKIE_NAME: session, django_settings.CSRF_COOKIE_NAME: csrf}
    form_path, api_path = f"/photos/{photo.pk}/comments/", f"/api/v1/photos/{photo.pk}/comments/"

    def by_form(server, body: str) -> int:
        headers = {"X-CSRFToken": csrf}
        response = requests.post(
            server.url + form_path,
            data={"body": body},
            cookies=cookies,
            headers=headers,
            allow_redirects=False,
            timeout=10,
        )
        return response.status_code

    def by_api(server, body: str) -> int:
        headers = {"Authorization": f"Token {key}"}
        return requests.post(server.url + api_path, json={"body": body}, headers=headers, timeout=10).status_code

    assert [by_form(first, "1"), by_api(second, "2"), by_form(second, "3"), by_api(first, "4")] == [302, 201, 302, 201]
    assert [by_form(first, "5"), by_api(second, "6"), by_form(second, "7")] == [429, 429, 429]
    assert sorted(Comment.objects.filter(author=commenter).values_list("body", flat=True)) == ["1", "2", "3", "4"]
