"""/healthz and /readyz as a load balancer sees them, with real services failing."""

from __future__ import annotations

import pytest

from photosite.health import readiness_forget


@pytest.fixture(autouse=True)
def _fresh_probe():
    readiness_forget()
    yield
    readiness_forget()


def test_healthz_answers_without_touching_anything(client, db, django_assert_num_queries) -> None:
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_reports_every_dependency_up_with_latency(client, db) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "storage", "broker"}
    for name, check in body["checks"].items():
        assert check["state"] == "up", (name, check)
        assert check["latency_ms"] >= 0
    assert body["checks"]["database"]["required"] is True
    assert body["checks"]["cache"]["required"] is False


def test_redis_down_makes_the_site_degraded_not_unready(client, db, own_redis) -> None:
    own_redis.stop()
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["cache"]["state"] == "down" and "Connection" in body["checks"]["cache"]["error"]


def test_storage_down_is_unready_when_required(client, db, settings) -> None:
    unreachable = {**settings.STORAGES["default"]}
    unreachable["OPTIONS"] = {**unreachable["OPTIONS"], "endpoint_url": "http://127.0.0.1:9"}
    settings.STORAGES = {**settings.STORAGES, "default": unreachable}
    settings.READYZ_REQUIRED = ["database", "storage"]
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down" and body["checks"]["storage"]["state"] == "down"
    assert body["checks"]["database"]["state"] == "up"


def test_readyz_reuses_its_result_for_a_second(client, db, settings, django_assert_num_queries) -> None:
    settings.READYZ_CACHE_SECONDS = 60  # so a slow machine cannot push the second call past the window
    client.get("/readyz")
    with django_assert_num_queries(0):  # a balancer polling every second costs no extra checks
        assert client.get("/readyz").status_code == 200


def test_readyz_is_503_when_the_primary_is_unreachable(site_server_factory) -> None:
    """A web process whose database is gone: alive for /healthz, unready for the balancer."""
    import requests

    server = site_server_factory(DATABASE_URL="postgres://postgres@127.0.0.1:9/photosite")
    assert requests.get(server.url + "/healthz", timeout=10).status_code == 200
    response = requests.get(server.url + "/readyz", timeout=30)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["checks"]["database"]["state"] == "down" and body["checks"]["database"]["required"]
    assert "OperationalError" in body["checks"]["database"]["error"]
    assert body["checks"]["storage"]["state"] == "up"


def test_readyz_gives_outsiders_the_status_alone_and_operators_the_details(client, db, own_redis, settings) -> None:
    settings.METRICS_TOKEN = "operators-only"
    own_redis.stop()
    outsider = client.get("/readyz", REMOTE_ADDR="203.0.113.9")
    assert outsider.status_code == 200 and outsider.json() == {"status": "degraded"}
    assert str(own_redis.port) not in outsider.content.decode()  # no internal address leaks

    with_token = client.get("/readyz", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer operators-only")
    assert f":{own_redis.port}" in with_token.json()["checks"]["cache"]["error"]
    wrong_token = client.get("/readyz", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer guess")
    assert wrong_token.json() == {"status": "degraded"}
    assert "checks" in client.get("/readyz").json()  # loopback: an operator on the box
    settings.METRICS_ALLOWED_NETWORKS = ["203.0.113.0/24"]
    assert "checks" in client.get("/readyz", REMOTE_ADDR="203.0.113.9").json()


def test_readyz_tells_outsiders_it_is_down_by_its_status_code(client, db, settings) -> None:
    settings.READYZ_REQUIRED = ["database", "storage"]
    unreachable = {**settings.STORAGES["default"]}
    unreachable["OPTIONS"] = {**unreachable["OPTIONS"], "endpoint_url": "http://127.0.0.1:9"}
    settings.STORAGES = {**settings.STORAGES, "default": unreachable}
    response = client.get("/readyz", REMOTE_ADDR="198.51.100.4")
    assert response.status_code == 503 and response.json() == {"status": "down"}
