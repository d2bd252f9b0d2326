"""photosite/pagecache.py: whole pages kept for anonymous visitors, on real Redis.

The checks a visitor or an operator would notice: the page comes back from the cache
(`X-Page-Cache: hit`) without a session cookie, a privacy change takes it away on every
web process at once, and nobody signed in, nor anyone without an unlisted photo's link,
is ever handed a copy made for someone else. A hit carries the headers the whole stack
set (security, CSP), a request id and an access line of its own; the edge (the
production nginx.conf, in front of two gunicorn workers) keeps visitors' pages for a
second and nobody else's, serves them stale while it fetches them again, and drops them
with the request that made a photo private or hid it (the site's purge), or within two
seconds if that purge never arrives.
"""

from __future__ import annotations

import gzip
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.test import Client, RequestFactory
from django.urls import reverse
from django_redis import get_redis_connection

from apps.albums.services import album_create, album_update
from apps.photos import selectors, services
from apps.photos.models import Visibility
from apps.social import services as social
from compose.local.services.net import free_port
from photosite import cache, purge
from photosite.pagecache import (
    EDGE_CACHE_CONTROL,
    EDGE_CACHE_CONTROL_PURGED,
    EDGE_SECONDS,
    HIT_HEADER,
    page_key_for,
)
from photosite.purge import PurgeSettings
from tests import nginx
from tests.conftest import wait_for
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
    # Each worker answers a page it checked from memory for an hour unless Redis tells it the page
    # changed (pagecache._Watch): so what follows shows the message reaching every process.
    server = site_server_factory(workers=2, threads=1, PAGE_CACHE_VERDICT_SECONDS="3600")
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
    _settled(server.url + pages["album page"])
    assert [response.status_code for response in _visits(server.url + pages["album page"])] == [404] * ROUNDS
    assert not any("Sea album" in response.text for response in _visits(server.url + pages["profile"]))

    services.photo_update(photo=photo, title=photo.title, caption="", alt_text="", visibility=Visibility.PRIVATE)
    _settled(server.url + pages["photo page"])

    # The change's commit bumped the versions the pages were checked against, and Redis told each worker.
    assert [response.status_code for response in _visits(server.url + pages["photo page"])] == [404] * ROUNDS
    for page in ("home", "profile"):
        responses = _visits(server.url + pages[page])
        assert not any("Harbour lights" in response.text for response in responses), page
        assert all("Another boat" in response.text for response in responses), page
    assert not any("Harbour lights" in response.text for response in _visits(server.url + pages["tag page"]))


def _settled(url: str) -> None:
    """Until both workers answer 404 for what was just made private: Redis sends a write's
    invalidation messages as it runs the write, and the writer may read its reply a moment before
    they land (well under a millisecond here), a moment in which a visitor can still get the page."""
    wait_for(lambda: all(response.status_code == 404 for response in _visits(url)), timeout=10, what=url)


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


# Headers the rest of the stack sets (SecurityMiddleware, django-csp, XFrameOptionsMiddleware):
# a hit answered before any of it runs must still carry them.
STACK_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options")


def test_a_hit_carries_the_stacks_headers_its_own_request_id_and_the_edges_cache_control(
    client, user, bucket, caplog
) -> None:
    ready_photo(user, title="Headlands")
    first = client.get("/")
    assert first["Cache-Control"] == EDGE_CACHE_CONTROL
    assert "Accept-Encoding" in first["Vary"] and "Cookie" in first["Vary"]
    assert first["Surrogate-Key"] and first["Cache-Tag"] == first["Surrogate-Key"].replace(" ", ",")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="photosite.access"):
        hits = [client.get("/", HTTP_X_REQUEST_ID=f"edge-{index}") for index in range(2)]
    assert [hit[HIT_HEADER] for hit in hits] == ["hit", "hit"]
    for header in (*STACK_HEADERS, "Cache-Control", "Vary", "Content-Language", "Surrogate-Key"):
        assert hits[0][header] == first[header], header
    assert hits[0].content == first.content and "Headlands" in hits[0].content.decode()
    assert [hit["X-Request-ID"] for hit in hits] == ["edge-0", "edge-1"]
    logged = [record for record in caplog.records if record.name == "photosite.access"]
    assert [getattr(record, "http.request.id") for record in logged] == ["edge-0", "edge-1"]
    assert all(record.getMessage().startswith("GET / 200 ") for record in logged)
    assert client.get("/").get("X-Request-ID") not in ("edge-0", "edge-1", None)  # made up when none came


