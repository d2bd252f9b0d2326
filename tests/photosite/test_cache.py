"""photosite/cache.py and the cached selectors, against real Redis servers.

Outage tests use a Redis server of their own on a free port, so stopping it
cannot disturb the broker or other tests.
"""

from __future__ import annotations

import threading
import time

import redis
from django.core.cache import cache
from django.urls import reverse

from apps.photos import services
from apps.photos.models import Visibility
from photosite import cache as site_cache
from tests.factories import PASSWORD, uploaded_photo


def test_sessions_survive_a_redis_flush(client, user, own_redis) -> None:
    assert client.login(username=user.username, password=PASSWORD)
    assert "Log out" in client.get(reverse("home")).content.decode()
    redis.Redis(port=own_redis.port).flushall()
    assert "Log out" in client.get(reverse("home")).content.decode()


def test_pages_render_and_nobody_is_logged_out_while_redis_is_down(client, user, own_redis, bucket) -> None:
    photo = uploaded_photo(owner=user, title="Through the outage")
    services.rendition_make_all(photo_id=photo.pk)
    assert client.login(username=user.username, password=PASSWORD)
    own_redis.stop()
    for url in (reverse("home"), reverse("photo_detail", args=[photo.pk]), reverse("photo_upload")):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "Log out" in response.content.decode()
    assert "Through the outage" in client.get(reverse("home")).content.decode()
    own_redis.start()  # back, and empty
    assert "Log out" in client.get(reverse("home")).content.decode()


