"""Replica health in photosite/db.py against a real streaming replica whose link to the
primary is cut: a replica that receives nothing also replays nothing, so "all received
WAL is replayed" says nothing about how far behind the primary it is.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator

import psycopg
import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from psycopg import sql

from photosite.db import monitor
from tests.conftest import ReplicaHandle, wait_for
from tests.factories import UserFactory, ready_photo
from tests.photosite.listing import uncached_listing_path

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica_0"])


def on_replica(handle: ReplicaHandle, query: str) -> object:
    """The one value `query` answers on the replica, asked as its superuser."""
    with psycopg.connect(handle.server.dsn, autocommit=True) as connection:
        row = connection.execute(query).fetchone()
        assert row is not None
        return row[0]


@contextlib.contextmanager
def streaming_cut(handle: ReplicaHandle) -> Iterator[None]:
    """Point the replica's WAL receiver at a port nobody listens on (as a broken network
    or a changed primary password would), then restore its own primary_conninfo."""
    original = str(on_replica(handle, "SHOW primary_conninfo"))

    def point_at(conninfo: str) -> None:
        with psycopg.connect(handle.server.dsn, autocommit=True) as connection:
            connection.execute(sql.SQL("ALTER SYSTEM SET primary_conninfo = {}").format(sql.Literal(conninfo)))
            connection.execute("SELECT pg_reload_conf()")  # the receiver restarts with the new setting

    point_at("host=127.0.0.1 port=1 user=postgres connect_timeout=2")
    try:
        yield
    finally:
        point_at(original)


@contextlib.contextmanager
def wal_receiver_frozen(handle: ReplicaHandle) -> Iterator[None]:
    """SIGSTOP the replica's WAL receiver: it still says "streaming", but nothing arrives."""
    pid = int(str(on_replica(handle, "SELECT pid FROM pg_stat_wal_receiver")))
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


def reads_on_replica(client, handle: ReplicaHandle, url: str) -> int:
    with CaptureQueriesContext(connections[handle.alias]) as replica_queries:
        assert client.get(url).status_code == 200
    return len(replica_queries.captured_queries)


def test_replica_disconnected_from_its_primary_leaves_the_rotation_and_returns(client, replica, bucket, settings):
    # Lag alone would keep it in for an hour: the receiver's state must take it out.
    settings.DATABASE_REPLICA_MAX_LAG_SECONDS = 3600
    owner = UserFactory()
    ready_photo(owner, title="Before the cut")
    replica.wait_until_caught_up(timeout=30)
    wait_for(lambda: monitor.state(replica.alias).healthy, timeout=15, what="the replica healthy")
    page = uncached_listing_path(owner.username)
    assert reads_on_replica(client, replica, page) > 0

    with streaming_cut(replica):
        wait_for(lambda: not monitor.state(replica.alias).healthy, timeout=15, what="the cut to be noticed")
        assert "WAL receiver" in monitor.state(replica.alias).reason
        assert reads_on_replica(client, replica, page) == 0

    wait_for(lambda: monitor.state(replica.alias).healthy, timeout=30, what="the replica to stream again")
    assert reads_on_replica(client, replica, page) > 0


def test_replica_whose_receiver_hangs_leaves_the_rotation_once_behind_the_primary(client, replica, bucket, settings):
    settings.DATABASE_REPLICA_MAX_LAG_SECONDS = 1
    owner = UserFactory()
    replica.wait_until_caught_up(timeout=30)
    wait_for(lambda: monitor.state(replica.alias).healthy, timeout=15, what="the replica healthy")

    with wal_receiver_frozen(replica):
        received_before = on_replica(replica, "SELECT pg_last_wal_receive_lsn()")
        ready_photo(owner, title="Written while the receiver hangs")
        # The receiver says it streams, and receives nothing: a probe comparing what the
        # replica received with what it replayed sees nothing wrong.
        assert on_replica(replica, "SELECT status FROM pg_stat_wal_receiver") == "streaming"
        assert on_replica(replica, "SELECT pg_last_wal_receive_lsn()") == received_before
        wait_for(lambda: not monitor.state(replica.alias).healthy, timeout=15, what="the lag to be noticed")
        assert "behind the primary" in monitor.state(replica.alias).reason
        body = client.get(uncached_listing_path(owner.username)).json()
        assert [photo["title"] for photo in body["results"]] == ["Written while the receiver hangs"]

    wait_for(lambda: monitor.state(replica.alias).healthy, timeout=30, what="the replica to catch up")
