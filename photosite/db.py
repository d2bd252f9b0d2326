"""The database-routing seam: writes to the primary, reads to a healthy replica.

- Only web requests read from replicas. Writes, reads inside a transaction, every
  read of a request that writes (or of a non-GET request), and everything outside
  a request (jobs, which act on rows just committed; management commands; the
  shell) go to the primary.
- One request reads from one replica, picked at its first read.
- Read-your-writes, for every client: after a person's request writes, the primary's
  WAL position is kept for that person in Redis (DATABASE_PIN_SECONDS); their reads
  stay on the primary until a replica has replayed that far. A browser also gets a
  short-lived cookie that keeps it on the primary (for anonymous writers, and if
  Redis is down).
- Who a request is (its session, its API token, and the user row a session names) is
  read from the primary: a replica that has not replayed a new session or token
  yet would turn its owner away.
- Which replicas are healthy is photosite/replicas.py's verdict. A read that fails
  on a replica mid-request is retried once on the primary.
- Migrations run on the primary only.
- Statement timeouts: DATABASE_STATEMENT_TIMEOUT_MS on every connection (settings), the
  longer DATABASE_JOB_STATEMENT_TIMEOUT_MS on those opened outside web requests (here).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import psycopg
import redis
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.db import DEFAULT_DB_ALIAS, DatabaseError, InterfaceError, OperationalError, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.signals import connection_created
from django.db.models import Model
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject, empty

from photosite.replicas import first_line
from photosite.replicas import monitor as monitor  # health.py and metrics.py read it from here

logger = logging.getLogger(__name__)

PIN_COOKIE = "pin_primary"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class _Unknown:
    """Who the request is cannot be told yet: it sent credentials not yet checked."""


UNKNOWN = _Unknown()


@dataclass
class _RequestScope:
    request: HttpRequest
    pinned: bool  # every read on the primary: a write, an unsafe method, the cookie
    wrote: bool = False
    decided: bool = False  # who the request is is known, and where it reads from
    recent_writer: bool = False  # this person wrote within DATABASE_PIN_SECONDS: skip caches
    # The one replica this request reads from, picked at its first read: replicas lag by
    # different amounts, so a page (a list and its prefetches) read from two could mix them.
    replica: str | None = None
    replica_used: bool = False


_request: ContextVar[_RequestScope | None] = ContextVar("photosite_db_request", default=None)


def must_read_own_writes() -> bool:
    """True in a request that wrote, or whose person wrote a moment ago: skip caches too."""
    scope = _request.get()
    if scope is None or scope.pinned:
        return scope is not None
    if not settings.DATABASE_REPLICAS:
        return False
    if not _decide(scope):
        return True  # credentials not checked yet: assume the worst
    return scope.recent_writer


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


# --- Who the request is -------------------------------------------------------------


def _person(request: HttpRequest) -> str | _Unknown | None:
    """The signed-in person's id, without reading the user row; None if anonymous."""
    user = request.__dict__.get("user")
    if user is not None and not isinstance(user, SimpleLazyObject):
        # Set by the API's authentication (DRF), which reads tokens from the primary.
        return str(user.pk) if user.is_authenticated else None
    session = getattr(request, "session", None)
    user_id = session.get(SESSION_KEY) if session is not None else None
    if user_id is not None:
        return str(user_id)
    if "HTTP_AUTHORIZATION" in request.META:
        return UNKNOWN  # an API token the view has not checked yet
    return None


def _session_user_unloaded(request: HttpRequest) -> bool:
    """A session names a person whose user row has not been read in this request yet."""
    user = request.__dict__.get("user")
    if not isinstance(user, SimpleLazyObject) or user._wrapped is not empty:
        return False
    session = getattr(request, "session", None)
    return session is not None and session.get(SESSION_KEY) is not None


def _decide(scope: _RequestScope) -> bool:
    """Pick where the request reads from, once who it is is known; False while it is not."""
    if scope.decided:
        return True
    person = _person(scope.request)
    if isinstance(person, _Unknown):
        return False
    written: int | None = None
    if person is not None:
        if _session_user_unloaded(scope.request):
            with pinned_to_primary():  # who is asking: never a replica's copy of the user row
                _ = scope.request.user.pk
        try:
            written = written_positions.get(person)
            scope.recent_writer = written is not None
        except redis.RedisError as error:
            # Whether this person just wrote cannot be told: read as if they had.
            _warn_now_and_then(f"read-your-writes positions unreadable, reading from the primary: {first_line(error)}")
            scope.pinned = scope.recent_writer = True
    if not scope.pinned:
        scope.replica = monitor.pick(replayed_at_least=written)
    scope.decided = True
    return True


# --- Where each person's last write got to ------------------------------------------

# Raise the kept position, never lower it (two requests of one person can finish in
# either order), and restart the time limit. Positions are byte offsets: Lua's numbers
# are exact up to 2^53, 9 PB of WAL.
_RAISE_POSITION = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) > current then
    redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
else
    redis.call('EXPIRE', KEYS[1], ARGV[2])
