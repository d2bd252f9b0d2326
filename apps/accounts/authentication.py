"""Who a signed-in request is: the session's user row, read fresh from the database on every
request, without building the ORM query each time.

`session_user` is Django's `django.contrib.auth.get_user` (Django 5.2) step for step (the
session's user id and backend, the backend named in AUTHENTICATION_BACKENDS, the session
auth hash checked against the row, a session signed with a fallback secret cycled, any
other mismatch flushed), except for how the row is fetched: for a backend whose `get_user`
is ModelBackend's own (ModelBackend, allauth's), the primary key lookup is compiled once per
process and database and then only executed, routed as the ORM would route it
(photosite/db.py: the session's user row from the primary) and through the same cursor
wrappers. The row is never kept anywhere: deactivating a person, a password change or a
demotion takes effect on their next request on every process, exactly as before. Profiled
on the signed-in home page, building and compiling `User.objects.get(pk=...)` was most of
the request's single query.
"""

from __future__ import annotations

import threading
from typing import Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, load_backend
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AnonymousUser
from django.db import connections, router
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare

from apps.accounts.models import User


class _CompiledLookup:
    """`User._default_manager.filter(pk=%s)` compiled for one database: its SQL, its columns'
    attribute names and their converters. Not `usable` when the compiled query does not take the
    primary key as its only parameter: then the ORM builds it as before."""

    def __init__(self, alias: str) -> None:
        self.alias = alias
        marker = -7_349_113  # a value no compiler folds into the SQL text
        compiler = User._default_manager.filter(pk=marker).query.get_compiler(using=alias)
        self.sql, params = compiler.as_sql()
        query = compiler.query
        columns = [column for column, _, _ in compiler.select]
        # Plain columns of the row and nothing else: a manager that annotates, joins
        # (select_related) or defers would need the ORM's own row handling.
        self.usable = (
            list(params) == [marker]
            and compiler.klass_info is not None
            and not query.annotations
            and not query.select_related
            and [getattr(getattr(column, "target", None), "attname", None) for column in columns]
            == [field.attname for field in User._meta.concrete_fields]
        )
        self.attnames = [field.attname for field in User._meta.concrete_fields]
        # {position: (converters, column)}; each converter is called with the connection of the
        # thread that reads, as the compiler calls it
        self.converters = compiler.get_converters(columns) if self.usable else {}


_compiled: dict[str, _CompiledLookup] = {}
_compiled_guard = threading.Lock()


def _lookup_for(alias: str) -> _CompiledLookup:
    found = _compiled.get(alias)
    if found is None:
        with _compiled_guard:
            found = _compiled.get(alias) or _CompiledLookup(alias)
            _compiled[alias] = found
    return found


def _user_id(value: Any) -> Any:
    """The session's user id as the primary key's Python value (as Django's _get_user_session_key)."""
    return User._meta.pk.to_python(value)


def user_row_get(user_id: Any) -> User | None:
    """`User._default_manager.get(pk=user_id)`, or None if there is no such row: the same
    database (the router's choice for the user model, as the ORM asks it), the same SQL."""
    user_id = _user_id(user_id)
    alias = router.db_for_read(User)
    lookup = _lookup_for(alias)
    if not lookup.usable:
        return User._default_manager.using(alias).filter(pk=user_id).first()
    connection = connections[alias]
    with connection.cursor() as cursor:
        cursor.execute(lookup.sql, (user_id,))
        rows = cursor.fetchmany(2)
    if len(rows) != 1:
        return None
    values = list(rows[0])
    for position, (converters, column) in lookup.converters.items():
        for converter in converters:
            values[position] = converter(values[position], column, connection)
    return User.from_db(alias, lookup.attnames, values)


def _backend_user(backend: Any, user_id: Any) -> Any:
    if type(backend).get_user is ModelBackend.get_user:  # ModelBackend's, and allauth's (which inherits it)
        user = user_row_get(user_id)
        return user if user is not None and backend.user_can_authenticate(user) else None
    return backend.get_user(user_id)


def session_user(request: HttpRequest) -> Any:
    """The request's user, as `django.contrib.auth.get_user` returns it (see the module's docstring)."""
    user = None
    session = request.session
    try:
        user_id = _user_id(session[SESSION_KEY])
        backend_path = session[BACKEND_SESSION_KEY]
    except KeyError:
        pass
    else:
        if backend_path in settings.AUTHENTICATION_BACKENDS:
            backend = load_backend(backend_path)
            user = _backend_user(backend, user_id)
            # Verify the session
            if hasattr(user, "get_session_auth_hash"):
                session_hash = session.get(HASH_SESSION_KEY)
                if not session_hash:
                    session_hash_verified = False
                else:
                    session_auth_hash = user.get_session_auth_hash()
                    session_hash_verified = constant_time_compare(session_hash, session_auth_hash)
                if not session_hash_verified:
                    # A session signed with a fallback secret is moved to the current one;
                    # any other mismatch (the password changed) signs the session out.
                    if session_hash and any(
                        constant_time_compare(session_hash, fallback_auth_hash)
                        for fallback_auth_hash in user.get_session_auth_fallback_hash()
                    ):
                        session.cycle_key()
                        session[HASH_SESSION_KEY] = session_auth_hash
                    else:
                        session.flush()
                        user = None
    return user or AnonymousUser()


def cached_session_user(request: HttpRequest) -> Any:
    """`session_user`, read once a request (apps.accounts.middleware's `request.user` reads it)."""
    if not hasattr(request, "_cached_user"):  # where Django's own middleware keeps it (allauth clears it)
        request._cached_user = session_user(request)  # type: ignore[attr-defined]
    return request._cached_user  # type: ignore[attr-defined]


def request_user(request: HttpRequest) -> Any:
    """`request.user` itself rather than the lazy stand-in apps.accounts.middleware puts there:
    the same person, read from the session once a request as the stand-in reads it. Every
    attribute read through the stand-in goes through Django's LazyObject machinery (and raises
    and catches an AttributeError on the way), and a page's templates read the user about ten
    times. A user set later in the request (`login`, `logout`, DRF) is returned as it is."""
    user = request.user
    if user is getattr(request, "_session_user_stand_in", None):
        return cached_session_user(request)
    return user