def test_a_client_that_accepts_gzip_gets_the_copy_compressed_when_it_was_kept(client, user, bucket) -> None:
    ready_photo(user, title="Compressed cove")
    plain = client.get("/")
    packed = client.get("/", HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert packed[HIT_HEADER] == "hit" and packed["Content-Encoding"] == "gzip"
    assert int(packed["Content-Length"]) == len(packed.content) < len(plain.content) / 2
    assert gzip.decompress(packed.content) == plain.content
    identity = client.get("/", HTTP_ACCEPT_ENCODING="identity")
    assert identity[HIT_HEADER] == "hit" and "Content-Encoding" not in identity
    assert identity.content == plain.content


def test_pages_not_kept_for_visitors_are_private_for_every_cache(client, user, other_user, bucket) -> None:
    photo = ready_photo(other_user, title="Kept for one")
    path = reverse("photo_detail", args=[photo.pk])
    client.force_login(user)
    signed_in = client.get(path)
    assert signed_in.status_code == 200 and signed_in["Cache-Control"] == "private"
    assert "Surrogate-Key" not in signed_in
    visitor = Client()
    login_form = visitor.get(reverse("account_login"))  # a form with this visitor's CSRF token
    assert login_form.status_code == 200 and "private" in login_form["Cache-Control"]
    assert HIT_HEADER not in visitor.get(reverse("account_login"))
    unlisted = ready_photo(other_user, title="By link", visibility=Visibility.UNLISTED)
    by_link = visitor.get(selectors.photo_share_path(photo=unlisted))
    assert by_link.status_code == 200 and "private" in by_link["Cache-Control"]
    assert "public" not in visitor.get("/no-such-page/")["Cache-Control"]


def test_a_page_past_its_time_is_rendered_again_by_one_request_while_the_others_keep_the_copy(
    client, user, bucket, settings
) -> None:
    from django.core.cache import cache

    settings.PAGE_CACHE_VERDICT_SECONDS = 0  # each hit asks Redis, which is what this follows
    ready_photo(user, title="Renewed")
    client.get("/")
    assert client.get("/")[HIT_HEADER] == "hit"
    redis = get_redis_connection("default")
    entry = str(cache.client.make_key(page_key_for(RequestFactory().get("/"))))  # type: ignore[attr-defined]
    redis.hset(entry, "fresh_until", "0")  # its PAGE_TTL is up
    redis.set(f"{entry}:renewing", "1", ex=30)  # and another request is rendering it again
    assert client.get("/")[HIT_HEADER] == "hit"  # meanwhile the others keep the (still checked) copy
    redis.delete(f"{entry}:renewing")
    assert HIT_HEADER not in client.get("/")  # the first to see it past its time renders it...
    assert client.get("/")[HIT_HEADER] == "hit"  # ...and keeps it again for the next ones
    assert float(redis.hget(entry, "fresh_until") or 0) > time.time()
    assert not redis.exists(f"{entry}:renewing")


def test_a_request_the_stack_refuses_is_refused_even_when_its_page_is_kept(client, user, bucket) -> None:
    ready_photo(user, title="Refused")
    for _ in range(2):
        client.get("/")
    assert client.get("/")[HIT_HEADER] == "hit"
    refused = client.get("/", CONTENT_LENGTH="many")
    assert refused.status_code == 400 and HIT_HEADER not in refused
    assert client.get("/", HTTP_HOST="evil.example").status_code == 400


class Edge:
    """The production nginx.conf (as `make stack` renders it) in front of one site server,
    which purges it (MEDIA_PURGE_BACKEND=nginx), as do this test's own writes."""

    def __init__(self, url: str, site: str) -> None:
        self.url = url
        self.site = site

    def get(self, path: str, **kwargs: object) -> requests.Response:
        return requests.get(self.url + path, timeout=10, **kwargs)  # type: ignore[arg-type]

    def kept(self, path: str) -> requests.Response:
        """The page once nginx answers it from its copy (the first visit or two fetch it)."""
        for _ in range(5):
            response = self.get(path)
            if response.headers.get("X-Cache-Status") == "HIT":
                return response
        raise AssertionError(f"nginx never kept {path}: {response.headers.get('X-Cache-Status')}")


@pytest.fixture
def edge(site_server_factory, tmp_path: Path, settings) -> Iterator[Edge]:
    port = free_port()
    purged_by = {"MEDIA_PURGE_BACKEND": "nginx", "MEDIA_PURGE_NGINX_URLS": f"http://127.0.0.1:{port}"}
    server = site_server_factory(workers=2, threads=1, **purged_by)
    settings.MEDIA_PURGE = PurgeSettings(backend="nginx", nginx_urls=(f"http://127.0.0.1:{port}",))
    web = server.url.removeprefix("http://")
    with nginx.nginx_in_front(tmp_path, web=[web, web], port=port) as url:
        yield Edge(url, server.url)


def test_nginx_keeps_visitors_pages_for_a_second_and_never_a_signed_in_persons(edge: Edge, client) -> None:
    owner = UserFactory()
    photo = ready_photo(owner, title="Edge of the harbour")
    path = reverse("photo_detail", args=[photo.pk])
    statuses = [edge.get(path).headers["X-Cache-Status"] for _ in range(4)]
    assert statuses[0] in ("MISS", "EXPIRED") and "HIT" in statuses[1:]
    kept = edge.get(path)
    # stale-while-revalidate is for nginx alone, which the site purges: nobody behind it gets it.
    assert requests.get(edge.site + path, timeout=10).headers["Cache-Control"] == EDGE_CACHE_CONTROL_PURGED
    assert kept.headers["Cache-Control"] == EDGE_CACHE_CONTROL and "Set-Cookie" not in kept.headers
    ids = {edge.get(path).headers["X-Request-ID"] for _ in range(3)}
    assert len(ids) == 3  # each visitor's own id, even from nginx's copy

    german = [edge.get(path, headers={"Accept-Language": "de"}) for _ in range(2)]
    assert [response.headers["Content-Language"] for response in german] == ["de", "de"]
    assert edge.get(path).headers["Content-Language"] == "en"

    client.force_login(owner)
    session = {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}
    for _ in range(2):
        mine = edge.get(path, cookies=session)
        assert mine.headers["X-Cache-Status"] == "BYPASS" and mine.headers["Cache-Control"] == "private"
        assert "Log out" in mine.text  # their own page, not the visitors' copy
    by_token = edge.get(path, headers={"Authorization": "Token nonsense"})
    assert by_token.headers["X-Cache-Status"] == "BYPASS"
    assert "Log out" not in edge.get(path).text  # and nothing of theirs was kept for visitors
    assert edge.get(purge.EDGE_GENERATION_PATH).status_code == 404  # nor can a visitor refresh what pages are keyed by
    assert edge.get("/_edge/generation").status_code == 404


def test_a_photo_made_private_or_hidden_leaves_nginx_with_the_request_that_changed_it(edge: Edge) -> None:
    owner = UserFactory()
    private = ready_photo(owner, title="Night ferry", tags="ferry")
    hidden = ready_photo(owner, title="Morning ferry", tags="ferry")
    ready_photo(owner, title="Harbour crane", tags="ferry")
    photo_page = reverse("photo_detail", args=[private.pk])
    listings = [reverse("home"), reverse("tag", args=["ferry"]), reverse("profile", args=[owner.username])]
    for path in (photo_page, reverse("photo_detail", args=[hidden.pk]), *listings):
        assert edge.kept(path).status_code == 200
    # Past the page's second nginx answers from its copy while it fetches the page again
    # (stale-while-revalidate): what a purge must not let through after a privacy change.
    time.sleep(EDGE_SECONDS + 1.2)
    assert edge.get(reverse("home")).headers["X-Cache-Status"] == "STALE"
    assert "Night ferry" in edge.get(listings[1]).text  # the tag page's copy, stale, still answered

    services.photo_update(photo=private, title=private.title, caption="", alt_text="", visibility=Visibility.PRIVATE)
    # No sleep: the change's commit moved the edge generation and told nginx.
    assert [edge.get(photo_page).status_code for _ in range(4)] == [404] * 4
    for path in listings:
        pages = [edge.get(path) for _ in range(3)]
        assert all(page.status_code == 200 and "Harbour crane" in page.text for page in pages), path
        assert not any("Night ferry" in page.text for page in pages), path

    services.photo_hide(photo=hidden, moderator=UserFactory(is_staff=True), reason="Reported")
    assert [edge.get(reverse("photo_detail", args=[hidden.pk])).status_code for _ in range(4)] == [404] * 4
    for path in listings:
        assert not any("Morning ferry" in edge.get(path).text for _ in range(3)), path
    assert "Harbour crane" in edge.kept(listings[1]).text  # and nginx keeps the pages again


def test_a_purge_that_never_reaches_nginx_still_lets_a_private_photo_leave_within_two_seconds(
    edge: Edge, settings
) -> None:
    owner = UserFactory()
    photo = ready_photo(owner, title="Unpurged pier")
    path = reverse("photo_detail", args=[photo.pk])
    assert edge.kept(path).status_code == 200
    settings.MEDIA_PURGE = PurgeSettings(backend="nginx", nginx_urls=("http://127.0.0.1:9",))  # nginx unreachable
    services.photo_update(photo=photo, title=photo.title, caption="", alt_text="", visibility=Visibility.PRIVATE)
    # nginx keeps the generation for `s-maxage=1`, in whole seconds of its clock: under two.
    time.sleep(EDGE_SECONDS + 1.2)
    assert [edge.get(path).status_code for _ in range(4)] == [404] * 4
    assert not any("Unpurged pier" in edge.get(reverse("home")).text for _ in range(3))


def test_only_changes_that_take_something_away_purge_the_edge(
    user, other_user, bucket, django_capture_on_commit_callbacks
) -> None:
    """A like, a comment or an upload reaches the edge within its second by itself; purging every
    page at the edge for each would send them all back to the site on every like. Taking
    something away from visitors purges it at once."""
    photo = ready_photo(user, title="Lantern festival")
    before = cache.edge_generation()
    with django_capture_on_commit_callbacks(execute=True):
        social.like_set(user=other_user, photo=photo, liked=True)
        comment = social.comment_create(author=other_user, photo=photo, body="Lovely")
        ready_photo(user, title="Another one")
        social.follow_set(follower=other_user, followee=user, following=True)
    assert cache.edge_generation() == before

    album = album_create(owner=user, title="Trip")
    withdrawals = {
        "comment removed": lambda: social.comment_delete(comment_id=comment.pk),
        "photo edited": lambda: services.photo_update(
            photo=photo, title="Lantern", caption="", alt_text="", visibility=Visibility.PUBLIC
        ),
        "photo made private": lambda: services.photo_update(
            photo=photo, title="Lantern", caption="", alt_text="", visibility=Visibility.PRIVATE
        ),
        "photo deleted": lambda: services.photo_delete(photo_id=photo.pk),
        "album made private": lambda: album_update(album=album, title="Trip", description="", visibility="private"),
    }
    for what, withdraw in withdrawals.items():
        seen = cache.edge_generation()
        with django_capture_on_commit_callbacks(execute=True):
            withdraw()
        assert cache.edge_generation() != seen, what
