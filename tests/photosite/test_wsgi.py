"""photosite/wsgi.py: visitors' kept pages answered ahead of Django's handler, on real Redis.

Called as gunicorn calls it (an environ and start_response, in this process). A hit
answered there must be the very answer the page cache middleware gives (headers, body,
gzip, 304, request id, access line, hit count) without Django's handler running at all,
and everything the middleware would not answer from the cache (another host, a NUL in
the path, a session cookie, credentials, a write) must reach Django as before.
"""

from __future__ import annotations

import gzip
import io
import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client, RequestFactory
from django_redis import get_redis_connection
from prometheus_client import REGISTRY

from photosite.pagecache import HIT_HEADER, page_key_for
from photosite.wsgi import application
from tests.factories import ready_photo


@dataclass
class Answer:
    status: str
    headers: list[tuple[str, str]]
    body: bytes
    django_ran: bool
    header: dict[str, str] = field(init=False)

    def __post_init__(self) -> None:
        self.header = {name.lower(): value for name, value in self.headers}


def _for_clients(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The headers a client gets: X-Accel-Expires is nginx's alone (it never passes it on), and a
    page answered from a web process's memory carries it, one checked in Redis not."""
    return [(name, value) for name, value in headers if name != "X-Accel-Expires"]


def _environ(path: str, **extra: Any) -> dict[str, Any]:
    """What gunicorn hands the application for a GET on loopback (the test client's host)."""
    return {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
        **extra,
    }


@pytest.fixture
def served() -> Iterator[Any]:
    """Calls photosite.wsgi.application; says whether Django's handler ran (request_started)."""
    started: list[object] = []

    def on_started(**kwargs: object) -> None:
        started.append(kwargs)

    request_started.connect(on_started)

    def serve(path: str, **extra: Any) -> Answer:
        started.clear()
        begun: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            begun.append((status, headers))
            return lambda data: None

        # As Django's test client does (each time: it connects them again after its own
        # requests): the test's transaction holds the database connection.
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            result = application(_environ(path, **extra), start_response)
            body = b"".join(result)
            close = getattr(result, "close", None)
            if close is not None:
                close()  # as gunicorn does: Django's request_finished
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
        return Answer(begun[0][0], list(begun[0][1]), body, django_ran=bool(started))

    yield serve
    request_started.disconnect(on_started)


def _hits() -> float:
    return REGISTRY.get_sample_value("photosite_page_cache_requests_total", {"outcome": "hit"}) or 0.0


def test_a_kept_page_is_answered_before_django_with_what_the_middleware_answers(
    served, client, user, bucket, caplog
) -> None:
    ready_photo(user, title="Slipway at dawn")
    first = served("/")  # rendered by Django, and kept
    assert first.django_ran and first.status == "200 OK" and HIT_HEADER.lower() not in first.header
    by_middleware = client.get("/", HTTP_X_REQUEST_ID="edge-7")  # the test client: Django's handler, a hit
    assert by_middleware[HIT_HEADER] == "hit"
    counted = _hits()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="photosite.access"):
        hit = served("/", HTTP_X_REQUEST_ID="edge-7")
    assert not hit.django_ran  # no WSGIRequest, no signals, no middleware
    assert hit.status == "200 OK"
    assert hit.headers == list(by_middleware.items())  # same headers, same order
    assert hit.body == by_middleware.content == first.body and b"Slipway at dawn" in hit.body
    for name, value in first.headers:  # what the whole stack set when it rendered the page
        if name not in ("X-Request-ID",):
            assert hit.header[name.lower()] == value, name
    assert _hits() == counted + 1
    [line] = [record for record in caplog.records if record.name == "photosite.access"]
    assert line.getMessage().startswith("GET / 200 ")
    assert (getattr(line, "http.request.id"), getattr(line, "http.request.method"), getattr(line, "url.path")) == (
        "edge-7",
        "GET",
        "/",
    )
    assert getattr(line, "http.response.status_code") == 200
    made_up = served("/")
    assert made_up.header["x-request-id"] not in ("edge-7", "") and made_up.header["x-page-cache"] == "hit"


def test_the_gzipped_copy_and_a_304_come_from_the_wsgi_path_as_from_the_middleware(
    served, client, user, bucket
) -> None:
    photo = ready_photo(user, title="Packed pier")
    served("/")
    packed = served("/", HTTP_ACCEPT_ENCODING="gzip, deflate, br")
    assert not packed.django_ran and packed.header["content-encoding"] == "gzip"
    assert int(packed.header["content-length"]) == len(packed.body)
    assert gzip.decompress(packed.body) == served("/").body
    by_middleware = client.get("/", HTTP_ACCEPT_ENCODING="gzip, deflate, br", HTTP_X_REQUEST_ID="same")
    by_wsgi = served("/", HTTP_ACCEPT_ENCODING="gzip", HTTP_X_REQUEST_ID="same")
    assert _for_clients(by_wsgi.headers) == _for_clients(list(by_middleware.items()))

    api = f"/api/v1/photos/{photo.pk}/"  # an API photo, kept for visitors with its ETag
    kept = served(api)
    etag = kept.header["etag"]
    assert served(api).header["x-page-cache"] == "hit"
    unchanged = served(api, HTTP_IF_NONE_MATCH=etag, HTTP_X_REQUEST_ID="poll")
    assert not unchanged.django_ran and unchanged.status == "304 Not Modified" and unchanged.body == b""
    assert unchanged.headers == list(client.get(api, HTTP_IF_NONE_MATCH=etag, HTTP_X_REQUEST_ID="poll").items())
    assert "content-type" not in unchanged.header


