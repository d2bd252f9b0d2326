"""photosite/db.py against a real streaming replica of the test PostgreSQL.

Which server answered is read from the servers themselves: queries are counted
per connection, and the replica's connection reports pg_is_in_recovery().
"""

from __future__ import annotations

import contextlib
import logging
import subprocess
import sys
import threading
import time

import pytest
import requests
from django.core.cache import cache
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.photos import services
from apps.photos.models import Photo
from photosite.db import PIN_COOKIE, PrimaryReplicaRouter, monitor
from tests.conftest import ROOT, ReplicaHandle, subprocess_env_for_test_database, wait_for
from tests.factories import UserFactory, uploaded_photo
from tests.photosite.listing import uncached_listing_path

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica_0"])


@contextlib.contextmanager
def count_queries(*aliases: str):
    contexts = {alias: CaptureQueriesContext(connections[alias]) for alias in aliases}
    with contextlib.ExitStack() as stack:
        for context in contexts.values():
            stack.enter_context(context)
        counts: dict[str, int] = {}
        yield counts
    counts.update({alias: len(context.captured_queries) for alias, context in contexts.items()})


def ready_public_photo(owner, title: str) -> Photo:
    photo = uploaded_photo(owner=owner, title=title)
    services.rendition_make_all(photo_id=photo.pk)
    return photo


def titles_listed(client, owner) -> list[str]:
    """The owner's photos as the API lists them, a month at a time: a read that may go to a
    replica (tests/photosite/listing.py says why not the first page, or a photo page)."""
    response = client.get(uncached_listing_path(owner.username))
    assert response.status_code == 200
    return [photo["title"] for photo in response.json()["results"]]


def test_anonymous_reads_hit_the_replica(client, replica, bucket) -> None:
    owner = UserFactory()
    ready_public_photo(owner, "Seen from the replica")
    replica.wait_until_caught_up(timeout=30)
    assert replica.is_in_recovery_via_django(), "replica_0 must be a real standby"
    with count_queries("default", replica.alias) as counts:
        assert titles_listed(client, owner) == ["Seen from the replica"]
    assert counts["default"] == 0
    assert counts[replica.alias] >= 3  # the owner, the page, its renditions


def test_a_writers_next_read_is_fresh_while_others_may_read_the_lagging_replica(
    client, replica, bucket, settings
) -> None:
    settings.DATABASE_REPLICA_MAX_LAG_SECONDS = 3600  # keep the stale replica in rotation for this test
    owner = UserFactory()
    photo = ready_public_photo(owner, "Old title")
    replica.wait_until_caught_up(timeout=30)
    replica.pause_replay()  # from here on the replica misses every write

    client.force_login(owner)
    response = client.post(
        reverse("photo_edit", args=[photo.pk]),
        {"title": "New title", "caption": "", "alt_text": "", "visibility": "public"},
    )
    assert response.status_code == 302
    assert response.cookies[PIN_COOKIE]["max-age"] == settings.DATABASE_PIN_SECONDS

    with count_queries("default", replica.alias) as counts:
        assert titles_listed(client, owner) == ["New title"]
    assert counts[replica.alias] == 0, "the writer must be served by the primary"

    stranger = client.__class__()
    with count_queries("default", replica.alias) as counts:
        seen_by_stranger = titles_listed(stranger, owner)
    assert counts[replica.alias] > 0
    assert seen_by_stranger == ["Old title"]  # proof that the replica really was stale