def test_concurrent_misses_compute_a_hot_key_once() -> None:
    calls = []

    def slow_grid() -> list[int]:
        calls.append(1)
        time.sleep(0.05)  # well inside the 0.5 s the others wait, even on a loaded machine
        return [1, 2, 3]

    results: list[object] = []
    # All eight ask at the same instant, as requests after a hot key expires do; without
    # the barrier the first thread could finish before the last one has even started.
    start_together = threading.Barrier(8)

    def request() -> None:
        start_together.wait(timeout=10)
        results.append(site_cache.get_or_compute("hot", slow_grid, ttl=30))

    threads = [threading.Thread(target=request) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [[1, 2, 3]] * 8
    assert len(calls) == 1


def test_an_expired_hot_key_is_served_stale_while_one_caller_refreshes() -> None:
    site_cache.get_or_compute("grid", lambda: "old", ttl=0, stale_ttl=60)
    cache.add("grid:lock", 1, timeout=10)  # another process is already refreshing it
    assert site_cache.get_or_compute("grid", lambda: "new", ttl=30, stale_ttl=60) == "old"
    cache.delete("grid:lock")
    assert site_cache.get_or_compute("grid", lambda: "new", ttl=30, stale_ttl=60) == "new"


def test_cached_home_grid_follows_every_change(client, user, bucket, django_capture_on_commit_callbacks) -> None:
    def home() -> str:
        return str(client.get(reverse("home")).content.decode())

    with django_capture_on_commit_callbacks(execute=True):
        first = uploaded_photo(owner=user, title="First light")
        services.rendition_make_all(photo_id=first.pk)
    assert "First light" in home()  # now cached

    with django_capture_on_commit_callbacks(execute=True):
        second = uploaded_photo(owner=user, title="Second look")
        services.rendition_make_all(photo_id=second.pk)
    assert "Second look" in home()

    with django_capture_on_commit_callbacks(execute=True):
        services.photo_update(photo=first, title="Renamed light", caption="", alt_text="", visibility="public")
    assert "Renamed light" in home() and "First light" not in home()

    with django_capture_on_commit_callbacks(execute=True):
        services.photo_update(photo=first, title="Renamed light", caption="", alt_text="", visibility="private")
    assert "Renamed light" not in home()
    assert client.get(reverse("photo_detail", args=[first.pk])).status_code == 404

    with django_capture_on_commit_callbacks(execute=True):
        services.photo_delete(photo_id=second.pk)
    assert "Second look" not in home()
    assert client.get(reverse("photo_detail", args=[second.pk])).status_code == 404


def test_a_private_photo_cached_for_its_owner_is_never_served_to_others(client, user, other_user, bucket) -> None:
    photo = uploaded_photo(owner=user, title="My secret", visibility=Visibility.PRIVATE)
    services.rendition_make_all(photo_id=photo.pk)
    client.force_login(user)
    assert "My secret" in client.get(reverse("photo_detail", args=[photo.pk])).content.decode()  # card cached
    client.force_login(other_user)
    response = client.get(reverse("photo_detail", args=[photo.pk]))
    assert response.status_code == 404 and "My secret" not in response.content.decode()
    client.logout()
    assert client.get(reverse("photo_detail", args=[photo.pk])).status_code == 404


def test_photo_page_is_served_from_cache_when_warm(client, user, bucket, django_assert_num_queries) -> None:
    photo = uploaded_photo(owner=user)
    services.rendition_make_all(photo_id=photo.pk)
    with django_assert_num_queries(3):  # the photo with its owner, renditions and albums; its tags; its counts
        client.get(reverse("photo_detail", args=[photo.pk]))
    url = reverse("photo_detail", args=[photo.pk])
    with django_assert_num_queries(1):  # another address: the card from the cache; the live like and comment counts
        assert client.get(url, {"visit": "2"}).status_code == 200
    with django_assert_num_queries(0):  # that address again: the whole page, kept for visitors (pagecache.py)
        assert client.get(url, {"visit": "2"}).status_code == 200


def test_waiters_never_all_compute_even_when_the_computation_is_slow() -> None:
    """The holder takes longer than any fixed wait; the others keep waiting for its value."""
    calls = []

    def slow_grid() -> str:
        calls.append(1)
        time.sleep(1.5)
        return "grid"

    results: list[object] = []
    start_together = threading.Barrier(6)

    def request() -> None:
        start_together.wait(timeout=10)
        results.append(site_cache.get_or_compute("slow", slow_grid, ttl=30))

    threads = [threading.Thread(target=request) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["grid"] * 6
    assert len(calls) == 1


def test_a_caller_whose_lock_expired_never_releases_the_next_holders_lock(monkeypatch) -> None:
    """A outlives its lock and B takes it; A's late release must leave B's lock alone."""
    monkeypatch.setattr(site_cache, "LOCK_SECONDS", 1)
    b_holds_the_lock = threading.Event()
    a_finished = threading.Event()
    b_saw: list[bool] = []

    def slow_a() -> str:
        b_holds_the_lock.wait(timeout=10)  # A runs on past its 1 s lock while B holds the key's lock
        return "a"

    def slow_b() -> str:
        b_holds_the_lock.set()
        a_finished.wait(timeout=10)  # A has stored its value and released "its" lock by now
        b_saw.append(bool(cache.lock("contended:lock").locked()))  # type: ignore[attr-defined]  # django-redis's, not Django's
        return "b"

    def run_a() -> None:
        site_cache.get_or_compute("contended", slow_a, ttl=0)
        a_finished.set()

    thread_a = threading.Thread(target=run_a)
    thread_a.start()
    time.sleep(1.2)  # A's lock has expired; nothing is stored yet, so B misses and takes the lock
    thread_b = threading.Thread(target=lambda: site_cache.get_or_compute("contended", slow_b, ttl=0))
    thread_b.start()
    thread_a.join(timeout=20)
    thread_b.join(timeout=20)
    assert b_saw == [True], "A's late release deleted the lock B holds"


def test_nothing_found_is_not_remembered(client, user, bucket) -> None:
    """A photo probed before it exists must show once it does: None is never cached."""
    assert site_cache.get_or_compute("photos:card:probe", lambda: None, ttl=300) is None
    assert site_cache.get_or_compute("photos:card:probe", lambda: "now it exists", ttl=300) == "now it exists"
