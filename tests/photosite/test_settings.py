"""Settings that change how the site talks to its services, exercised on real servers."""

from __future__ import annotations

import threading
import uuid

import psycopg
import requests
from django.db import connection

from apps.photos import services
from tests.factories import UserFactory, uploaded_photo


def test_connection_pool_bounds_connections_under_concurrent_load(site_server_factory, bucket) -> None:
    photo = uploaded_photo(owner=UserFactory(), title="Pooled")
    services.rendition_make_all(photo_id=photo.pk)
    app_name = f"photosite-pool-{uuid.uuid4().hex[:8]}"
    # One process, eight threads, but at most two database connections.
    server = site_server_factory(threads=8, DATABASE_POOL_MAX_SIZE="2", DATABASE_APPLICATION_NAME=app_name)
    params = connection.settings_dict
    peak = 0
    statuses: list[int] = []
    stop = threading.Event()

    def watch_connections() -> None:
        nonlocal peak
        with psycopg.connect(
            host=params["HOST"], port=params["PORT"], user=params["USER"], dbname="postgres", autocommit=True
        ) as admin:
            while not stop.is_set():
                (count,) = admin.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [app_name]
                ).fetchone() or (0,)
                peak = max(peak, count)
                stop.wait(0.01)

    def browse() -> None:
        with requests.Session() as session:
            for _ in range(10):
                # Fresh cache misses: a photo page of an unknown id reads the database each time.
                statuses.append(session.get(f"{server.url}/photos/{photo.pk}/", timeout=30).status_code)
                statuses.append(session.get(f"{server.url}/photos/999999{len(statuses)}/", timeout=30).status_code)

    watcher = threading.Thread(target=watch_connections)
    watcher.start()
    clients = [threading.Thread(target=browse) for _ in range(8)]
    for client in clients:
        client.start()
    for client in clients:
        client.join()
    stop.set()
    watcher.join()
    assert statuses.count(200) == 80 and statuses.count(404) == 80
    assert 1 <= peak <= 2, f"the pool opened {peak} connections"