@pytest.mark.parametrize(
    ("extra", "status"),
    [
        ({"HTTP_HOST": "evil.example"}, "400 Bad Request"),  # not in ALLOWED_HOSTS
        ({"PATH_INFO": "/\x00"}, "400 Bad Request"),
        ({"QUERY_STRING": "q=%00"}, "400 Bad Request"),
        ({"CONTENT_LENGTH": "many"}, "400 Bad Request"),
        ({"HTTP_COOKIE": "sessionid=whatever"}, "200 OK"),
        ({"HTTP_COOKIE": "csrftoken=abc; messages=x"}, "200 OK"),
        ({"HTTP_AUTHORIZATION": "Token nonsense"}, None),
        ({"REQUEST_METHOD": "POST", "CONTENT_LENGTH": "0"}, None),
        ({"REQUEST_METHOD": "HEAD"}, None),
    ],
    ids=[
        "disallowed host",
        "NUL in the path",
        "NUL in the query",
        "malformed length",
        "session cookie",
        "another cookie",
        "authorization",
        "POST",
        "HEAD",
    ],
)
def test_a_request_the_middleware_would_not_answer_from_the_cache_reaches_django(
    served, user, bucket, extra, status
) -> None:
    ready_photo(user, title="Harbour wall")
    served("/")
    assert served("/").header["x-page-cache"] == "hit"  # the page is kept
    answer = served("/", **extra)
    assert answer.django_ran and HIT_HEADER.lower() not in answer.header
    if status is not None:
        assert answer.status == status


def test_the_language_is_chosen_as_django_chooses_it(served, user, bucket) -> None:
    ready_photo(user, title="Lighthouse")
    served("/")
    assert served("/").header["content-language"] == "en"
    german = [served("/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9") for _ in range(2)]
    assert [answer.header["content-language"] for answer in german] == ["de", "de"]
    assert german[1].header["x-page-cache"] == "hit" and b'lang="de"' in german[1].body
    chosen = served("/", HTTP_ACCEPT_LANGUAGE="en", HTTP_COOKIE="django_language=de")  # the footer's switcher
    assert chosen.header["x-page-cache"] == "hit" and chosen.header["content-language"] == "de"
    nonsense = served("/", HTTP_ACCEPT_LANGUAGE="xx, *;q=0.1", HTTP_COOKIE="django_language=xx")
    assert nonsense.header["content-language"] == "en"


def test_a_page_past_its_time_found_by_the_wsgi_path_is_rendered_by_django_and_kept_again(served, user, bucket) -> None:
    from django.core.cache import cache

    ready_photo(user, title="Renewed at the edge")
    served("/")
    assert served("/").header["x-page-cache"] == "hit"
    redis = get_redis_connection("default")
    entry = str(cache.client.make_key(page_key_for(RequestFactory().get("/"))))  # type: ignore[attr-defined]
    redis.hset(entry, "fresh_until", "0")  # its PAGE_TTL is up
    renewed = served("/")  # took the renewal lock: this one renders, the middleware must not look again
    assert renewed.django_ran and HIT_HEADER.lower() not in renewed.header
    assert b"Renewed at the edge" in renewed.body
    assert not redis.exists(f"{entry}:renewing")
    assert served("/").header["x-page-cache"] == "hit"


def test_the_edge_generation_is_still_answered_to_nginx(served, db) -> None:
    answer = served("/-/edge-generation")
    assert answer.status == "200 OK" and answer.header["x-edge-generation"]
    assert answer.header["cache-control"] == "public, max-age=0, s-maxage=1"
    assert Client().get("/-/edge-generation")["X-Edge-Generation"] == answer.header["x-edge-generation"]


def test_a_hit_survives_redis_closing_the_idle_connection_it_was_looked_up_on(served, user, bucket) -> None:
    ready_photo(user, title="Idle pier")
    served("/")
    assert not served("/").django_ran
    redis = get_redis_connection("default")
    lookups = [client["id"] for client in redis.client_list() if client.get("cmd") == "evalsha"]
    assert lookups
    for number in lookups:  # as Redis' timeout or a proxy drops an idle client
        redis.client_kill_filter(_id=number)

    again = served("/")
    assert not again.django_ran and again.header["x-page-cache"] == "hit"  # not a render of a kept page
