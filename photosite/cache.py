"""The cache seam: read-through helpers with a stampede lock, and versioned key families.

Key builders and invalidations live in one caching module per app (grep for
`_key(`); a write bumps the versions of only the families it changed, so the rest
keep hitting. When Redis is down, django-redis answers misses (IGNORE_EXCEPTIONS)
and the lock below gives way, so every read falls through to the database:
slower, never broken.

Privacy-bearing values (anything that decides who may see a photo) are computed
from the primary, never from a replica that may not have replayed the change
yet, and are not cached at all when the cache is per process (no Redis) while
several processes serve: one process could not tell the others to forget.

A caller can record what a piece of output was built from (`reads_recorded`): the
versions read and the stamp of each read-through value used. Whole pages cached for
visitors (photosite/pagecache.py) keep that record and are served again only while
`reads_still_current` says none of it has been bumped, forgotten or recomputed since.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeAlias, TypeVar

from django.conf import settings
from django.core.cache import cache
from prometheus_client import Counter
from redis.exceptions import LockError, RedisError

from photosite import db, purge

T = TypeVar("T")
# What a key holds: the value and the time.time() until which it is fresh.
Envelope: TypeAlias = tuple[T, float]
LOCK_SECONDS = 10  # longer than any computation we cache should take; a dead holder's lock expires then
POLL_SECONDS = 0.02

# Per key family ("photos:grid", "photos:card", ...): whether reads are answered from the
# cache, so an operator (and bench/write_load.py) can see which writes empty which pages.
CACHE_READS = Counter(
    "photosite_cache_reads",
    "Read-through cache reads by key family and outcome (hit, stale, computed, bypassed)",
    ["family", "outcome"],
)


@dataclass
class CacheReads:
    """What one piece of output was built from: the versions it read (key -> value) and, for
    each read-through value it used, the stamp stored with it (key -> fresh-until time).
    `complete` is False once a read went around the cache (Redis down, a pinned request,
    a value not stored): then something unrecorded went into the output."""

    versions: dict[str, str] = field(default_factory=dict)
    stamps: dict[str, float] = field(default_factory=dict)
    complete: bool = True


_recording: ContextVar[CacheReads | None] = ContextVar("photosite_cache_reads", default=None)


@contextlib.contextmanager
def reads_recorded() -> Iterator[CacheReads]:
    """Record the cache reads made inside the block (this thread or task only)."""
    reads = CacheReads()
    token = _recording.set(reads)
    try:
        yield reads
    finally:
        _recording.reset(token)


def reads_still_current(reads: CacheReads) -> bool:
    """Whether every version and value in `reads` is still the one in the cache (one round trip)."""
    keys = [*reads.versions, *reads.stamps]
    if not keys:
        return True
    found = cache.get_many(keys)
    if any(str(found.get(key)) != version for key, version in reads.versions.items()):
        return False
    for key, stamp in reads.stamps.items():
        envelope = found.get(key)
        if not isinstance(envelope, tuple) or envelope[1] != stamp:
            return False
    return True


def _record_value(key: str, stamp: float) -> None:
    reads = _recording.get()
    if reads is not None:
        reads.stamps[key] = stamp


def _record_incomplete() -> None:
    reads = _recording.get()
    if reads is not None:
        reads.complete = False


def _family(key: str) -> str:
    return ":".join(key.split(":", 2)[:2])


def cache_is_shared() -> bool:
    """Whether every web process sees the same cache (Redis), so one delete reaches them all."""
    return "redis" in str(settings.CACHES["default"]["BACKEND"]).lower()


# --- Versions: families of keys forgotten at once ------------------------------------


def versions_get(*names: str) -> str:
    """The current versions of some key families, as one key fragment (one round trip).

    A reader that read the old version before a bump stores under the old key,
    which nobody reads any more: a bump can never be undone by a slow refill.
    """
    keys = [f"version:{name}" for name in names]
    found = cache.get_many(keys)
    missing = [key for key in keys if found.get(key) is None]
    for key in missing:
        cache.add(key, time.time_ns(), timeout=None)
    if missing:
        found.update(cache.get_many(missing))
    reads = _recording.get()
    if reads is not None:
        reads.versions.update((key, str(found.get(key))) for key in keys)
    return ".".join(str(found.get(key) or 0) for key in keys)


def versions_read_if_recording(*names: str) -> None:
    """Record these families' versions into the output being recorded (`reads_recorded`: a
    page kept whole for visitors); nothing, not even a round trip, when none is."""
    if _recording.get() is not None:
        versions_get(*names)


def versions_bump(names: Iterable[str], *, edge: bool = False) -> None:
    """Invalidate every key built with these versions.

    `edge` for a change that takes something away from visitors (a photo made private, hidden
    or deleted, an owner's edit, a removed comment): the edge generation moves in the same MSET
    and the caches in front are purged, so nginx never again looks up a page it kept before.
    Other changes (uploads, likes, follows) reach the edge within its `s-maxage` by
    themselves: purging every edge page for each of them would send every page back to the
    site on every like, and call a CDN's purge API on the request that liked.
    """
    now = time.time_ns()
    names = set(names)
    values: dict[str, int] = {f"version:{name}": now for name in names}
    if edge:
        values[EDGE_GENERATION_KEY] = now
    cache.set_many(values, timeout=None)
    if edge:
        purge.page_purge(keys=names)


def edge_forget() -> None:
    """Purge every visitor's page at the edge: for a change no version names (a removed comment)."""
    cache.set(EDGE_GENERATION_KEY, time.time_ns(), timeout=None)
    purge.page_purge(keys=())


# nginx keys visitors' pages by this too (photosite/purge.py): every invalidation moves it.
EDGE_GENERATION_KEY = "version:edge"


def edge_generation() -> str:
    """The current edge generation (one round trip), started when none is stored yet."""
    found = cache.get(EDGE_GENERATION_KEY)
    if found is None:
        cache.add(EDGE_GENERATION_KEY, time.time_ns(), timeout=None)
        found = cache.get(EDGE_GENERATION_KEY)
    return str(found or 0)


# --- The stampede lock, with an owner token ----------------------------------------


class _Lock(Protocol):
    def acquire(self, blocking: bool = ...) -> bool: ...
    def release(self) -> None: ...
    def locked(self) -> bool: ...


class _ProcessLock:
    """The lock for a per-process cache (locmem, dummy): owned by a token, expiring like Redis's."""

    _held: dict[str, tuple[str, float]] = {}
    _guard = threading.Lock()

    def __init__(self, name: str, timeout: float) -> None:
        self.name, self.timeout, self.token = name, timeout, uuid.uuid4().hex

    def acquire(self, blocking: bool = False) -> bool:
        with self._guard:
            holder = self._held.get(self.name)
            if holder is not None and holder[1] > time.monotonic():
                return False
            self._held[self.name] = (self.token, time.monotonic() + self.timeout)
            return True

    def release(self) -> None:
        with self._guard:
            holder = self._held.get(self.name)
            if holder is not None and holder[0] == self.token:  # never another caller's lock
                del self._held[self.name]

    def locked(self) -> bool:
        with self._guard:
            holder = self._held.get(self.name)
            return holder is not None and holder[1] > time.monotonic()


def _lock_for(key: str) -> _Lock:
    if cache_is_shared():
        # redis-py's Lock: SET NX with a random token; release deletes only its own token (Lua).
        lock: _Lock | None = cache.lock(f"{key}:lock", timeout=LOCK_SECONDS)  # type: ignore[attr-defined]
        if lock is not None:  # None: django-redis swallowed a connection error
            return lock
    return _ProcessLock(f"{key}:lock", LOCK_SECONDS)


def _try_acquire(lock: _Lock) -> bool | None:
    """True if we hold it now, False if another caller does, None if Redis is unreachable."""
    try:
        return bool(lock.acquire(blocking=False))
    except RedisError:
        return None


def _release(lock: _Lock) -> None:
    try:
        lock.release()
    except (LockError, RedisError):
        pass  # it expired (and may be someone else's now) or Redis went away: nothing of ours to free


def _held_by_another(lock: _Lock) -> bool:
    try:
        return bool(lock.locked())
    except RedisError:
        return False


# --- Read-through -------------------------------------------------------------------


def get_or_compute(key: str, compute: Callable[[], T], *, ttl: int, stale_ttl: int = 0, privacy: bool = False) -> T:
    """Return the cached value, computing it at most once at a time across all processes.

    With stale_ttl, a value past its ttl is still served for that long while one
    caller recomputes it, so a hot key's expiry never sends every request to the DB.
    Callers that find neither a value nor the lock free wait for the holder's value;
    they never all compute. `None` is never cached (a photo that does not exist yet
    may exist a moment later). `privacy`: see the module's docstring.
    Requests that must read their own writes (pinned to the primary) skip the cache.
    """
    if privacy:
        compute = _from_primary(compute)
    family = _family(key)
    if db.must_read_own_writes() or (privacy and not cache_is_shared()):
        CACHE_READS.labels(family, "bypassed").inc()
        _record_incomplete()
        return compute()
    envelope: Envelope[T] | None = cache.get(key)
    if envelope is not None:
        value, fresh_until = envelope
        if time.time() < fresh_until:
            CACHE_READS.labels(family, "hit").inc()
            _record_value(key, fresh_until)
            return value
        lock = _lock_for(key)
        if not _try_acquire(lock):
            CACHE_READS.labels(family, "stale").inc()
            _record_value(key, fresh_until)
            return value  # someone else is refreshing it (or Redis is down): serve the stale copy
        CACHE_READS.labels(family, "computed").inc()
        return _compute_and_store(key, compute, lock, ttl=ttl, stale_ttl=stale_ttl)

    lock = _lock_for(key)
    give_up_at = time.monotonic() + LOCK_SECONDS
    while True:
        acquired = _try_acquire(lock)
        if acquired is None:
            CACHE_READS.labels(family, "bypassed").inc()
            _record_incomplete()
            return compute()
        if acquired:
            CACHE_READS.labels(family, "computed").inc()
            return _compute_and_store(key, compute, lock, ttl=ttl, stale_ttl=stale_ttl)
        # Another caller is computing it: wait for its value, or for its lock to go
        # (it failed, or stored None), then try to take the lock ourselves.
        while _held_by_another(lock) and time.monotonic() < give_up_at:
            time.sleep(POLL_SECONDS)
            envelope = cache.get(key)
            if envelope is not None:
                CACHE_READS.labels(family, "hit").inc()  # after waiting for the holder's value
                _record_value(key, envelope[1])
                return envelope[0]
        envelope = cache.get(key)
        if envelope is not None:
            CACHE_READS.labels(family, "hit").inc()
            _record_value(key, envelope[1])
            return envelope[0]
        if time.monotonic() >= give_up_at:
            CACHE_READS.labels(family, "computed").inc()
            _record_incomplete()
            return compute()  # the holder outlived its own lock: something is badly wrong, do not wait more


def _from_primary(compute: Callable[[], T]) -> Callable[[], T]:
    def fresh() -> T:
        with db.pinned_to_primary():
            return compute()

    return fresh


def _compute_and_store(key: str, compute: Callable[[], T], lock: _Lock, *, ttl: int, stale_ttl: int) -> T:
    try:
        value = compute()
        if value is None:
            _record_incomplete()
        else:
            fresh_until = time.time() + ttl
            cache.set(key, (value, fresh_until), timeout=ttl + stale_ttl)
            _record_value(key, fresh_until)
        return value
    finally:
        _release(lock)


def delete(*keys: str) -> None:
    """Forget these values (the pages kept whole from them check their stamps and go too; the
    edge is purged only by `versions_bump(..., edge=True)` or `edge_forget`)."""
    cache.delete_many(list(keys))


def get_many(keys: Iterable[str]) -> dict[str, Any]:
    return cache.get_many(list(keys))


def set_value(key: str, value: Any, *, ttl: int) -> None:
    """Store a plain value (not read through get_or_compute): a marker others only look at."""
    cache.set(key, value, timeout=ttl)
