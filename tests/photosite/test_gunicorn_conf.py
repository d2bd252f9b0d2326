"""photosite/gunicorn.conf.py's master, once it has loaded the site: what it hands its forked
workers. Every object it loaded is frozen out of the garbage collector's reach, so a worker's
first full collection does not walk (and copy on write) the whole inherited heap: that held each
new worker's queue for about a quarter of a second whenever gunicorn replaced one after its
max_requests (docs/PERFORMANCE.md, the kept pages' p99)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT, subprocess_env_for_test_database

pytestmark = pytest.mark.django_db

MASTER = """
import gc, runpy
conf = runpy.run_path("photosite/gunicorn.conf.py")
assert conf["preload_app"]
import django; django.setup()
conf["when_ready"](None)
print(gc.get_freeze_count())
"""


def test_the_master_freezes_what_it_loaded_before_forking_workers() -> None:
    found = subprocess.run(
        [sys.executable, "-c", MASTER],
        cwd=ROOT,
        env=subprocess_env_for_test_database(),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert int(found.stdout.split()[-1]) > 100_000, found.stdout  # the site's objects, not a handful
