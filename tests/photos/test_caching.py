"""What apps/photos/caching.py keeps in Redis, read back as an operator would with redis-cli."""

from __future__ import annotations

import time

import pytest
import requests
from django.contrib.auth.models import AnonymousUser
from django.core.cache import cache
from django.db import connection
from django.urls import reverse
from django_redis import get_redis_connection

from apps.photos import services
from apps.photos.caching import photo_card_key
from apps.photos.models import Photo
from tests.factories import UserFactory, ready_photo, uploaded_photo


def test_a_cached_photo_card_carries_no_password_hash_or_email(client, user, bucket) -> None:
    user.email = "owner-private@example.test"
    user.save(update_fields=["email"])
    photo = uploaded_photo(owner=user, title="Harbour at dawn")
    services.rendition_make_all(photo_id=photo.pk)

    assert client.get(reverse("photo_detail", args=[photo.pk])).status_code == 200
    raw_keys = get_redis_connection("default").keys(f"*{photo_card_key(photo.pk)}")
    assert len(raw_keys) == 1, raw_keys  # the card really is in Redis
    stored = get_redis_connection("default").get(raw_keys[0])
    assert isinstance(stored, bytes)
    assert b"Harbour at dawn" in stored
    assert user.password.encode() not in stored
    assert b"owner-private@example.test" not in stored

    card = cache.get(photo_card_key(photo.pk))[0]
    assert card.owner.shown_name == user.shown_name  # what pages show is still there


# --- Privacy takes effect everywhere within a second ---------------------------------
# Several web processes (gunicorn workers), as production runs, not one test client.


def _hits(url: str, times: int) -> list[int]:
    return [requests.get(url, timeout=10).status_code for _ in range(times)]


def _warm_every_worker(server_url: str, photo_id: int) -> None:
    """Enough requests that both workers have served (and could have cached) the photo."""
    assert _hits(f"{server_url}/photos/{photo_id}/", 20) == [200] * 20
    assert requests.get(f"{server_url}/api/v1/photos/{photo_id}/", timeout=10).json()["visibility"] == "public"


def _strangers_get_404_within_a_second(server_url: str, photo_id: int, title: str) -> None:
    time.sleep(1)
    assert _hits(f"{server_url}/photos/{photo_id}/", 30) == [404] * 30
    assert _hits(f"{server_url}/api/v1/photos/{photo_id}/", 30) == [404] * 30
    assert title not in requests.get(f"{server_url}/", timeout=10).text


@pytest.mark.parametrize("change", ["private", "hidden"])
def test_without_redis_every_worker_stops_showing_a_photo_within_a_second(site_server_factory, change) -> None:
    """No shared cache: a per-process copy could never be told to forget, so none is kept."""
    owner, moderator = UserFactory(), UserFactory(is_staff=True)
    photo = ready_photo(owner, title="Harbour lights")
    server = site_server_factory(workers=2, threads=2, REDIS_URL="")
    _warm_every_worker(server.url, photo.pk)
    assert "Harbour lights" in requests.get(f"{server.url}/", timeout=10).text

    if change == "private":
        services.photo_update(photo=photo, title=photo.title, caption="", alt_text="", visibility="private")
    else:
        services.photo_hide(photo=photo, moderator=moderator, reason="reported")
    _strangers_get_404_within_a_second(server.url, photo.pk, "Harbour lights")


@pytest.mark.django_db(transaction=True, databases=["default", "replica_0"])
def test_with_a_lagging_replica_a_photo_made_private_is_gone_within_a_second(
    site_server_factory, replica, settings
) -> None:
    """The card is refilled after the change: from the primary, never from the replica that
    has not replayed it yet (which would put the old visibility back for minutes)."""
    owner = UserFactory()
    photo = ready_photo(owner, title="Quiet street")
    replica.wait_until_caught_up()
    params = connection.settings_dict
    replica_url = f"postgres://{params['USER']}@127.0.0.1:{replica.server.port}/{params['NAME']}"
    server = site_server_factory(
        workers=2, threads=2, DATABASE_REPLICA_URLS=replica_url, DATABASE_REPLICA_MAX_LAG_SECONDS="3600"
    )
    _warm_every_worker(server.url, photo.pk)
    replica.pause_replay()  # from here on the replica misses every write

    services.photo_update(photo=photo, title=photo.title, caption="", alt_text="", visibility="private")
    assert Photo.objects.using(replica.alias).get(pk=photo.pk).visibility == "public"  # really stale
    _strangers_get_404_within_a_second(server.url, photo.pk, "Quiet street")


def _grid_reads(client, outcome: str) -> float:
    text = client.get("/metrics").content.decode()
    for line in text.splitlines():
        if line.startswith(f'photosite_cache_reads_total{{family="photos:grid",outcome="{outcome}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_operators_see_grid_cache_hits_and_recomputes_on_metrics(client, user, bucket) -> None:
    ready_photo(user, title="Counted")
    computed, hits = _grid_reads(client, "computed"), _grid_reads(client, "hit")
    for visit in range(3):
        # Three addresses (?visit=): the whole-page cache (photosite/pagecache.py) keeps one
        # copy per address, so each visit renders the page and reads the one shared grid.
        assert "Counted" in client.get(reverse("home"), {"visit": visit}).content.decode()
    assert _grid_reads(client, "computed") == computed + 1  # the first visit fills it
    assert _grid_reads(client, "hit") == hits + 2  # the next two are answered from Redis


# --- A write forgets only the listings it changed ---------------------------------------


def test_uploads_and_edits_leave_the_tag_pages_and_profiles_they_do_not_touch_cached(
    client, user, other_user, bucket, django_capture_on_commit_callbacks
) -> None:
    from apps.photos.caching import grid_key
    from apps.photos.selectors import listing_recent, listing_tag, listing_user

    with django_capture_on_commit_callbacks(execute=True):
        ready_photo(other_user, title="Quiet pond", tags="pond")
        edited = ready_photo(user, title="Busy street", tags="street")
    for url in (reverse("home"), reverse("tag", args=["pond"]), reverse("profile", args=[other_user.username])):
        assert client.get(url).status_code == 200  # each first page is now cached for every visitor
    untouched = {
        "pond": grid_key(listing=listing_tag(name="pond")),
        "their profile": grid_key(listing=listing_user(owner=other_user, viewer=AnonymousUser())),
    }
    home = grid_key(listing=listing_recent())
    assert all(cache.get(key) is not None for key in [*untouched.values(), home])

    with django_capture_on_commit_callbacks(execute=True):  # what bench/write_load.py's writer does
        ready_photo(user, title="Busier street", tags="street")
        services.photo_update(photo=edited, title="Busy street, renamed", caption="", alt_text="", visibility="public")

    # The tag page and the profile no write touched still read the same keys, still filled.
    assert grid_key(listing=listing_tag(name="pond")) == untouched["pond"]
    assert grid_key(listing=listing_user(owner=other_user, viewer=AnonymousUser())) == untouched["their profile"]
    assert all(cache.get(key) is not None for key in untouched.values())
    assert grid_key(listing=listing_recent()) != home  # the home page did change: its version moved
    body = client.get(reverse("home")).content.decode()
    assert "Busier street" in body and "Busy street, renamed" in body
