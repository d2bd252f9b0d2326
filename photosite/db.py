"""The database-routing seam: writes to the primary, reads to a healthy replica.

- Only web requests read from replicas. Writes, reads inside a transaction, every
  read of a request that writes (or of a non-GET request), and everything outside
  a request (jobs, which act on rows just committed; management commands; the
  shell) go to the primary.
- One request reads from one replica, picked at its first read.
- Read-your-writes: a request that wrote sets a short-lived cookie; while it is
  present, that browser's reads stay on the primary, for longer than a replica is
  ever allowed to lag.
- Which replicas are healthy is photosite/replicas.py's verdict. A read that fails
  on a replica mid-request is retried once on the primary.
- Migrations run on the primary only.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from django.http import HttpRequest, HttpResponse

from photosite.replicas import first_line
from photosite.replicas import monitor as monitor  # health.py and metrics.py read it from here

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
        monitor.mark_down(alias, f"query failed: {first_line(exception)}")
        with contextlib.suppress(Exception):
            connections[alias].close()
        request._replica_retried = True  # type: ignore[attr-defined]  # our mark: retry a request once
        with pinned_to_primary():
            return self.get_response(request)
