"""Points the test session at real services before Django reads its settings.

Loaded with `-p tests.services_plugin` (pyproject), so it runs before pytest-django
imports settings: PostgreSQL and Redis on 127.0.0.1 (this machine kind runs them;
`make test` starts them if down), and a SeaweedFS S3 server this session starts on
free loopback ports and stops at the end.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

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

_seaweed = None
_seaweed_dir: Path | None = None


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    global _seaweed, _seaweed_dir
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/photosite")
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
    os.environ.setdefault("BROKER_URL", "redis://127.0.0.1:6379/15")
    os.environ.setdefault("DJANGO_SECRET_KEY", "tests-only-not-a-secret")
    os.environ.setdefault("TESTS_FAST_PASSWORD_HASHER", "true")
    os.environ.setdefault("STATIC_ROOT", str(Path(__file__).resolve().parent.parent / "var" / "static"))
    if "S3_BUCKET" not in os.environ:
        from photosite.localservices import seaweedfs

        _seaweed_dir = Path(tempfile.mkdtemp(prefix="photosite-seaweedfs-"))
        _seaweed = seaweedfs.start(_seaweed_dir / "data")
        seaweedfs.create_bucket(_seaweed, TEST_BUCKET)
        os.environ.update(_seaweed.env(TEST_BUCKET))


def pytest_unconfigure(config: pytest.Config) -> None:
    if _seaweed is not None:
        _seaweed.stop()
    if _seaweed_dir is not None:
        shutil.rmtree(_seaweed_dir, ignore_errors=True)


def seaweed_server():  # -> SeaweedS3 | None
    return _seaweed
