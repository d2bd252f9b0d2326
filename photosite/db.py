"""The database-routing seam: writes to the primary, reads to a healthy replica.

- Only web requests read from replicas. Writes, reads inside a transaction, every
  read of a request that writes (or of a non-GET request), and everything outside
  a request (jobs, which act on rows just committed; management commands; the
  shell) go to the primary.
- Read-your-writes: a request that wrote sets a short-lived cookie; while it is
  present, that browser's reads stay on the primary, for longer than a replica is
  ever allowed to lag.
- A replica that refuses connections, times out, or lags beyond
  DATABASE_REPLICA_MAX_LAG_SECONDS leaves the rotation; its health is checked at
  most every DATABASE_REPLICA_CHECK_SECONDS per process, never per query. A read
  that fails on a replica mid-request is retried once on the primary.
- Migrations run on the primary only.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

PIN_COOKIE = "pin_primary"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass
class _RequestScope:
    pinned: bool
    wrote: bool = False
    # The one replica this request reads from, picked at its first read: replicas lag by
    # different amounts, so a page (a list and its prefetches) read from two could mix them.
    replica: str | None = None
    replica_picked: bool = False
    replica_used: bool = False


_request: ContextVar[_RequestScope | None] = ContextVar("photosite_db_request", default=None)


def must_read_own_writes() -> bool:
    """True in a request that wrote, or whose browser wrote moment ago: skip caches too."""
    scope = _request.get()
    return scope is not None and scope.pinned


@contextlib.contextmanager
def pinned_to_primary() -> Iterator[None]:
    """Read from the primary inside this block (outside a request that is always so)."""
    scope = _request.get()
    if scope is None:
        yield
        return
    was_pinned, scope.pinned = scope.pinned, True
    try:
        yield
    finally:
        scope.pinned = was_pinned


# --- Replica health -----------------------------------------------------------------

# The replica's own view: a standby? its WAL receiver running, and in what state (NULL to
# a role without pg_read_all_stats, which still sees whether the row exists)? How far
# has it received and replayed? Positions as byte offsets, so Python compares them.
REPLICA_QUERY = """
SELECT pg_is_in_recovery(),
       (SELECT count(*) FROM pg_stat_wal_receiver),
       (SELECT status FROM pg_stat_wal_receiver),
       pg_wal_lsn_diff(pg_last_wal_receive_lsn(), '0/0')::bigint,
       pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::bigint
