"""`manage.py check --deploy` with the environment compose gives the web containers.

env.example filled in as an operator would (random secrets), compose's web1 environment
over it, and only the addresses of the services swapped for this test run's own.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from compose.local import composefile
from tests.conftest import subprocess_env_for_test_database

SERVICE_ADDRESSES = {"DATABASE_URL", "DATABASE_REPLICA_URLS", "REDIS_URL", "BROKER_URL", "MEDIA_CDN_URL"}


def production_environment(**changes: str | None) -> dict[str, str]:
    dotenv = composefile.dotenv_from_example()
    container = composefile.compose_environment(composefile.load(dotenv)["services"]["web1"], dotenv)
    local = {name for name in container if name in SERVICE_ADDRESSES or name.startswith("S3_")}
    environment = {
        **subprocess_env_for_test_database(),
        **{name: value for name, value in container.items() if name not in local},
    }
    if "PROMETHEUS_MULTIPROC_DIR" in environment:
        # As in `docker compose run web1 manage.py ...`: start-web never ran, so the directory
        # is missing, and importing the site must not need it (here it may exist from another run).
        environment["PROMETHEUS_MULTIPROC_DIR"] = str(Path(tempfile.mkdtemp()) / "not-made-yet")
    for name, value in changes.items():
        if value is None:
            environment.pop(name, None)
        else:
            environment[name] = value
    return environment


def check_deploy(environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "DEBUG"],
        cwd=composefile.ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.django_db
def test_check_deploy_reports_nothing_in_the_production_environment() -> None:
    result = check_deploy(production_environment())
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout, result.stdout + result.stderr


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "warning"),
    [
        ({"DJANGO_HSTS_SECONDS": None}, "security.W004"),
        ({"DJANGO_SECURE_SSL_REDIRECT": None}, "security.W008"),
        ({"DJANGO_SECURE_COOKIES": None}, "security.W012"),
    ],
)
def test_check_deploy_notices_a_missing_https_setting(changes: dict[str, str | None], warning: str) -> None:
    """The check above means something: drop one setting and Django names it."""
    result = check_deploy(production_environment(**changes))
    assert result.returncode != 0 and warning in result.stdout + result.stderr
