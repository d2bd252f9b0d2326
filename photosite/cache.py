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
from django.core.signals import setting_changed
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


_writes_here = [0]  # how many invalidations this process has made in the shared cache


def writes_here() -> int:
    """How many invalidations this process has made in the shared cache (versions bumped, the
    edge moved, values forgotten): a web process that answers kept pages without asking Redis
    (photosite/pagecache.py) asks again after any of its own. A value stored where none was, or
    stored again, reaches it as Redis' invalidation message, as every other process's write does."""
    return _writes_here[0]


def _wrote() -> None:
    _writes_here[0] += 1


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
    _wrote()
    if edge:
        purge.page_purge(keys=names)


def edge_forget() -> None:
    """Purge every visitor's page at the edge: for a change no version names (a removed comment)."""
    cache.set(EDGE_GENERATION_KEY, time.time_ns(), timeout=None)
    _wrote()
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
    return _read_through(key, compute, envelope, family=family, ttl=ttl, stale_ttl=stale_ttl)


# KEYS: the versions' keys. ARGV[1]: the time (ns) to start a version not stored yet with (as
# versions_get's add); ARGV[2] and ARGV[3]: the value's key before and after its versions.
# Returns the versions, then the value stored under the key they make (false when none is).
VERSIONED_GET_SCRIPT = """
local versions = redis.call('MGET', unpack(KEYS))
for i = 1, #KEYS do
  if not versions[i] then
    redis.call('SET', KEYS[i], ARGV[1], 'NX')
    versions[i] = redis.call('GET', KEYS[i])
  end
end
local value = redis.call('GET', ARGV[2] .. table.concat(versions, '.') .. ARGV[3])
versions[#versions + 1] = value
return versions
"""
_KEY_SPLIT = "\x00versions\x00"


class _VersionedGet:
    """The script, registered once per process, and django-redis' key maker and decoder."""

    def __init__(self) -> None:
        from django_redis import get_redis_connection

        self.script = get_redis_connection("default").register_script(VERSIONED_GET_SCRIPT)
        backend = cache.client  # type: ignore[attr-defined]  # django-redis's client
        self.make_key: Callable[[str], Any] = backend.make_key
        self.decode: Callable[[bytes], Any] = backend.decode


_versioned_get: _VersionedGet | None = None


def _settings_changed(*, setting: str, **kwargs: Any) -> None:
    global _versioned_get
    if setting == "CACHES":  # tests that put the cache on a Redis of their own
        _versioned_get = None


setting_changed.connect(_settings_changed)


def get_or_compute_versioned(
    names: tuple[str, ...],
    key_head: str,
    key_tail: str,
    compute: Callable[[], T],
    *,
    ttl: int,
    stale_ttl: int = 0,
    privacy: bool = False,
) -> T:
    """`get_or_compute(key_head + versions_get(*names) + key_tail, ...)`: the same value, the
    same versions recorded, the same stale and lock handling, but with Redis the versions and
    the value come back in one round trip (a script reads the versions, starts any not stored
    yet, and gets the value under the key they make) instead of two."""
    global _versioned_get
    if not cache_is_shared() or db.must_read_own_writes():
        return get_or_compute(
            f"{key_head}{versions_get(*names)}{key_tail}", compute, ttl=ttl, stale_ttl=stale_ttl, privacy=privacy
        )
    if _versioned_get is None:
        _versioned_get = _VersionedGet()
    reader = _versioned_get
    version_keys = [f"version:{name}" for name in names]
    made = str(reader.make_key(f"{key_head}{_KEY_SPLIT}{key_tail}")).split(_KEY_SPLIT)
    try:
        if len(made) != 2:  # a KEY_FUNCTION that does not keep the key whole: no script
            raise RedisError("the value's key cannot be made in Redis")
        found = reader.script(
            keys=[str(reader.make_key(key)) for key in version_keys], args=[time.time_ns(), made[0], made[1]]
        )
    except RedisError:  # Redis is away: read as get_or_compute would (misses, then the database)
        return get_or_compute(
            f"{key_head}{versions_get(*names)}{key_tail}", compute, ttl=ttl, stale_ttl=stale_ttl, privacy=privacy
        )
    versions = [version.decode() for version in found[:-1]]
    reads = _recording.get()
    if reads is not None:
        reads.versions.update(zip(version_keys, versions, strict=True))
    key = f"{key_head}{'.'.join(versions)}{key_tail}"
    if privacy:
        compute = _from_primary(compute)
    envelope: Envelope[T] | None = reader.decode(found[-1]) if found[-1] is not None else None
    return _read_through(key, compute, envelope, family=_family(key), ttl=ttl, stale_ttl=stale_ttl)


def _read_through(
    key: str, compute: Callable[[], T], envelope: Envelope[T] | None, *, family: str, ttl: int, stale_ttl: int
) -> T:
    """get_or_compute from the value found under `key` (`envelope`, None when none was)."""
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
    _wrote()


def get_many(keys: Iterable[str]) -> dict[str, Any]:
    return cache.get_many(list(keys))


def set_value(key: str, value: Any, *, ttl: int) -> None:
    """Store a plain value (not read through get_or_compute): a marker others only look at."""
    cache.set(key, value, timeout=ttl)
