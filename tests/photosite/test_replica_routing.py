"""One request reads from one replica: photosite/db.py with two real streaming replicas.

The second replica is made here the way the first is (pg_basebackup of the test
server, compose/local/services/postgres_replica.py); which server answered each
query is read from the per-alias query logs.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connections
from django.test.utils import CaptureQueriesContext

from compose.local.services.net import free_port
from compose.local.services.postgres_replica import Replica, create_replica
from photosite.db import monitor
from tests.conftest import REPLICA_SLOT_PREFIX, ReplicaHandle, wait_for
from tests.factories import UserFactory, ready_photo
from tests.photosite.listing import uncached_listing_path

SECOND = "replica_1"

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica_0", SECOND])


class SecondReplicaHandle(ReplicaHandle):
    alias = SECOND


@pytest.fixture(scope="module", autouse=True)
def second_replica_server(pg_replica: Replica) -> Iterator[Replica]:
    """A second pg_basebackup of the test server, registered as `replica_1` for this module.

    Module-scoped and set up before each test's database rules, which name the alias.
    """
    base = Path(tempfile.mkdtemp(prefix="photosite-replica-1-"))
    base.chmod(0o755)  # the postgres user must reach its data directory
    primary = connections["default"].settings_dict
    server = create_replica(
        primary_host=primary["HOST"] or "127.0.0.1",
        primary_port=int(primary["PORT"] or 5432),
        base_dir=base / "replica",
        port=free_port(),
        slot=f"{REPLICA_SLOT_PREFIX}{os.getpid()}_1",
    )
    connections.settings[SECOND] = {**connections.settings["replica_0"], "PORT": str(server.port)}
    yield server
    connections[SECOND].close()
    del connections[SECOND]
    del connections.settings[SECOND]
    server.remove()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def two_replicas(replica: ReplicaHandle, second_replica_server: Replica, settings) -> Iterator[list[ReplicaHandle]]:
    second = SecondReplicaHandle(second_replica_server)
    if not second_replica_server.is_running():
        second_replica_server.start()
    second.resume_replay()
    settings.DATABASE_REPLICAS = [replica.alias, second.alias]
    monitor.forget()
    yield [replica, second]
    monitor.forget()
    connections[SECOND].close()
    second.resume_replay()


@contextlib.contextmanager
def queries_per_alias(*aliases: str) -> Iterator[dict[str, list[str]]]:
    contexts = {alias: CaptureQueriesContext(connections[alias]) for alias in aliases}
    with contextlib.ExitStack() as stack:
        for context in contexts.values():
            stack.enter_context(context)
        logged: dict[str, list[str]] = {}
        yield logged
    logged.update({alias: [query["sql"] for query in context.captured_queries] for alias, context in contexts.items()})


def test_every_read_of_a_request_goes_to_the_one_replica_it_picked(client, two_replicas, bucket) -> None:
    owner = UserFactory()
    for number in range(3):
        ready_photo(owner, title=f"Beach {number}", tags="beach sunset")
    for handle in two_replicas:
        handle.wait_until_caught_up()
    aliases = [handle.alias for handle in two_replicas]
    wait_for(lambda: all(monitor.state(alias).healthy for alias in aliases), timeout=15, what="both replicas healthy")

    served_by: list[str] = []
    for _ in range(6):
        cache.clear()
        with queries_per_alias("default", *aliases) as logged:
            # The owner's lookup, the page of photos, and its prefetched renditions and tags.
            response = client.get(uncached_listing_path(owner.username))
        assert response.status_code == 200
        assert sorted(photo["title"] for photo in response.json()["results"]) == ["Beach 0", "Beach 1", "Beach 2"]
        assert logged["default"] == []
        serving = [alias for alias in aliases if logged[alias]]
        assert len(serving) == 1, f"one request read from {serving}: {logged}"
        assert len(logged[serving[0]]) >= 4, logged  # prefetches too
        served_by.append(serving[0])
    assert set(served_by) == set(aliases), f"requests were not spread over the replicas: {served_by}"
