"""The replica-routing checks (tests/photosite/test_db.py) again, with every connection of
the site going through Debian's PgBouncer in transaction pooling, configured by compose's
own pgbouncer.ini, in front of the test PostgreSQL and its real streaming replica, with
Django's server-side cursors off (DATABASE_DISABLE_SERVER_SIDE_CURSORS), as in compose.

Replicas answer through their pool, a writer's reads stay on the primary's pool, a replica
whose replay is paused or that was stopped is skipped and rejoins, all seen from the
servers themselves (pg_is_in_recovery, per-alias query counts) as in test_db.py.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connections

from compose.local.services.net import free_port
from compose.local.services.pgbouncer import PgBouncer, config
from tests.photosite import test_db
from tests.photosite.test_db import (  # noqa: F401  (collected again here, through PgBouncer)
    test_a_writers_next_read_is_fresh_while_others_may_read_the_lagging_replica,
    test_anonymous_reads_hit_the_replica,
    test_replica_whose_replay_is_paused_beyond_the_lag_limit_is_skipped,
    test_stopped_replica_leaves_pages_working_then_rejoins,
)

pytestmark = test_db.pytestmark
PASSWORD = secrets.token_urlsafe(16)


@pytest.fixture(scope="module")
def pgbouncer(pg_replica) -> Iterator[PgBouncer]:
    """One pool for the test database on the primary, one for it on the replica."""
    primary = connections["default"].settings_dict
    database = primary["NAME"]
    directory = Path(tempfile.mkdtemp(prefix="photosite-pgbouncer-"))
    directory.chmod(0o755)
    bouncer = PgBouncer(
        directory / "pgbouncer",
        port=free_port(),
        pools={
            database: (primary["HOST"] or "127.0.0.1", int(primary["PORT"] or 5432), database),
            f"{database}_replica_0": ("127.0.0.1", pg_replica.port, database),
        },
        user=primary["USER"],
        password=PASSWORD,
    )
    bouncer.start()
    yield bouncer
    bouncer.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(autouse=True)
def through_pgbouncer(pgbouncer, replica, monkeypatch) -> Iterator[None]:
    """Point Django's `default` and `replica_0` at PgBouncer's pools for one test."""
    saved = {}
    for alias in ("default", replica.alias):
        connection = connections[alias]
        connection.close()
        saved[alias] = dict(connection.settings_dict)
        name = saved["default"]["NAME"] if alias == "default" else f"{saved['default']['NAME']}_replica_0"
        connection.settings_dict.update(
            HOST="127.0.0.1",
            PORT=str(pgbouncer.port),
            NAME=name,
            PASSWORD=PASSWORD,
            DISABLE_SERVER_SIDE_CURSORS=True,
        )
    monkeypatch.setenv("PGPASSWORD", PASSWORD)  # the test's own psycopg connections to the primary
    yield
    for alias, settings_dict in saved.items():
        connections[alias].close()
        connections[alias].settings_dict.clear()
        connections[alias].settings_dict.update(settings_dict)


def test_the_site_really_talks_to_pgbouncer_in_transaction_mode(pgbouncer, replica) -> None:
    """Guards the tests above: their connections go through the pools compose configures."""
    for alias in ("default", replica.alias):
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT inet_server_port(), pg_is_in_recovery()")
            server_port, in_recovery = cursor.fetchone()
        assert str(server_port) != connections[alias].settings_dict["PORT"]  # PgBouncer's port is not a server's
        assert in_recovery is (alias == replica.alias)
    assert "pool_mode = transaction" in config(port=1, pools={}, auth_file=Path("/nonexistent"))
    assert connections["default"].settings_dict["DISABLE_SERVER_SIDE_CURSORS"] is True
