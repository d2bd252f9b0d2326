"""How replica health is watched, seen from outside: how many connections the checks
open, how fast a dead replica stops costing requests (also behind psycopg's pool), and
how soon a restarted one serves again. Against a real streaming replica and the site
under gunicorn.
"""

from __future__ import annotations

import concurrent.futures
import time

import psycopg
import pytest
import requests
from django.db import connection

from photosite.db import monitor
from tests.conftest import ReplicaHandle, wait_for
from tests.factories import UserFactory, ready_photo
from tests.photosite.listing import uncached_listing_path

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica_0"])


def replica_url(handle: ReplicaHandle) -> str:
    return f"postgres://postgres@127.0.0.1:{handle.server.port}/{connection.settings_dict['NAME']}"


def sessions_opened_on(handle: ReplicaHandle) -> int:
    """Connections ever made to the test database on the replica (pg_stat_database)."""
    with psycopg.connect(handle.server.dsn, autocommit=True) as replica_server:
        row = replica_server.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = %s", [connection.settings_dict["NAME"]]
        ).fetchone()
    assert row is not None
    return int(row[0])


def timed_get(url: str) -> tuple[int, float]:
    """The status and the time.monotonic() it came at."""
    status = requests.get(url, timeout=30).status_code
    return status, time.monotonic()


def photo_table_locked_on(handle: ReplicaHandle) -> bool:
    with handle._replica() as replica_server:
        row = replica_server.execute(
            "SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock' AND relation = 'photos_photo'::regclass"
        ).fetchone()
    return bool(row and row[0])


def test_replica_checks_keep_one_connection_per_process_instead_of_one_per_check(
    site_server_factory, replica, bucket
) -> None:
    owner = UserFactory()
    ready_photo(owner, title="Checked")
    replica.wait_until_caught_up(timeout=30)
    server = site_server_factory(
        workers=2,
        threads=1,
        DATABASE_REPLICA_URLS=replica_url(replica),
        DATABASE_REPLICA_CHECK_SECONDS="0.2",
    )
    page = server.url + uncached_listing_path(owner.username)
    for _ in range(10):  # both workers have started serving, their checks and connections made
        assert requests.get(page, timeout=30).status_code == 200
    before = sessions_opened_on(replica)
    deadline = time.monotonic() + 4  # twenty check intervals
    while time.monotonic() < deadline:
        assert requests.get(page, timeout=30).status_code == 200
        time.sleep(0.05)
    time.sleep(0.6)  # the standby's statistics are flushed every half second or so
    opened = sessions_opened_on(replica) - before
    # Checking on a new connection every 0.2 s in each of two processes opens about 40.
    assert opened <= 2, f"{opened} connections opened on the replica in 4 s"


def test_with_the_pool_requests_waiting_on_a_replica_that_dies_fail_over_within_a_second(
    site_server_factory, replica, bucket
) -> None:
    owner = UserFactory()
    ready_photo(owner, title="Pooled")
    replica.wait_until_caught_up(timeout=30)
    server = site_server_factory(
        workers=1,
        threads=4,
        DATABASE_REPLICA_URLS=replica_url(replica),
        DATABASE_POOL_MAX_SIZE="2",
        DATABASE_REPLICA_CHECK_SECONDS="30",  # the checks must not be what saves these requests
    )
    page = server.url + uncached_listing_path(owner.username)
    with concurrent.futures.ThreadPoolExecutor(4) as clients:
        assert [status for status, _ in clients.map(timed_get, [page] * 8)] == [200] * 8  # two pooled connections
        with replica._primary() as locker:
            # The lock is replayed on the replica, where the photo reads then wait for it.
            locker.execute("BEGIN")
            locker.execute("LOCK TABLE photos_photo IN ACCESS EXCLUSIVE MODE")
            with replica._primary() as other:
                other.execute("SELECT txid_current()")  # a commit: the WAL with the lock is sent now
            wait_for(lambda: photo_table_locked_on(replica), timeout=15, what="the lock to reach the replica")
            # Two requests hold the pool's connections, waiting for the lock; two wait for a connection.
            answers = [clients.submit(timed_get, page) for _ in range(4)]
            time.sleep(1)
            replica.server.stop("immediate")
            stopped_at = time.monotonic()
            locker.execute("ROLLBACK")
        finished = [answer.result() for answer in answers]
    assert [status for status, _ in finished] == [200] * 4
    last = max(finished_at for _, finished_at in finished) - stopped_at
    assert last < 1.0, f"the last request answered {last:.2f} s after the replica died"


def test_with_the_pool_a_restarted_replica_serves_at_once(site_server_factory, replica, bucket) -> None:
    owner = UserFactory()
    ready_photo(owner, title="Pooled")
    replica.wait_until_caught_up(timeout=30)
    server = site_server_factory(
        workers=1, threads=4, DATABASE_REPLICA_URLS=replica_url(replica), DATABASE_POOL_MAX_SIZE="2"
    )
    page = server.url + uncached_listing_path(owner.username)
    assert requests.get(page, timeout=30).status_code == 200
    replica.server.stop("immediate")
    # Down for a while: the pool's attempts to reconnect fail, each pause longer (1, 2, 4, 8 s).
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        assert requests.get(page, timeout=30).status_code == 200
        time.sleep(0.5)
    replica.server.start()

    def replica_up() -> bool:
        checks = requests.get(f"{server.url}/readyz", timeout=30).json()["checks"]
        return bool(checks["replica:replica_0"]["state"] == "up")

    wait_for(replica_up, timeout=15, what="/readyz to see the replica up")
    for _ in range(4):
        started = time.monotonic()
        status, answered_at = timed_get(page)
        assert status == 200
        assert answered_at - started < 1.0, f"a request took {answered_at - started:.2f} s once the replica was back"


def test_a_restarted_replica_is_back_in_rotation_within_seconds(client, replica, settings) -> None:
    settings.DATABASE_REPLICA_CHECK_SECONDS = 10  # a healthy replica is checked this seldom
    replica.wait_until_caught_up(timeout=30)
    wait_for(lambda: monitor.state(replica.alias).healthy, timeout=15, what="the replica healthy")
    replica.server.stop("fast")
    monitor.mark_down(replica.alias, "stopped by the test")  # as the first failed read would
    replica.server.start()
    started = time.monotonic()
    wait_for(lambda: monitor.state(replica.alias).healthy, timeout=15, what="the replica back in rotation")
    assert time.monotonic() - started < 3
