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
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from django.db import connections

from compose.local.services.net import free_port
from compose.local.services.pgbouncer import PgBouncer, config
from tests.conftest import wait_for
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
    bouncer = _pgbouncer(
        pools={
            database: (primary["HOST"] or "127.0.0.1", int(primary["PORT"] or 5432), database),
            f"{database}_replica_0": ("127.0.0.1", pg_replica.port, database),
        },
        user=primary["USER"],
    )
    bouncer.start()
    yield bouncer
    bouncer.stop()
    shutil.rmtree(bouncer.dir.parent, ignore_errors=True)


def _pgbouncer(*, pools: dict[str, tuple[str, int, str]], user: str) -> PgBouncer:
    directory = Path(tempfile.mkdtemp(prefix="photosite-pgbouncer-"))
    directory.chmod(0o755)  # the postgres user runs pgbouncer inside
    return PgBouncer(directory / "pgbouncer", port=free_port(), pools=pools, user=user, password=PASSWORD)


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


def test_the_database_roles_statement_timeout_cancels_a_slow_statement_through_pgbouncer(pgbouncer, replica) -> None:
    """PgBouncer drops the timeout Django sends at connect (`ignore_startup_parameters`), so
    compose sets it on the role (postgres/primary-init.sh): every server connection
    PgBouncer opens then has it, on the primary and, replicated, on the replica."""
    from django.db import OperationalError

    database = pgbouncer.pools[next(iter(pgbouncer.pools))][2]
    with connections["default"].cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone() == ("0",)  # Django's option did not get through
    primary_url = f"postgres://postgres@127.0.0.1:5432/{database}"
    replica_url = f"postgres://postgres@127.0.0.1:{replica.server.port}/{database}"
    # This run's database only (IN DATABASE): other runs share the server and its roles.
    set_timeout = f"ALTER ROLE CURRENT_USER IN DATABASE {database} SET statement_timeout = '500ms'"
    with psycopg.connect(primary_url, autocommit=True) as primary:
        primary.execute(set_timeout)
    # Fresh server connections (the pool's have none of it), once the replica has replayed it.
    fresh = _pgbouncer(pools=pgbouncer.pools, user=pgbouncer.user)
    try:
        wait_for(lambda: _timeout_for_new_sessions(replica_url) == "500ms", timeout=30, what="the replica to replay it")
        fresh.start()
        for alias in ("default", replica.alias):
            connections[alias].close()
            connections[alias].settings_dict["PORT"] = str(fresh.port)
            started = time.monotonic()
            with pytest.raises(OperationalError, match="statement timeout"), connections[alias].cursor() as cursor:
                cursor.execute("SELECT pg_sleep(5)")
            assert time.monotonic() - started < 3, alias
            connections[alias].close()
    finally:
        fresh.stop()
        shutil.rmtree(fresh.dir.parent, ignore_errors=True)
        with psycopg.connect(primary_url, autocommit=True) as primary:
            primary.execute(f"ALTER ROLE CURRENT_USER IN DATABASE {database} RESET statement_timeout")


def _timeout_for_new_sessions(url: str) -> str:
    with psycopg.connect(url, autocommit=True) as session:
        row = session.execute("SHOW statement_timeout").fetchone()
    return str(row[0]) if row else ""
