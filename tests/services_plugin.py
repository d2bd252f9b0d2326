"""Points the test session at real services before Django reads its settings.

Loaded with `-p tests.services_plugin` (pyproject), so it runs before pytest-django
imports settings. Every run is on its own, so two `make test` runs on one machine
never collide:

- PostgreSQL on 127.0.0.1 (this machine kind runs it; `make test` starts it if
  down), with a database named after the run (`test_photosite_<run>`); databases
  left behind by runs that died are dropped at start.
- A private redis-server on a free port for the cache, sessions and the Dramatiq
  broker, so no run flushes another's keys or takes its jobs.
- A SeaweedFS S3 server on free loopback ports.
- Static files collected into a directory of the run's own (STATIC_ROOT): a second
  run's collectstatic deletes and rewrites the hashed CSS and the manifest in place,
  so a shared var/static would 404 a page's styles or fail its template in the first.

Each is stopped (or removed) at the end of the run.

With pytest-xdist (`make test` runs `-n 2`) each worker process is a run of its own
(its own database, Redis and SeaweedFS); the controlling process, which runs no
test, starts none, but collects the static files once for its workers (they inherit
STATIC_ROOT from it).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from compose.local.services.net import free_port

# Variables that switch a service on; the embedded-mode tests remove all of them.
SERVICE_VARIABLES = (
    "DATABASE_URL",
    "DATABASE_REPLICA_URLS",
    "REDIS_URL",
    "BROKER_URL",
    "S3_BUCKET",
    "S3_ENDPOINT_URL",
    "S3_ACCESS_KEY_ID",
    "S3_SECRET_ACCESS_KEY",
    "S3_REGION",
    "MEDIA_CDN_URL",
    "SENTRY_DSN",
    "LOG_FORMAT",
)
TEST_BUCKET = "photosite-test"
POSTGRES_SERVER = "postgres://postgres@127.0.0.1:5432"
# pytest-django prefixes "test_" (and appends "_gw<n>" under xdist); the run's pid keeps
# runs apart and tells a dead run's database.
RUN_DATABASE = re.compile(r"^test_photosite_run(\d+)(_gw\d+)?$")

ROOT = Path(__file__).resolve().parent.parent

_seaweed = None
_redis = None
_scratch: Path | None = None
_static: Path | None = None  # collected by this process, so removed by it at the end


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def drop_databases_of_dead_runs() -> None:
    """A run killed before its teardown leaves its test database; drop those of dead pids."""
    import psycopg

    with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True, connect_timeout=5) as connection:
        names = [row[0] for row in connection.execute("SELECT datname FROM pg_database")]
        for name in names:
            match = RUN_DATABASE.match(name)
            if match and not _pid_alive(int(match.group(1))):
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    global _seaweed, _redis, _scratch
    os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-not-a-secret")
    if "STATIC_ROOT" not in os.environ and not getattr(early_config.known_args_namespace, "collectonly", False):
        static_collect_for_run()
    if _is_xdist_controller(early_config):
        return  # its workers start their own services; it runs no test
    _scratch = Path(tempfile.mkdtemp(prefix="photosite-test-run-"))
    if "DATABASE_URL" not in os.environ:
        drop_databases_of_dead_runs()
        os.environ["DATABASE_URL"] = f"{POSTGRES_SERVER}/photosite_run{os.getpid()}"
    if "REDIS_URL" not in os.environ:
        from compose.local.services.redis import RedisServer

        _redis = RedisServer(free_port(), _scratch / "redis")
        _redis.start()
        os.environ["REDIS_URL"] = _redis.url(0)
        os.environ.setdefault("BROKER_URL", _redis.url(1))
    os.environ.setdefault("TESTS_FAST_PASSWORD_HASHER", "true")
    if "S3_BUCKET" not in os.environ:
        from compose.local.services import seaweedfs

        _seaweed = seaweedfs.start(_scratch / "seaweedfs")
        seaweedfs.create_bucket(_seaweed, TEST_BUCKET)
        os.environ.update(_seaweed.env(TEST_BUCKET))


def static_collect_for_run() -> None:
    """`manage.py collectstatic` into a new directory, which the run (and every server and
    worker it starts, through the environment) serves from."""
    global _static
    _static = Path(tempfile.mkdtemp(prefix="photosite-test-static-"))
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env={**os.environ, "STATIC_ROOT": str(_static)},
        capture_output=True,
        text=True,
    )
    if collected.returncode != 0:
        raise RuntimeError(f"collectstatic failed:\n{collected.stdout}{collected.stderr}")
    os.environ["STATIC_ROOT"] = str(_static)


def _is_xdist_controller(config: pytest.Config) -> bool:
    if "PYTEST_XDIST_WORKER" in os.environ:
        return False
    workers = getattr(config.known_args_namespace, "numprocesses", None)
    return bool(workers) and not getattr(config.known_args_namespace, "collectonly", False)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _seaweed is not None:
        _seaweed.stop()
    if _redis is not None:
        _redis.stop()
    if _scratch is not None:
        shutil.rmtree(_scratch, ignore_errors=True)
    if _static is not None:
        shutil.rmtree(_static, ignore_errors=True)


def seaweed_server():  # -> SeaweedS3 | None
    return _seaweed
