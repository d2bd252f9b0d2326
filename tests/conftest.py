"""Shared fixtures: users, the real S3 bucket, Redis, and real Dramatiq worker processes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
from django.conf import settings

from apps.accounts.models import User
from compose.local.services.net import free_port, wait_until_healthy
from compose.local.services.redis import RedisServer
from tests.factories import PASSWORD, UserFactory

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def user(db: None) -> User:
    return UserFactory()


@pytest.fixture
def other_user(db: None) -> User:
    return UserFactory()


@pytest.fixture
def logged_in_client(client, user: User):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def staff_login(client, user: User) -> None:
    """Sign a staff member in with a second factor, as /admin/ and /ops/ require: TOTP turned
    on, then a code typed on the confirmation page. A recovery code, since each works once
    and a test may sign the same person in twice within one 30 s TOTP step."""
    from tests.factories import recovery_code_unused, totp_enable

    totp_enable(user)
    client.force_login(user)
    response = client.post("/accounts/2fa/reauthenticate/", {"code": recovery_code_unused(user)})
    assert response.status_code == 302, response.content.decode()[:2000]


def _s3():  # -> botocore S3 client
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=os.environ["S3_ENDPOINT_URL"],
        aws_access_key_id=os.environ["S3_ACCESS_KEY_ID"],
        aws_secret_access_key=os.environ["S3_SECRET_ACCESS_KEY"],
        region_name=os.environ["S3_REGION"],
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


class Bucket:
    """The test bucket in SeaweedFS, as an operator would inspect it."""

    def __init__(self) -> None:
        self.client = _s3()
        self.name = os.environ["S3_BUCKET"]

    def keys(self, prefix: str = "") -> list[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    def get(self, key: str) -> bytes:
        return bytes(self.client.get_object(Bucket=self.name, Key=key)["Body"].read())

    def empty(self) -> None:
        for key in self.keys():
            self.client.delete_object(Bucket=self.name, Key=key)


@pytest.fixture(scope="session", autouse=True)
def _public_prefix_policy() -> None:
    """The bucket policy a deployment applies (`manage.py storage_init`): public/* readable."""
    from photosite.storage import bucket_policy_apply

    assert bucket_policy_apply()


@pytest.fixture
def bucket() -> Iterator[Bucket]:
    """The S3 bucket, emptied before the test so it can assert exactly what was stored."""
    store = Bucket()
    store.empty()
    yield store


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def broker_redis() -> redis.Redis:
    """The Redis database behind the Dramatiq broker, emptied so no stale job runs."""
    connection = redis.Redis.from_url(settings.BROKER_URL)
    connection.flushdb()
    return connection


def wait_for(condition: Callable[[], object], *, timeout: float = 60, what: str = "condition") -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def subprocess_env_for_test_database() -> dict[str, str]:
    """The environment for a subprocess that must use this session's test database."""
    from django.db import connection

    url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + connection.settings_dict["NAME"]
    return {**os.environ, "DATABASE_URL": url, "PYTHONUNBUFFERED": "1"}


class WorkerProcess:
    """`manage.py rundramatiq`, the command operators run, as a child process."""

    def __init__(self, log_path: Path, *, queues: tuple[str, ...] = (), **extra_env: str) -> None:
        self.log_path = log_path
        self.queues = queues  # none: every queue
        self.extra_env = extra_env
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        queues = ["--queues", *self.queues] if self.queues else []
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "rundramatiq", "--processes", "1", "--threads", "2", *queues],
            cwd=ROOT,
            env={**subprocess_env_for_test_database(), **self.extra_env},
            stdout=self.log_path.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the whole process tree, as the OOM killer or a lost box would."""
        import signal

        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()


@pytest.fixture
def worker(transactional_db: None, broker_redis: redis.Redis, tmp_path: Path) -> Iterator[WorkerProcess]:
    process = WorkerProcess(tmp_path / "worker.log")
    process.start()
    yield process
    process.stop()


@pytest.fixture
def free_tcp_port() -> int:
    return free_port()


class SiteServer:
    def __init__(self, url: str, log_path: Path) -> None:
        self.url = url
        self.log_path = log_path


@pytest.fixture
def site_server_factory(transactional_db: None, tmp_path: Path) -> Iterator[Callable[..., SiteServer]]:
    """Starts the site under gunicorn (as deployed: WhiteNoise, hashed static files) on the test database."""
    processes: list[subprocess.Popen[bytes]] = []

    def start(*, workers: int = 1, threads: int = 4, **extra_env: str) -> SiteServer:
        port = free_port()
        log_path = tmp_path / f"gunicorn-{port}.log"
        env = {**subprocess_env_for_test_database(), "GUNICORN_BIND": f"127.0.0.1:{port}", **extra_env}
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-c",
                "photosite/gunicorn.conf.py",
                "--workers",
                str(workers),
                "--threads",
                str(threads),
            ],
            cwd=ROOT,
            env=env,
            stdout=log_path.open("ab"),
            stderr=subprocess.STDOUT,
        )
        processes.append(process)
        url = f"http://127.0.0.1:{port}"
        wait_until_healthy(url + "/healthz", process=process)
        return SiteServer(url, log_path)

    yield start
    for process in processes:
        process.terminate()
    for process in processes:
        process.wait(timeout=15)


@pytest.fixture
def site_server(site_server_factory: Callable[..., SiteServer]) -> SiteServer:
    return site_server_factory()


# --- A real streaming replica of the test database server ---------------------------


REPLICA_SLOT_PREFIX = "photosite_test_"  # then the run's pid, so a later run can drop a dead run's slot


@pytest.fixture(scope="session")
def pg_replica(django_db_setup, django_db_blocker):  # -> Replica
    """pg_basebackup of the test PostgreSQL, started on a free loopback port for this session.

    Registered as the `replica_0` alias for the whole session (session fixtures are
    set up before a test's database access rules, which must name the alias), but
    reads are routed to it only inside the `replica` fixture.
    """
    import tempfile

    from django.db import connection, connections

    from compose.local.services.postgres_replica import create_replica, drop_slots_of_dead_runs

    base = Path(tempfile.mkdtemp(prefix="photosite-replica-"))
    base.chmod(0o755)  # the postgres user must reach its data directory
    primary = connection.settings_dict
    host, port = primary["HOST"] or "127.0.0.1", int(primary["PORT"] or 5432)
    drop_slots_of_dead_runs(f"host={host} port={port} user=postgres dbname=postgres", REPLICA_SLOT_PREFIX)
    replica = create_replica(
        primary_host=host,
        primary_port=port,
        base_dir=base / "replica",
        port=free_port(),
        # Runs share one server: its WAL must wait for this replica while a test stops it or cuts it off.
        slot=f"{REPLICA_SLOT_PREFIX}{os.getpid()}_0",
    )
    connections.settings[ReplicaHandle.alias] = {
        **primary,
        "HOST": "127.0.0.1",
        "PORT": str(replica.port),
        # A mirror in Django's test machinery: never flushed or created, only read.
        "TEST": {**primary["TEST"], "MIRROR": "default"},
    }
    yield replica
    connections[ReplicaHandle.alias].close()
    del connections[ReplicaHandle.alias]
    del connections.settings[ReplicaHandle.alias]
    replica.remove()

    shutil.rmtree(base, ignore_errors=True)


class ReplicaHandle:
    """The replica as a test sees it: its alias, its server, and ways to hurt it."""

    alias = "replica_0"

    def __init__(self, server) -> None:  # server: compose.local.services.postgres_replica.Replica
        self.server = server

    def _primary(self):
        import psycopg
        from django.db import connection

        params = connection.settings_dict
        return psycopg.connect(
            host=params["HOST"], port=params["PORT"], user=params["USER"], dbname=params["NAME"], autocommit=True
        )

    def _replica(self):
        import psycopg
        from django.db import connection

        return psycopg.connect(
            host="127.0.0.1",
            port=self.server.port,
            user="postgres",
            dbname=connection.settings_dict["NAME"],
            autocommit=True,
            connect_timeout=3,
        )

    def wait_until_caught_up(self, timeout: float = 60) -> None:  # generous: a loaded machine replays slowly
        with self._primary() as primary:
            target = primary.execute("SELECT pg_current_wal_lsn()").fetchone()[0]

        def replayed() -> bool:
            # A quiet primary writes finished WAL pages only, so its position can stop inside
            # a record no replica can replay until the rest is written: a commit writes it.
            with self._primary() as primary:
                primary.execute("SELECT txid_current()")
            with self._replica() as replica:
                return bool(replica.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target]).fetchone()[0])

        wait_for(replayed, timeout=timeout, what="the replica to replay the primary's WAL")

    def pause_replay(self) -> None:
        with self._replica() as replica:
            replica.execute("SELECT pg_wal_replay_pause()")

    def resume_replay(self) -> None:
        with self._replica() as replica:
            replica.execute("SELECT pg_wal_replay_resume()")

    def is_in_recovery_via_django(self) -> bool:
        from django.db import connections

        with connections[self.alias].cursor() as cursor:
            cursor.execute("SELECT pg_is_in_recovery()")
            return bool(cursor.fetchone()[0])


@pytest.fixture
def replica(pg_replica, transactional_db, settings) -> Iterator[ReplicaHandle]:
    """Route reads to the real replica for this test only. The test module needs
    `pytest.mark.django_db(transaction=True, databases=["default", "replica_0"])`.

    Replicas stay off for the rest of the suite: a test inside a rolled-back
    transaction has rows no replica can ever see.
    """
    from django.db import connections

    from photosite.db import monitor

    handle = ReplicaHandle(pg_replica)
    if not pg_replica.is_running():
        pg_replica.start()
    handle.resume_replay()
    settings.DATABASE_REPLICAS = [handle.alias]
    settings.DATABASE_REPLICA_CHECK_SECONDS = 0.2
    settings.DATABASE_REPLICA_MAX_LAG_SECONDS = 5
    monitor.forget()
    yield handle
    monitor.forget()
    connections[handle.alias].close()
    if not pg_replica.is_running():
        pg_replica.start()
    handle.resume_replay()


# --- A private Redis a test may stop ---------------------------------------------


@pytest.fixture
def own_redis(tmp_path, free_tcp_port, settings) -> Iterator[RedisServer]:
    """A private Redis behind the cache and sessions for this test."""
    server = RedisServer(free_tcp_port, tmp_path / "redis")
    server.start()
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "LOCATION": server.url()},
    }
    yield server
    server.stop()


# --- This run's own RabbitMQ virtual host ---------------------------------------------


RABBITMQ_VHOST_PREFIX = "photosite-test-run"


def _rabbitmqctl(*args: str) -> str:
    result = subprocess.run(["rabbitmqctl", "--quiet", *args], capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {result.stderr or result.stdout}")
    return result.stdout


class RabbitmqVhost:
    """A virtual host on this machine's RabbitMQ (127.0.0.1:5672) that only this test uses.

    An outage is the vhost refusing us: its permissions withdrawn and its connections
    closed, so clients fail to connect exactly as when the broker is away, and queued
    messages stay. Stopping the shared node would break every other run on the machine,
    and a private node (its own Erlang node name, distribution port, cookie and data
    directory) takes seconds per start and fails on port clashes with the shared one.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self.url = f"amqp://guest:guest@127.0.0.1:5672/{name}"

    def create(self) -> None:
        _rabbitmqctl("add_vhost", self.name)
        self.unblock()

    def delete(self) -> None:
        _rabbitmqctl("delete_vhost", self.name)

    def block(self) -> None:
        _rabbitmqctl("clear_permissions", "-p", self.name, "guest")
        _rabbitmqctl("close_all_connections", "-p", self.name, "broker outage drill")

    def unblock(self) -> None:
        _rabbitmqctl("set_permissions", "-p", self.name, "guest", ".*", ".*", ".*")

    def consumers(self) -> int:
        lines = _rabbitmqctl("list_consumers", "-p", self.name, "--no-table-headers", "queue_name").splitlines()
        return len([line for line in lines if line.strip()])


def _drop_vhosts_of_dead_runs() -> None:
    for name in _rabbitmqctl("list_vhosts", "--no-table-headers", "name").split():
        if not name.startswith(RABBITMQ_VHOST_PREFIX):
            continue
        pid = int(name[len(RABBITMQ_VHOST_PREFIX) :].split("-")[0])
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            _rabbitmqctl("delete_vhost", name)
        except PermissionError:
            pass


_vhosts_made = 0


@pytest.fixture
def rabbitmq_vhost() -> Iterator[RabbitmqVhost]:
    """A fresh vhost per test (queues and all are deleted with it afterwards)."""
    global _vhosts_made
    import socket

    try:
        socket.create_connection(("127.0.0.1", 5672), timeout=2).close()
    except OSError:
        pytest.fail("RabbitMQ does not answer on 127.0.0.1:5672: `make services` starts it")
    if _vhosts_made == 0:
        _drop_vhosts_of_dead_runs()
    _vhosts_made += 1
    vhost = RabbitmqVhost(f"{RABBITMQ_VHOST_PREFIX}{os.getpid()}-{_vhosts_made}")
    vhost.create()
    yield vhost
    vhost.delete()