"""
# How far the primary has written its WAL: what a replica in step has received and replayed.
PRIMARY_QUERY = "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint, current_setting('wal_block_size')::int"
# The primary writes finished WAL pages in the background but a record still being
# completed only with the rest of it (a commit always in full), so while it is quiet its
# write position can stop on a page boundary inside a record no replica can replay yet.
# A replica that has received everything up to such a boundary and replayed all but the
# last this many bytes is in step.
INCOMPLETE_RECORD_BYTES = 64 * 1024


@dataclass
class ReplicaState:
    alias: str
    healthy: bool = False
    lag_seconds: float | None = None
    reason: str = "not checked yet"
    checked_at: float = float("-inf")  # time.monotonic()
    check_ms: float | None = None
    replayed: int | None = None  # WAL position replayed at the check, as a byte offset


@dataclass
class PrimaryPositions:
    """When this process first saw the primary's WAL reach each position.

    A replica that has not replayed a position the primary reached at time t is missing
    whatever was committed up to then, so it is at least now - t behind. This holds when
    the replica's own figures cannot tell: a WAL receiver that is cut off or hung receives
    nothing, so everything it received is also replayed.
    """

    seen: deque[tuple[float, int]] = field(default_factory=deque)  # (time.monotonic(), position)
    block_size: int = 8192
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, position: int, block_size: int, *, keep_seconds: float) -> None:
        now = time.monotonic()
        with self._lock:
            self.block_size = block_size
            if not self.seen or position > self.seen[-1][1]:
                self.seen.append((now, position))
            # Forget old positions, keeping the newest of them: a replica that has not
            # reached even that stays at least keep_seconds behind.
            while len(self.seen) > 1 and self.seen[1][0] < now - keep_seconds:
                self.seen.popleft()

    def seconds_behind(self, *, received: int, replayed: int) -> float:
        now = time.monotonic()
        with self._lock:
            for seen_at, position in self.seen:
                in_step = replayed >= position or (
                    position % self.block_size == 0
                    and received >= position
                    and position - replayed <= INCOMPLETE_RECORD_BYTES
                )
                if not in_step:
                    return now - seen_at
        return 0.0

    def forget(self) -> None:
        with self._lock:
            self.seen.clear()


@dataclass
class ReplicaMonitor:
    """Per-process view of which replicas may serve reads. Thread-safe."""

    states: dict[str, ReplicaState] = field(default_factory=dict)
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)
    primary: PrimaryPositions = field(default_factory=PrimaryPositions)
    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _turn: Iterator[int] = field(default_factory=itertools.count)

    def pick(self) -> str | None:
        healthy = [alias for alias in settings.DATABASE_REPLICAS if self.state(alias).healthy]
        if not healthy:
            return None
        return healthy[next(self._turn) % len(healthy)]

    def state(self, alias: str) -> ReplicaState:
        current = self.states.get(alias) or ReplicaState(alias)
        if time.monotonic() - current.checked_at < settings.DATABASE_REPLICA_CHECK_SECONDS:
            return current
        lock = self._locks.setdefault(alias, threading.Lock())
        # One thread re-checks; the others go on with the last known state.
        if lock.acquire(blocking=False):
            try:
                self._sample_primary()
                self._record(self._check(alias))
            finally:
                lock.release()
        return self.states.get(alias, current)

    def mark_down(self, alias: str, reason: str) -> None:
        self._record(ReplicaState(alias, healthy=False, reason=reason, checked_at=time.monotonic()))

    def forget(self) -> None:
        """Check every replica again on next use (tests, and after a config change)."""
        self.states.clear()
        self.primary.forget()

    def _sample_primary(self) -> None:
        try:
            with _probe_connect(DEFAULT_DB_ALIAS) as connection:
                position, block_size = _one_row(connection, PRIMARY_QUERY)
        except psycopg.Error as error:
            # Without the primary's position the replicas are judged by their own figures.
            logger.warning("replica check could not read the primary's WAL position: %s", _first_line(error))
            return
        keep = settings.DATABASE_REPLICA_MAX_LAG_SECONDS * 2 + 60
        self.primary.record(int(position), int(block_size), keep_seconds=keep)

    def _check(self, alias: str) -> ReplicaState:
        started = time.monotonic()
        try:
            with _probe_connect(alias) as connection:
                in_recovery, receivers, receiver_status, received, replayed = _one_row(connection, REPLICA_QUERY)
        except psycopg.Error as error:
            return ReplicaState(alias, False, reason=f"unreachable: {_first_line(error)}", checked_at=time.monotonic())
        elapsed_ms = (time.monotonic() - started) * 1000

        def down(reason: str, lag: float | None = None) -> ReplicaState:
            return ReplicaState(alias, False, lag, reason, time.monotonic(), elapsed_ms, replayed)

        if not in_recovery:
            return down("not a standby (promoted, or the URL names a primary)")
        if not receivers:
            return down("WAL receiver not running: cut off from the primary")
        if receiver_status is not None and receiver_status != "streaming":
            return down(f"WAL receiver {receiver_status}, not streaming from the primary")
        lag = self.primary.seconds_behind(received=received or 0, replayed=replayed or 0)
        if lag > settings.DATABASE_REPLICA_MAX_LAG_SECONDS:
            return down(
                f"lagging {lag:.1f}s behind the primary (limit {settings.DATABASE_REPLICA_MAX_LAG_SECONDS:g}s)", lag
            )
        return ReplicaState(alias, True, lag, "ok", time.monotonic(), elapsed_ms, replayed)

    def _record(self, new: ReplicaState) -> None:
        old = self.states.get(new.alias)
        self.states[new.alias] = new
        if old is None or old.healthy != new.healthy:
            event = "joined" if new.healthy else "left"
            self.transitions[(new.alias, event)] += 1
            log = logger.info if new.healthy else logger.warning
            log(
                "replica %s %s the read rotation: %s",
                new.alias,
                event,
                new.reason,
                extra={"replica": new.alias, "replica_event": event, "replica_lag_seconds": new.lag_seconds},
            )


monitor = ReplicaMonitor()


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _probe_connect(alias: str) -> psycopg.Connection[Any]:
    """A connection of the health checks' own, with short timeouts, to `alias`'s server."""
    params = connections.settings[alias]
    timeout_ms = int(settings.DATABASE_REPLICA_CONNECT_TIMEOUT * 1000)
    return psycopg.connect(
        host=params["HOST"] or None,
        port=params["PORT"] or None,
        dbname=params["NAME"],
        user=params["USER"] or None,
        password=params["PASSWORD"] or None,
        connect_timeout=max(1, int(settings.DATABASE_REPLICA_CONNECT_TIMEOUT)),  # libpq waits 2 s at least
        # A server that accepts the connection but never answers must not hold the check.
        options=f"-c statement_timeout={timeout_ms}",
        application_name="photosite replica check",
        autocommit=True,
    )


def _one_row(connection: psycopg.Connection[Any], query: str) -> tuple[Any, ...]:
    row = connection.execute(query).fetchone()
    if row is None:
        raise psycopg.ProgrammingError(f"no row from {query!r}")
    return tuple(row)


class PrimaryReplicaRouter:
    def db_for_read(self, model: type, **hints: Any) -> str:
        scope = _request.get()
        if scope is None or scope.pinned or not settings.DATABASE_REPLICAS:
            return DEFAULT_DB_ALIAS
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return DEFAULT_DB_ALIAS  # a transaction must see its own writes
        if not scope.replica_picked:
            scope.replica, scope.replica_picked = monitor.pick(), True
        if scope.replica is None:
            return DEFAULT_DB_ALIAS
        scope.replica_used = True
        return scope.replica

    def db_for_write(self, model: type, **hints: Any) -> str:
        scope = _request.get()
        if scope is not None:
            scope.wrote = True
            scope.pinned = True  # the rest of this request reads what it wrote
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # replicas hold the same data as the primary

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS


class ReadYourWritesMiddleware:
    """Pins a request to the primary when its browser wrote recently; marks writers."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        scope = _RequestScope(pinned=PIN_COOKIE in request.COOKIES or request.method not in SAFE_METHODS)
        token = _request.set(scope)
        try:
            response = self.get_response(request)
        finally:
            _request.reset(token)
        if scope.wrote and settings.DATABASE_REPLICAS:
            response.set_cookie(
                PIN_COOKIE,
                "1",
                max_age=settings.DATABASE_PIN_SECONDS,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response


class ReplicaFailoverMiddleware:
    """A safe request whose replica read failed is served again from the primary.

    Listed last in MIDDLEWARE, so the retry runs only the view, not other middleware.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        scope = _request.get()
        alias = scope.replica if scope is not None and scope.replica_used else None
        if (
            not isinstance(exception, OperationalError | InterfaceError)
            or alias is None
            or request.method not in SAFE_METHODS
            or getattr(request, "_replica_retried", False)
        ):
            return None
        monitor.mark_down(alias, f"query failed: {_first_line(exception)}")
        with contextlib.suppress(Exception):
            connections[alias].close()
        request._replica_retried = True  # type: ignore[attr-defined]  # our mark: retry a request once
        with pinned_to_primary():
            return self.get_response(request)
