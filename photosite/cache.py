"""The cache seam: read-through helpers with stampede protection and versioned keys.

Key builders live beside the selectors they serve (grep for `_key(`), and every
write that changes what a cached item shows deletes its key or bumps its version.
When Redis is down, django-redis answers misses (IGNORE_EXCEPTIONS), so every
read here falls through to the database: slower, never broken.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeAlias, TypeVar

from django.core.cache import cache

from photosite import db

T = TypeVar("T")
# What a key holds: the value and the time.time() until which it is fresh.
Envelope: TypeAlias = tuple[T, float]
LOCK_SECONDS = 10  # longer than any computation we cache should take
WAIT_FOR_OTHER_SECONDS = 0.5
POLL_SECONDS = 0.02


def version_get(name: str) -> int:
    """The current version of a family of keys (e.g. every home-grid page)."""
    key = f"version:{name}"
    version = cache.get(key)
    if version is None:
        version = time.time_ns()
        cache.add(key, version, timeout=None)
        version = cache.get(key) or version
    return int(version)


def version_bump(name: str) -> None:
    """Invalidate every key built with this version, at once."""
    cache.set(f"version:{name}", time.time_ns(), timeout=None)


def get_or_compute(key: str, compute: Callable[[], T], *, ttl: int, stale_ttl: int = 0) -> T:
    """Return the cached value, computing it at most once at a time across all processes.

    With stale_ttl, a value past its ttl is still served for that long while one
    caller recomputes it, so a hot key's expiry never sends every request to the DB.
    Requests that must read their own writes (pinned to the primary) skip the cache.
    """
    if db.must_read_own_writes():
        return compute()
    envelope: Envelope[T] | None = cache.get(key)
    now = time.time()
    if envelope is not None:
        value, fresh_until = envelope
        if now < fresh_until:
            return value
        if not cache.add(f"{key}:lock", 1, timeout=LOCK_SECONDS):
            return value  # someone else is refreshing it: serve the stale copy meanwhile
        return _compute_and_store(key, compute, ttl=ttl, stale_ttl=stale_ttl)
    # The stubs say bool, but django-redis answers None when it swallowed a connection error.
    acquired: bool | None = cache.add(f"{key}:lock", 1, timeout=LOCK_SECONDS)
    if acquired is None:  # cache unreachable (django-redis swallowed the error)
        return compute()
    if not acquired:
        envelope = _wait_for_other(key)
        if envelope is not None:
            return envelope[0]
    return _compute_and_store(key, compute, ttl=ttl, stale_ttl=stale_ttl)


def _wait_for_other(key: str) -> Envelope[Any] | None:
    """The envelope another caller stored while we waited, or None if it took too long."""
    deadline = time.monotonic() + WAIT_FOR_OTHER_SECONDS
    while time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        envelope: Envelope[Any] | None = cache.get(key)
        if envelope is not None:
            return envelope
    return None


def _compute_and_store(key: str, compute: Callable[[], T], *, ttl: int, stale_ttl: int) -> T:
    try:
        value = compute()
        cache.set(key, (value, time.time() + ttl), timeout=ttl + stale_ttl)
        return value
    finally:
        cache.delete(f"{key}:lock")


def delete(*keys: str) -> None:
    cache.delete_many(list(keys))
