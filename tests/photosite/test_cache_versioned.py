"""A listing's grid read with its versions in one Redis round trip (photosite.cache.get_or_compute_versioned),
against the real Redis the tests run on: the same value, key, versions and stale handling as
reading the versions and then the value, one command fewer for every page that shows a grid."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import redis
import redis.connection
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse

from apps.photos import services
from apps.photos.caching import grid_key
from apps.photos.selectors import listing_recent
from apps.social.services import follow_set
from photosite import cache as site_cache
from tests.factories import PASSWORD, uploaded_photo


@pytest.fixture
def cache_redis() -> redis.Redis:
    return redis.Redis.from_url(settings.CACHES["default"]["LOCATION"])


@contextlib.contextmanager
def round_trips() -> Iterator[list[bytes]]:
    """What this thread sends Redis inside the block, one entry a round trip (as redis-py sends
    it: a command, a pipeline, a script): the broker and other clients of the same server are not
    counted, as they would be in Redis' own INFO commandstats."""
    sent: list[bytes] = []
    send = redis.connection.AbstractConnection.send_packed_command
    thread = threading.get_ident()

    def counted(self: redis.connection.AbstractConnection, command: Any, *args: Any, **kwargs: Any) -> None:
        if threading.get_ident() == thread:
            sent.append(command if isinstance(command, bytes) else b"".join(command))
        send(self, command, *args, **kwargs)

    redis.connection.AbstractConnection.send_packed_command = counted  # type: ignore[method-assign]
    try:
        yield sent
    finally:
        redis.connection.AbstractConnection.send_packed_command = send  # type: ignore[method-assign]


@pytest.fixture
def computed() -> Iterator[list[str]]:
    yield []


def read(computed: list[str], value: str, *, ttl: int = 30) -> str:
    def compute() -> str:
        computed.append(value)
        return value

    return site_cache.get_or_compute_versioned(
        ("alpha", "beta"), "test:grid:v", ":html", compute, ttl=ttl, stale_ttl=60
    )


def test_a_signed_in_grid_page_asks_redis_twice_the_session_then_the_grid_with_its_versions(
    client, user, other_user, bucket
) -> None:
    photo = uploaded_photo(owner=other_user, title="Seen from afar")
    services.rendition_make_all(photo_id=photo.pk)
    follow_set(follower=user, followee=other_user, following=True)
    assert client.login(username=user.username, password=PASSWORD)
    for url in (reverse("home"), reverse("feed")):
        assert "Seen from afar" in client.get(url).content.decode()  # the grid computed and kept
        with round_trips() as sent:
            response = client.get(url)
        assert response.status_code == 200 and "Seen from afar" in response.content.decode()
        assert len(sent) == 2, (url, sent)  # the session; the versions and the grid (one script)


def test_the_grid_is_kept_under_the_key_the_versions_make_and_read_back_from_it(client, bucket, user) -> None:
    photo = uploaded_photo(owner=user, title="Keyed")
    services.rendition_make_all(photo_id=photo.pk)
    assert "Keyed" in client.get(reverse("home")).content.decode()
    envelope = cache.get(grid_key(listing=listing_recent()))
    assert envelope is not None and "Keyed" in envelope[0]["items"]
    cache.set(grid_key(listing=listing_recent()), ({"items": "<p>planted</p>", "next": None}, envelope[1]), 60)
    client.force_login(user)
    assert "<p>planted</p>" in client.get(reverse("home")).content.decode()  # read from that very key


def test_a_bump_of_any_version_computes_again_and_others_keep_it(computed) -> None:
    assert read(computed, "first") == "first"
    assert read(computed, "second") == "first"  # kept
    site_cache.versions_bump(["beta"])
    assert read(computed, "third") == "third"
    site_cache.versions_bump(["gamma"])  # not one of its versions
    assert read(computed, "fourth") == "third"
    site_cache.versions_bump(["alpha"])
    assert read(computed, "fifth") == "fifth"
    assert computed == ["first", "third", "fifth"]
    # the same key reading the versions, then the value, would use
    key = f"test:grid:v{site_cache.versions_get('alpha', 'beta')}:html"
    assert cache.get(key)[0] == "fifth"


def test_versions_not_stored_yet_are_started_once_and_kept(computed, cache_redis) -> None:
    assert not cache_redis.keys("*version:alpha*")
    read(computed, "first")
    started = site_cache.versions_get("alpha", "beta")
    read(computed, "second")
    assert site_cache.versions_get("alpha", "beta") == started
    assert computed == ["first"]


def test_it_records_what_a_kept_page_needs_exactly_as_the_two_reads_do(computed) -> None:
    with site_cache.reads_recorded() as once:
        read(computed, "value")
    with site_cache.reads_recorded() as twice:
        site_cache.get_or_compute(
            f"test:grid:v{site_cache.versions_get('alpha', 'beta')}:html", lambda: "other", ttl=30, stale_ttl=60
        )
    assert once.versions == twice.versions and set(once.versions) == {"version:alpha", "version:beta"}
    assert once.stamps == twice.stamps and len(once.stamps) == 1
    assert once.complete and twice.complete
    assert site_cache.reads_still_current(once)
    site_cache.versions_bump(["alpha"])
    assert not site_cache.reads_still_current(once)


def test_an_expired_grid_is_served_stale_while_another_caller_refreshes_it(computed) -> None:
    read(computed, "old", ttl=0)
    key = f"test:grid:v{site_cache.versions_get('alpha', 'beta')}:html"
    cache.add(f"{key}:lock", 1, timeout=10)  # another process is refreshing it
    assert read(computed, "new") == "old"
    cache.delete(f"{key}:lock")
    assert read(computed, "new") == "new"
    assert computed == ["old", "new"]


def test_with_redis_gone_the_grid_is_computed_every_time(computed, own_redis) -> None:
    assert read(computed, "first") == "first"
    own_redis.stop()
    assert read(computed, "second") == "second"
    assert read(computed, "third") == "third"
    own_redis.start()  # back, and empty
    assert read(computed, "fourth") == "fourth"
    assert read(computed, "fifth") == "fourth"
