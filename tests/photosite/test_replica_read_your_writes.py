"""Read-your-writes for every client, against a real streaming replica whose replay is
paused (so it really misses every write) and kept in rotation for everyone else.

API clients keep no cookies: the pin belongs to the person, kept in Redis until a
replica has replayed the write, and who a request is (its session, its token) is
never read from a replica that may not have the new session or token yet.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator

import pytest
import requests
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from photosite.db import monitor
from tests.conftest import ReplicaHandle, wait_for
from tests.factories import PASSWORD, UserFactory, ready_photo
from tests.photosite.listing import uncached_listing_path

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica_0"])


@pytest.fixture
def stale_replica(replica: ReplicaHandle, settings) -> Iterator[ReplicaHandle]:
    """The replica, caught up now and missing every write from here on, yet in rotation."""
    settings.DATABASE_REPLICA_MAX_LAG_SECONDS = 3600
    replica.wait_until_caught_up(timeout=30)
    wait_for(lambda: monitor.state(replica.alias).healthy, timeout=15, what="the replica healthy")
    replica.pause_replay()
    yield replica
    replica.resume_replay()


@contextlib.contextmanager
def queries_on(alias: str) -> Iterator[list[str]]:
    """The SQL sent to `alias` inside the block, filled in when it ends."""
    sent: list[str] = []
    with CaptureQueriesContext(connections[alias]) as captured:
        yield sent
    sent.extend(query["sql"] for query in captured.captured_queries)


def site_with_replica(site_server_factory, handle: ReplicaHandle) -> str:
    """The site under gunicorn, two processes, reading from the replica; its URL."""
    url = f"postgres://postgres@127.0.0.1:{handle.server.port}/{connection.settings_dict['NAME']}"
    server = site_server_factory(
        workers=2, threads=2, DATABASE_REPLICA_URLS=url, DATABASE_REPLICA_MAX_LAG_SECONDS="3600"
    )
    return str(server.url)


def token_for(site: str, username: str) -> dict[str, str]:
    answer = requests.post(f"{site}/api/v1/auth/token/", json={"username": username, "password": PASSWORD}, timeout=30)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Token {answer.json()['token']}"}


def titles(site: str, owner_name: str, headers: dict[str, str] | None = None) -> list[str]:
    answer = requests.get(site + uncached_listing_path(owner_name), headers=headers or {}, timeout=30)
    assert answer.status_code == 200, answer.text
    return [photo["title"] for photo in answer.json()["results"]]


def test_a_token_just_made_works_on_the_very_next_request(site_server_factory, stale_replica, bucket) -> None:
    person = UserFactory()
    site = site_with_replica(site_server_factory, stale_replica)
    for _ in range(4):  # each of the two processes, more than once
        headers = token_for(site, person.username)
        me = requests.get(f"{site}/api/v1/feed/", headers=headers, timeout=30)
        assert me.status_code == 200, me.text


def test_an_api_client_reads_its_own_write_on_the_next_request(site_server_factory, stale_replica, bucket) -> None:
    owner = UserFactory()
    photo = ready_photo(owner, title="Old title")
    stale_replica.resume_replay()
    stale_replica.wait_until_caught_up(timeout=30)
    stale_replica.pause_replay()
    site = site_with_replica(site_server_factory, stale_replica)
    headers = token_for(site, owner.username)
    assert titles(site, owner.username) == ["Old title"]

    # requests keeps no cookies between these calls: only the person can be pinned.
    edit = f"{site}/api/v1/photos/{photo.pk}/"
    changed = requests.patch(edit, json={"title": "New title"}, headers=headers, timeout=30)
    assert changed.status_code == 200, changed.text
    for _ in range(6):  # both processes
        assert titles(site, owner.username, headers) == ["New title"]
    assert titles(site, owner.username) == ["Old title"]  # others read the stale replica: it was stale


def test_the_pin_belongs_to_the_person_not_the_client(client, stale_replica, bucket) -> None:
    owner = UserFactory()
    photo = ready_photo(owner, title="Old title")
    stale_replica.resume_replay()
    stale_replica.wait_until_caught_up(timeout=30)
    stale_replica.pause_replay()
    api = client.__class__()
    token = api.post("/api/v1/auth/token/", {"username": owner.username, "password": PASSWORD}).json()["token"]
    changed = api.patch(
        f"/api/v1/photos/{photo.pk}/",
        {"title": "New title"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token}",
    )
    assert changed.status_code == 200

    client.force_login(owner)  # the same person's browser, which never got the API client's cookie
    with queries_on(stale_replica.alias) as on_replica:
        listed = client.get(uncached_listing_path(owner.username)).json()["results"]
    assert [photo["title"] for photo in listed] == ["New title"]
    assert on_replica == []


def test_a_writer_reads_from_the_replica_again_once_it_has_replayed_the_write(client, stale_replica, bucket) -> None:
    owner = UserFactory()
    photo = ready_photo(owner, title="Old title")
    token = client.post("/api/v1/auth/token/", {"username": owner.username, "password": PASSWORD}).json()["token"]
    auth = {"HTTP_AUTHORIZATION": f"Token {token}"}
    changed = client.patch(f"/api/v1/photos/{photo.pk}/", {"title": "New"}, content_type="application/json", **auth)
    assert changed.status_code == 200
    client.cookies.clear()  # an API client: no pin cookie
    with queries_on(stale_replica.alias) as on_replica:
        client.get(uncached_listing_path(owner.username), **auth)
    assert on_replica == []

    stale_replica.resume_replay()
    started = time.monotonic()

    def served_by_replica() -> bool:
        with queries_on(stale_replica.alias) as on_replica:
            listed = client.get(uncached_listing_path(owner.username), **auth).json()["results"]
        assert [photo["title"] for photo in listed] == ["New"]
        return bool(on_replica)

    wait_for(served_by_replica, timeout=15, what="the writer's reads to go back to the replica")
    # Back once replayed, well before the pin's time limit runs out.
    assert time.monotonic() - started < 5


def test_with_redis_unreachable_signed_in_reads_go_to_the_primary_and_nothing_fails(
    client, stale_replica, bucket, settings, free_tcp_port
) -> None:
    owner = UserFactory()
    photo = ready_photo(owner, title="Old title")
    stale_replica.resume_replay()
    stale_replica.wait_until_caught_up(timeout=30)
    stale_replica.pause_replay()
    settings.REDIS_URL = f"redis://127.0.0.1:{free_tcp_port}/0"  # nobody listens: where writes were kept is gone
    token = client.post("/api/v1/auth/token/", {"username": owner.username, "password": PASSWORD}).json()["token"]
    auth = {"HTTP_AUTHORIZATION": f"Token {token}"}
    changed = client.patch(f"/api/v1/photos/{photo.pk}/", {"title": "New"}, content_type="application/json", **auth)
    assert changed.status_code == 200
    client.cookies.clear()
    with queries_on(stale_replica.alias) as on_replica:
        listed = client.get(uncached_listing_path(owner.username), **auth).json()["results"]
    assert [photo["title"] for photo in listed] == ["New"]
    assert on_replica == []
    with queries_on(stale_replica.alias) as on_replica:
        assert client.get(uncached_listing_path(owner.username)).status_code == 200
    assert on_replica != []  # anonymous readers still use the replica