def test_stopped_replica_leaves_pages_working_then_rejoins(client, replica, bucket, settings, caplog) -> None:
    owner = UserFactory()
    photo = ready_public_photo(owner, "Still here")
    replica.wait_until_caught_up(timeout=30)
    assert titles_listed(client, owner) == ["Still here"]  # the monitor has seen the replica healthy
    settings.DATABASE_REPLICA_CHECK_SECONDS = 3600  # so it does not notice the stop by itself

    replica.server.stop("immediate")
    caplog.set_level(logging.WARNING, logger="photosite.db")
    assert titles_listed(client, owner) == ["Still here"]
    for url in (reverse("home"), reverse("photo_detail", args=[photo.pk])):
        cache.clear()
        response = client.get(url)
        assert response.status_code == 200, url
        assert "Still here" in response.content.decode()
    assert not monitor.states[replica.alias].healthy
    assert "replica replica_0 left the read rotation" in caplog.text
    with count_queries("default") as counts:
        assert titles_listed(client, owner) == ["Still here"]
    assert counts["default"] > 0  # reads moved to the primary

    replica.server.start()
    settings.DATABASE_REPLICA_CHECK_SECONDS = 0.2
    connections[replica.alias].close()
    # A restarted server's recovery start-up: how soon it rejoins is test_replica_monitor's concern.
    wait_for(lambda: monitor.state(replica.alias).healthy, timeout=60, what="the replica to rejoin")
    with count_queries("default", replica.alias) as counts:
        assert titles_listed(client, owner) == ["Still here"]
    assert counts[replica.alias] > 0 and counts["default"] == 0
    assert monitor.transitions[(replica.alias, "joined")] >= 2


def test_replica_whose_replay_is_paused_beyond_the_lag_limit_is_skipped(client, replica, bucket, settings) -> None:
    settings.DATABASE_REPLICA_MAX_LAG_SECONDS = 1
    owner = UserFactory()
    ready_public_photo(owner, "Before the pause")
    replica.wait_until_caught_up(timeout=30)
    replica.pause_replay()
    ready_public_photo(owner, "After the pause")  # WAL the replica receives but does not apply

    wait_for(lambda: not monitor.state(replica.alias).healthy, timeout=15, what="the lag to be noticed")
    assert "lagging" in monitor.states[replica.alias].reason
    with count_queries("default", replica.alias) as counts:
        titles = titles_listed(client, owner)
    assert counts[replica.alias] == 0
    assert "After the pause" in titles  # served fresh by the primary

    replica.resume_replay()
    wait_for(lambda: monitor.state(replica.alias).healthy, timeout=60, what="the replica to catch up")


def test_migrations_run_only_on_the_primary() -> None:
    router = PrimaryReplicaRouter()
    assert router.allow_migrate("default", "photos")
    assert not router.allow_migrate("replica_0", "photos")


def test_jobs_read_from_the_primary(replica, bucket) -> None:
    """Outside a web request (a worker thread here) every read goes to the primary,
    so an actor always finds the row its sender just committed."""
    import threading

    photo = uploaded_photo(owner=UserFactory(), title="Fresh")
    seen: dict[str, dict[str, int]] = {}

    def worker_thread() -> None:  # a fresh thread, as Dramatiq's worker threads are
        with count_queries("default", replica.alias) as counts:
            services.rendition_make_all(photo_id=photo.pk)
        seen["counts"] = counts
        for alias in ("default", replica.alias):
            connections[alias].close()

    thread = threading.Thread(target=worker_thread)
    thread.start()
    thread.join(timeout=60)
    counts = seen["counts"]
    assert counts[replica.alias] == 0 and counts["default"] > 0
    photo.refresh_from_db()
    assert photo.is_ready


def test_readyz_shows_a_stopped_replica_as_degraded(client, replica) -> None:
    from photosite.health import readiness_forget

    readiness_forget()
    body = client.get("/readyz").json()
    assert body["checks"]["replica:replica_0"]["state"] == "up"
    replica.server.stop("immediate")
    monitor.forget()
    readiness_forget()
    response = client.get("/readyz")
    body = response.json()
    assert response.status_code == 200 and body["status"] == "degraded"
    assert body["checks"]["replica:replica_0"]["state"] == "down"
    assert "unreachable" in body["checks"]["replica:replica_0"]["reason"]
    readiness_forget()


# --- Statement timeouts ---------------------------------------------------------------


