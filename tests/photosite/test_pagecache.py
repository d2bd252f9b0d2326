"""photosite/pagecache.py: whole pages kept for anonymous visitors, on real Redis.

The checks a visitor or an operator would notice: the page comes back from the cache
(`X-Page-Cache: hit`) without a session cookie, a privacy change takes it away on every
web process at once, and nobody signed in, nor anyone without an unlisted photo's link,
is ever handed a copy made for someone else.
"""

from __future__ import annotations

import pytest
import requests
from django.conf import settings
from django.urls import reverse

from apps.albums.services import album_create, album_update
from apps.photos import selectors, services
from apps.photos.models import Visibility
from photosite.pagecache import HIT_HEADER
from tests.factories import UserFactory, ready_photo

ROUNDS = 12  # requests per page: both gunicorn workers answer several of them


def _visits(url: str) -> list[requests.Response]:
    """Fresh visitors: no cookie jar carried from one request to the next."""
    return [requests.get(url, timeout=10) for _ in range(ROUNDS)]


def test_visitors_get_cached_pages_without_a_session_and_a_photo_made_private_leaves_them_on_every_process(
    site_server_factory,
) -> None:
    owner = UserFactory()
    photo = ready_photo(owner, title="Harbour lights", tags="harbour")
    ready_photo(owner, title="Another boat")  # the photo page's neighbour in Recent
    album = album_create(owner=owner, title="Sea album", photo_ids=[photo.pk])
    server = site_server_factory(workers=2, threads=1)
    pages = {
        "home": reverse("home"),
        "photo page": reverse("photo_detail", args=[photo.pk]) + "?from=recent",
        "profile": reverse("profile", args=[owner.username]),
        "tag page": reverse("tag", args=["harbour"]),
        "album page": reverse("album_detail", args=[album.pk]),
    }
    for page, path in pages.items():
        responses = _visits(server.url + path)
        assert [response.status_code for response in responses] == [200] * ROUNDS, page
        assert all("Harbour lights" in response.text for response in responses), page
        assert not any("Set-Cookie" in response.headers for response in responses), page  # no session, no token
        hits = [response for response in responses if response.headers.get(HIT_HEADER) == "hit"]
        assert len(hits) >= ROUNDS - 2, page  # the first one or two fill it; Redis serves both workers after
        assert not any("csrfmiddlewaretoken" in response.text for response in hits), page

    assert "Sea album" in _visits(server.url + pages["profile"])[-1].text
    album_update(album=album, title=album.title, description="", visibility=Visibility.PRIVATE)
    assert [response.status_code for response in _visits(server.url + pages["album page"])] == [404] * ROUNDS
    assert not any("Sea album" in response.text for response in _visits(server.url + pages["profile"]))

    services.photo_update(photo=photo, title=photo.title, caption="", alt_text="", visibility=Visibility.PRIVATE)

    # No sleep: the change's commit bumped the versions the pages were checked against.
    assert [response.status_code for response in _visits(server.url + pages["photo page"])] == [404] * ROUNDS
    for page in ("home", "profile"):
        responses = _visits(server.url + pages[page])
        assert not any("Harbour lights" in response.text for response in responses), page
        assert all("Another boat" in response.text for response in responses), page
    assert not any("Harbour lights" in response.text for response in _visits(server.url + pages["tag page"]))


def test_a_signed_in_person_never_gets_the_visitors_copy(client, user, other_user, bucket) -> None:
    photo = ready_photo(other_user, title="Quiet street")
    path = reverse("photo_detail", args=[photo.pk])
    for _ in range(2):
        client.get(path)
    assert client.get(path)[HIT_HEADER] == "hit"  # the visitors' copy exists

    client.force_login(user)
    response = client.get(path)
    assert response.status_code == 200
    assert HIT_HEADER not in response
    page = response.content.decode()
    assert "Log out" in page and "comment-form" in page  # their own page, with their forms
    assert "csrfmiddlewaretoken" in page


def test_an_unlisted_photo_opened_by_its_link_is_not_kept_for_anyone(client, user, bucket) -> None:
    photo = ready_photo(user, title="Only by link", visibility=Visibility.UNLISTED)
    link = selectors.photo_share_path(photo=photo)
    responses = [client.get(link) for _ in range(3)]
    assert [response.status_code for response in responses] == [200] * 3
    assert not any(HIT_HEADER in response for response in responses)
    assert client.get(reverse("photo_detail", args=[photo.pk])).status_code == 404


@pytest.mark.parametrize(
    "headers",
    [{"HTTP_AUTHORIZATION": "Token nonsense"}, {"HTTP_COOKIE": "sessionid=whatever"}, {"HTTP_COOKIE": "messages=x"}],
    ids=["authorization", "session cookie", "other cookie"],
)
def test_a_request_with_credentials_or_cookies_of_its_own_is_not_answered_from_the_cache(
    client, user, bucket, headers
) -> None:
    ready_photo(user, title="Lighthouse")
    for _ in range(2):
        client.get("/")
    assert client.get("/")[HIT_HEADER] == "hit"
    response = client.get("/", **headers)
    assert HIT_HEADER not in response


def test_each_language_gets_its_own_copy(client, user, bucket) -> None:
    ready_photo(user, title="Lighthouse")
    for _ in range(2):
        client.get("/")
    english = client.get("/")
    assert english[HIT_HEADER] == "hit" and english["Content-Language"] == "en"

    by_browser = [client.get("/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9") for _ in range(2)]
    assert [response["Content-Language"] for response in by_browser] == ["de", "de"]
    assert by_browser[1][HIT_HEADER] == "hit"  # German visitors share their own copy
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "de"  # the footer's switcher, over an English browser
    chosen = client.get("/", HTTP_ACCEPT_LANGUAGE="en")
    assert chosen["Content-Language"] == "de" and 'lang="de"' in chosen.content.decode()


def _page_cache_count(client, outcome: str) -> float:
    for line in client.get("/metrics").content.decode().splitlines():
        if line.startswith(f'photosite_page_cache_requests_total{{outcome="{outcome}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_operators_see_page_cache_hits_and_misses_on_metrics(client, user, bucket) -> None:
    ready_photo(user, title="Counted")
    hits, stored = _page_cache_count(client, "hit"), _page_cache_count(client, "stored")
    for _ in range(3):
        client.get(reverse("explore"))
    assert _page_cache_count(client, "stored") == stored + 1  # the first visit renders and keeps it
    assert _page_cache_count(client, "hit") == hits + 2
