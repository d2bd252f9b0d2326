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
from collections import Counter
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

LAG_QUERY = """
SELECT pg_is_in_recovery(),
       CASE WHEN NOT pg_is_in_recovery() THEN 0
            WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
            ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)
       END
"""


@dataclass
class ReplicaState:
    alias: str
    healthy: bool = False
    lag_seconds: float | None = None
    reason: str = "not checked yet"
    checked_at: float = float("-inf")  # time.monotonic()
    check_ms: float | None = None


@dataclass
class ReplicaMonitor:
    """Per-process view of which replicas may serve reads. Thread-safe."""

    states: dict[str, ReplicaState] = field(default_factory=dict)
    transitions: Counter[tuple[str, str]] = field(default_factory=Counter)
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
                self._record(self._check(alias))
            finally:
                lock.release()
        return self.states.get(alias, current)

    def mark_down(self, alias: str, reason: str) -> None:
        self._record(ReplicaState(alias, healthy=False, reason=reason, checked_at=time.monotonic()))

    def forget(self) -> None:
        """Check every replica again on next use (tests, and after a config change)."""
        self.states.clear()

    def _check(self, alias: str) -> ReplicaState:
        started = time.monotonic()
        params = connections.settings[alias]
        try:
            with psycopg.connect(
                host=params["HOST"] or None,
                port=params["PORT"] or None,
                dbname=params["NAME"],
                user=params["USER"] or None,
                password=params["PASSWORD"] or None,
                connect_timeout=max(1, int(settings.DATABASE_REPLICA_CONNECT_TIMEOUT)),
                autocommit=True,
            ) as connection:
                connection.execute(f"SET statement_timeout = {int(settings.DATABASE_REPLICA_CONNECT_TIMEOUT * 1000)}")
                _, lag = connection.execute(LAG_QUERY).fetchone()  # type: ignore[misc]  # one row: SELECT without FROM
        except psycopg.Error as error:
            return ReplicaState(alias, False, reason=f"unreachable: {_first_line(error)}", checked_at=time.monotonic())
        lag = float(lag)
        elapsed_ms = (time.monotonic() - started) * 1000
        if lag > settings.DATABASE_REPLICA_MAX_LAG_SECONDS:
            reason = f"lagging {lag:.1f}s (limit {settings.DATABASE_REPLICA_MAX_LAG_SECONDS:g}s)"
            return ReplicaState(alias, False, lag, reason, time.monotonic(), elapsed_ms)
        return ReplicaState(alias, True, lag, "ok", time.monotonic(), elapsed_ms)

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