@contextlib.contextmanager
def photos_table_locked(handle: ReplicaHandle):
    """Hold an ACCESS EXCLUSIVE lock on the photos table on the primary (a migration or a
    VACUUM FULL would), sent on to the replica: every read of a photo waits for it."""
    with handle._primary() as locker:
        locker.execute("BEGIN")
        locker.execute("LOCK TABLE photos_photo IN ACCESS EXCLUSIVE MODE")
        with handle._primary() as other:
            other.execute("SELECT txid_current()")  # a commit: the WAL with the lock goes out now
        try:
            yield
        finally:
            locker.execute("ROLLBACK")


def photos_locked_on_replica(handle: ReplicaHandle) -> bool:
    with handle._replica() as replica_server:
        row = replica_server.execute(
            "SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND relation = 'photos_photo'::regclass"
        ).fetchone()
    return bool(row and row[0])


def test_a_web_request_s_slow_statement_on_the_primary_is_cancelled(site_server_factory, replica, bucket) -> None:
    owner = UserFactory()
    ready_public_photo(owner, "Locked")
    server = site_server_factory(DATABASE_STATEMENT_TIMEOUT_MS="500")  # no replicas: every read on the primary
    with photos_table_locked(replica):
        started = time.monotonic()
        answer = requests.get(server.url + uncached_listing_path(owner.username), timeout=60)
        took = time.monotonic() - started
    assert answer.status_code == 500
    assert took < 5, f"the request held on for {took:.1f} s"
    assert "canceling statement due to statement timeout" in server.log_path.read_text()


def test_a_slow_statement_on_a_replica_is_cancelled_and_the_replica_stays_in(site_server_factory, replica, bucket):
    owner = UserFactory()
    ready_public_photo(owner, "Locked")
    replica.wait_until_caught_up(timeout=30)
    url = f"postgres://postgres@127.0.0.1:{replica.server.port}/{connections['default'].settings_dict['NAME']}"
    server = site_server_factory(DATABASE_REPLICA_URLS=url, DATABASE_STATEMENT_TIMEOUT_MS="500")
    page = server.url + uncached_listing_path(owner.username)
    assert requests.get(page, timeout=30).status_code == 200
    with photos_table_locked(replica):
        wait_for(lambda: photos_locked_on_replica(replica), timeout=15, what="the lock to reach the replica")
        started = time.monotonic()
        answer = requests.get(page, timeout=60)
        took = time.monotonic() - started
        readiness = requests.get(f"{server.url}/readyz", timeout=30).json()
    assert answer.status_code == 500
    assert took < 5, f"the request held on for {took:.1f} s"
    assert "canceling statement due to statement timeout" in server.log_path.read_text()
    # A slow statement is not a dead replica: it was not taken out, nor the read run again on the primary.
    assert readiness["checks"]["replica:replica_0"]["state"] == "up"
    assert "left the read rotation" not in server.log_path.read_text()


def test_jobs_and_commands_get_the_longer_statement_timeout(transactional_db) -> None:
    show = (
        "from django.db import connection\n"
        "with connection.cursor() as cursor:\n"
        "    cursor.execute('SHOW statement_timeout')\n"
        "    print(cursor.fetchone()[0])"
    )
    env = {
        **subprocess_env_for_test_database(),
        "DATABASE_STATEMENT_TIMEOUT_MS": "500",
        "DATABASE_JOB_STATEMENT_TIMEOUT_MS": "90000",
    }
    command = [sys.executable, "manage.py", "shell", "-c", show]
    shell = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    assert shell.stdout.split()[-1] == "90s"

    seen: list[str] = []

    def job_thread() -> None:  # a fresh thread opening its own connection, as a Dramatiq worker's
        with connections["default"].cursor() as cursor:
            cursor.execute("SHOW statement_timeout")
            seen.append(cursor.fetchone()[0])
        connections["default"].close()

    thread = threading.Thread(target=job_thread)
    thread.start()
    thread.join(timeout=30)
    assert seen == ["10min"]  # DATABASE_JOB_STATEMENT_TIMEOUT_MS's default