end
"""


class WrittenPositions:
    """Per person: the primary's WAL position after their last write, for DATABASE_PIN_SECONDS.

    In Redis (REDIS_URL), so every web process sees it, with the cache's short timeouts.
    Without Redis, in this process only (one web process: embedded or a laptop).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._client: tuple[str, redis.Redis] | None = None
        self._local: dict[str, tuple[int, float]] = {}

    def _redis(self) -> redis.Redis | None:
        url = settings.REDIS_URL
        if not url:
            return None
        with self._lock:
            if self._client is None or self._client[0] != url:
                client = redis.Redis.from_url(url, socket_connect_timeout=0.25, socket_timeout=0.25)
                self._client = (url, client)
            return self._client[1]

    @staticmethod
    def _key(person: str) -> str:
        prefix = settings.CACHES["default"].get("KEY_PREFIX") or "photosite"
        return f"{prefix}:db:written:{person}"

    def record(self, person: str, position: int) -> None:
        ttl = settings.DATABASE_PIN_SECONDS
        client = self._redis()
        if client is not None:
            client.eval(_RAISE_POSITION, 1, self._key(person), position, ttl)
            return
        with self._lock:
            kept = self._local.get(person)
            if kept is not None and kept[1] > time.monotonic():
                position = max(position, kept[0])
            self._local[person] = (position, time.monotonic() + ttl)

    def get(self, person: str) -> int | None:
        client = self._redis()
        if client is not None:
            value = client.get(self._key(person))
            return int(value) if value is not None else None
        with self._lock:
            kept = self._local.get(person)
            return kept[0] if kept is not None and kept[1] > time.monotonic() else None


written_positions = WrittenPositions()

_last_warning = 0.0


def _warn_now_and_then(message: str) -> None:
    """A warning at most once a minute per process: an outage must not flood the logs."""
    global _last_warning
    if time.monotonic() - _last_warning > 60:
        _last_warning = time.monotonic()
        logger.warning(message)


def _position_after_writes() -> int | None:
    """Where the primary's WAL will be once everything this request wrote is in it."""
    primary = connections[DEFAULT_DB_ALIAS]
    if primary.vendor != "postgresql":
        return None
    with primary.cursor() as cursor:
        # The insert position: past the commit records even when they are not yet flushed.
        cursor.execute("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), '0/0')::bigint")
        row = cursor.fetchone()
    return int(row[0]) if row else None


def _remember_write(request: HttpRequest) -> None:
    person = _person(request)
    if person is None or isinstance(person, _Unknown):
        return  # anonymous: the cookie alone keeps this browser on the primary
    try:
        position = _position_after_writes()
        if position is not None:
            written_positions.record(person, position)
    except (DatabaseError, psycopg.Error, redis.RedisError) as error:
        _warn_now_and_then(f"could not keep a write's position for read-your-writes: {first_line(error)}")


# --- Statement timeouts --------------------------------------------------------------


@receiver(connection_created)
def _longer_statement_timeout_outside_requests(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """Outside a web request (a Dramatiq job, a management command such as migrate, the
    shell) a statement may run for DATABASE_JOB_STATEMENT_TIMEOUT_MS; every connection
    starts with the web's DATABASE_STATEMENT_TIMEOUT_MS (settings: OPTIONS["options"]).

    A web process opens connections inside requests only (its checks use their own), so
    a pooled connection never carries the longer limit into a request.
    """
    if connection.vendor != "postgresql" or _request.get() is not None:
        return
    if connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS"):
        return  # PgBouncer in transaction mode: a SET would stay on a server connection others share
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('statement_timeout', %s, false)", [str(settings.DATABASE_JOB_STATEMENT_TIMEOUT_MS)]
        )


# --- Routing ------------------------------------------------------------------------


def _reads_from_primary_only(model: type[Model]) -> bool:
    return model._meta.label in settings.DATABASE_PRIMARY_ONLY_MODELS


class PrimaryReplicaRouter:
    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        scope = _request.get()
        if scope is None or not settings.DATABASE_REPLICAS or _reads_from_primary_only(model):
            return DEFAULT_DB_ALIAS
        if scope.pinned or connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return DEFAULT_DB_ALIAS  # a transaction must see its own writes
        if not scope.decided:
            if model._meta.label == settings.AUTH_USER_MODEL and _session_user_unloaded(scope.request):
                return DEFAULT_DB_ALIAS  # the session's user row: who is asking, from the primary
            if not _decide(scope) or scope.pinned:
                return DEFAULT_DB_ALIAS
        if scope.replica is None:
            return DEFAULT_DB_ALIAS
        scope.replica_used = True
        return scope.replica

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        scope = _request.get()
        # A new session or a token's last use changes nothing anyone reads from a replica.
        if scope is not None and not _reads_from_primary_only(model):
            scope.wrote = True
            scope.pinned = True  # the rest of this request reads what it wrote
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # replicas hold the same data as the primary

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS


class ReadYourWritesMiddleware:
    """Routes each request's reads (see the module's docstring); remembers what writers wrote."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        scope = _RequestScope(request, pinned=PIN_COOKIE in request.COOKIES or request.method not in SAFE_METHODS)
        token = _request.set(scope)
        try:
            response = self.get_response(request)
            if scope.wrote and settings.DATABASE_REPLICAS:
                _remember_write(request)
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
            or isinstance(exception.__cause__, psycopg.errors.QueryCanceled)  # a slow statement: not a dead replica
            or alias is None
            or request.method not in SAFE_METHODS
            or getattr(request, "_replica_retried", False)
        ):
            return None
        monitor.mark_down(alias, f"query failed: {first_line(exception)}")
        with contextlib.suppress(Exception):
            connections[alias].close()
        request._replica_retried = True  # type: ignore[attr-defined]  # our mark: retry a request once
        with pinned_to_primary():
            return self.get_response(request)
