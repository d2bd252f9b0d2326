"""gunicorn loads the site once in its master and forks workers from it (preload_app,
photosite/gunicorn.conf.py): a worker replaced after its max_requests is a fork, not a new
import. What a fork must not break, seen from outside on a real server with a real
streaming replica: each new worker runs its own replica monitor, and no process uses a
socket another one also holds (the master keeps none but the listening one).
"""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.conftest import wait_for
from tests.photosite.test_replica_monitor import replica_url

pytestmark = pytest.mark.django_db(transaction=True, databases=["default", "replica_0"])

MAX_REQUESTS = 12


def _master_pid(log: Path) -> int:
    return int(re.findall(r"Listening at: \S+ \((\d+)\)", log.read_text())[0])


def _booted(log: Path) -> list[int]:
    """Every worker the master has started, in order."""
    return [int(pid) for pid in re.findall(r"Booting worker with pid: (\d+)", log.read_text())]


def _workers(master: int) -> set[int]:
    return {int(pid) for pid in Path(f"/proc/{master}/task/{master}/children").read_text().split()}


def _sockets(pid: int) -> set[str]:
    """The socket inodes the process holds open."""
    held = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:"):
            held.add(target)
    return held


def _replica_up(url: str) -> bool:
    checks = requests.get(f"{url}/readyz", timeout=30).json()["checks"]
    return bool(checks["replica:replica_0"]["state"] == "up")


def test_workers_replaced_after_their_requests_are_forks_that_watch_replicas_and_share_no_connection(
    site_server_factory, replica, bucket
) -> None:
    replica.wait_until_caught_up(timeout=30)
    server = site_server_factory(
        workers=2,
        threads=1,
        DATABASE_REPLICA_URLS=replica_url(replica),
        DATABASE_REPLICA_CHECK_SECONDS="0.2",
        GUNICORN_MAX_REQUESTS=str(MAX_REQUESTS),
        GUNICORN_MAX_REQUESTS_JITTER="0",
    )
    master = _master_pid(server.log_path)
    # The site was loaded in the master, before any fork: the imaging library that apps/photos
    # loads when the site starts is mapped into it (without preload_app only workers load it).
    assert "/PIL/_imaging" in Path(f"/proc/{master}/maps").read_text()
    # The site answers once one worker is up; the other's boot line may follow a moment later.
    wait_for(lambda: len(_booted(server.log_path)) >= 2, timeout=30, what="both workers to boot")
    first = set(_booted(server.log_path))
    assert len(first) == 2

    def both_replaced() -> bool:
        for _ in range(MAX_REQUESTS):
            requests.get(f"{server.url}/healthz", timeout=30)
        workers = _workers(master)
        return len(workers) == 2 and not workers & first

    wait_for(both_replaced, timeout=60, what="both first workers to be replaced")
    assert len(_booted(server.log_path)) > 2
    # A forked worker starts its own monitor: the verdict /readyz reports is the new worker's.
    wait_for(lambda: _replica_up(server.url), timeout=30, what="a replaced worker to see the replica up")
    for page in ("/", "/explore/"):
        assert requests.get(server.url + page, timeout=30).status_code == 200  # database, cache, replica reads

    def each_worker_connected() -> bool:
        # Sync workers take requests in no fixed order, and a worker connects on its first
        # request: two at once, so that both serve one (a worker may have just been replaced).
        with ThreadPoolExecutor(max_workers=2) as pool:
            pages = list(pool.map(lambda page: requests.get(server.url + page, timeout=30), ["/explore/"] * 2))
        assert all(page.status_code == 200 for page in pages)
        return all(_sockets(pid) - _sockets(master) for pid in _workers(master))

    wait_for(each_worker_connected, timeout=60, what="each worker to have served a page")
    workers = _workers(master)
    listening = _sockets(master)
    assert len(listening) == 1, "the master holds nothing but the listening socket"
    held = {pid: _sockets(pid) - listening for pid in workers}
    assert all(held.values()), held  # each worker has connections of its own
    [one, other] = held.values()
    assert not one & other, "two workers share a connection"
