"""A busy kept page is answered from the bytes a web process holds, without asking Redis, only
while Redis would say the same (photosite/pagecache.py, `_Watch`): Redis tracks the keys the page
was checked against and tells the process the moment one is written by anyone. What a visitor
must never see is a page that changed, and what an operator sees is Redis asked once per page
and process rather than once per request: both on real Redis, the writes made from another
connection as another web process or a worker would make them, and the connections lost the
ways they are in production (killed, closed).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache as django_cache
from django.test import RequestFactory
from django_redis import get_redis_connection

from photosite import pagecache
from tests.conftest import wait_for
from tests.factories import ready_photo
from tests.photosite import test_wsgi

served = test_wsgi.served  # the fixture: calls photosite.wsgi.application as gunicorn does


@pytest.fixture
def commands_sent(monkeypatch) -> Iterator[list[bytes]]:
    """What this process's page lookups send to Redis (redis-py's connection class, observed)."""
    sent: list[bytes] = []
    connection_class = get_redis_connection("default").connection_pool.connection_class
    send = connection_class.send_packed_command

    def observed(self: Any, command: Any, check_health: bool = True) -> None:
        sent.extend(bytes(part) for part in (command if isinstance(command, list) else [command]))
        send(self, command, check_health)

    monkeypatch.setattr(connection_class, "send_packed_command", observed)
    yield sent


def _lookups(sent: list[bytes]) -> int:
    return sum(b"EVALSHA" in command for command in sent)


def _answered_without_asking(served: Any, sent: list[bytes], path: str = "/") -> None:
    """Ask until the page is answered from what this process holds (the first requests store it,
    fetch its bytes, then have Redis track what it was built from)."""

    def answered() -> bool:
        before = _lookups(sent)
        answer = served(path)
        return answer.header.get("x-page-cache") == "hit" and _lookups(sent) == before

    wait_for(answered, timeout=10, what="a hit answered without asking Redis")


def _written_elsewhere(name: str) -> None:
    """A cache key written the way another web process or a worker writes it: another
    connection, nothing this process knows of."""
    get_redis_connection("default").set(django_cache.make_key(name), time.time_ns())


@pytest.fixture
def told_only(settings) -> None:
    """Pages answered from memory for an hour once checked: only an invalidation message (or
    this process's own write) can make a process ask again, so a test that sees it ask has seen
    the message arrive. Redis sends it as it runs the write, and the writer may read its own
    reply a moment before it lands: a visitor in that moment gets the page as it was."""
    settings.PAGE_CACHE_VERDICT_SECONDS = 3600


def _rendered_again(served: Any, path: str = "/") -> Any:
    answers: list[Any] = []

    def rendered() -> bool:
        answers.append(served(path))
        return bool(answers[-1].django_ran)

    wait_for(rendered, timeout=10, what="the page to be rendered again")
    return answers[-1]


def test_a_busy_page_asks_redis_once_until_what_it_was_built_from_changes(
    served, commands_sent, user, bucket, told_only
):
    ready_photo(user, title="Lighthouse")
    _answered_without_asking(served, commands_sent)
    before = _lookups(commands_sent)
    answers = [served("/") for _ in range(30)]
    assert all(answer.header["x-page-cache"] == "hit" and b"Lighthouse" in answer.body for answer in answers)
    assert _lookups(commands_sent) == before  # thirty visitors, no round trip
    # nginx may keep what was answered from memory until a second after Redis last said so, not a
    # second after it fetched it: its purge after a change cannot be undone by a page held here
    kept_until = {int(answer.header["x-accel-expires"].removeprefix("@")) for answer in answers}
    assert max(kept_until) <= time.time() + 1

    _written_elsewhere("version:recent")  # what a new upload's commit bumps, in another process
    assert b"Lighthouse" in _rendered_again(served).body
    _answered_without_asking(served, commands_sent)  # and kept again, the new page's keys tracked
    _written_elsewhere("version:photos")
    _rendered_again(served)


def test_a_page_is_asked_about_again_after_a_second(served, commands_sent, user, bucket, settings):
    ready_photo(user, title="Pier")
    _answered_without_asking(served, commands_sent)
    settings.PAGE_CACHE_VERDICT_SECONDS = 0  # as if the second had passed
    before = _lookups(commands_sent)
    assert served("/").header["x-page-cache"] == "hit"
    assert _lookups(commands_sent) == before + 1
    # and, with verdicts off, nothing is left for Redis to track: the entry is the one key named
    lookup = [command for command in commands_sent if b"EVALSHA" in command][-1]
    assert lookup.startswith(b"*8\r\n"), lookup[:60]


def test_a_lost_invalidation_connection_means_asking_every_time_until_it_is_back(
    served, commands_sent, user, bucket, monkeypatch, told_only
):
    ready_photo(user, title="Buoy")
    monkeypatch.setattr(pagecache, "WATCH_RETRY_SECONDS", 0.0)
    _answered_without_asking(served, commands_sent)
    watch = pagecache._store().watch
    killed = watch.client_id
    get_redis_connection("default").execute_command("CLIENT", "KILL", "ID", killed)
    _written_elsewhere("version:recent")  # its invalidation now reaches nobody

    assert served("/").django_ran, "answered from memory with no one left to say the page changed"
    _answered_without_asking(served, commands_sent)  # a new connection, and answers without asking
    assert watch.client_id not in (None, killed)


def test_a_page_checked_on_a_connection_redis_closed_is_asked_about_again(
    served, commands_sent, user, bucket, told_only
):
    """Redis forgets what it tracked for a connection it closes (a restart, `timeout`, CLIENT KILL):
    the pages checked on it are asked about again, not answered from memory."""
    ready_photo(user, title="Harbour wall")
    _answered_without_asking(served, commands_sent)
    [held] = [held for (key, field), held in pagecache._store().held.items() if held.checked_by is not None][-1:]
    host, port = held.checked_by.getsockname()[:2]
    get_redis_connection("default").execute_command("CLIENT", "KILL", "ADDR", f"{host}:{port}")
    wait_for(lambda: _closed_by_peer(held.checked_by), timeout=5, what="the close to arrive")
    _written_elsewhere("version:recent")

    assert served("/").django_ran, "answered from memory after Redis stopped tracking for it"
    _answered_without_asking(served, commands_sent)


def _closed_by_peer(sock: Any) -> bool:
    import select

    return sock.fileno() < 0 or bool(select.select([sock], [], [], 0)[0])


def test_a_flushed_redis_forgets_every_page_held(served, commands_sent, user, bucket, told_only):
    ready_photo(user, title="Slipway")
    _answered_without_asking(served, commands_sent)
    get_redis_connection("default").flushdb()  # the test's own Redis: every key, at once
    _rendered_again(served)


def test_a_page_saved_again_from_other_keys_is_tracked_by_its_new_ones(served, commands_sent, user, bucket, told_only):
    """A version bumped that changes nothing shown (the same bytes, rendered from a fragment stored
    under a new name): the process must track the new entry's keys, not keep the old ones."""
    ready_photo(user, title="Ferry")
    _answered_without_asking(served, commands_sent)
    first = served("/").body
    _written_elsewhere("version:photos")  # the grid's fragment is now stored under another name
    assert _rendered_again(served).body == first  # the same bytes, from other keys
    _answered_without_asking(served, commands_sent)

    redis = get_redis_connection("default")
    entry = django_cache.make_key(pagecache.page_key_for(RequestFactory().get("/")))
    values = bytes(redis.hget(entry, "values") or b"")  # type: ignore[arg-type]  # a raw client: bytes
    grids = [name for name in values.split(b"\n") if b":photos:grid:" in name]
    assert grids, "the page was built from a grid fragment"
    redis.delete(*grids)  # forgotten by another process: the page must follow
    _rendered_again(served)
