"""Request ids and ECS JSON logs, read from real gunicorn and Dramatiq worker processes."""

from __future__ import annotations

import json

import requests

from apps.photos.models import Photo, PhotoStatus
from tests.conftest import WorkerProcess, wait_for
from tests.images import jpeg_bytes
from tests.pages import parse_page


def test_request_id_is_echoed_kept_or_made(client, db) -> None:
    assert client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a.01")["X-Request-ID"] == "lb-7f3a.01"
    made = client.get("/healthz")["X-Request-ID"]
    assert len(made) == 32 and int(made, 16) >= 0
    hostile = client.get("/healthz", HTTP_X_REQUEST_ID="x" * 500)["X-Request-ID"]
    assert hostile != "x" * 500 and len(hostile) == 32


def json_lines(text: str) -> list[dict]:
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))  # every JSON-looking line must parse
    return lines


def test_json_logs_carry_the_request_id_from_web_into_the_job(
    site_server_factory, bucket, broker_redis, tmp_path
) -> None:
    server = site_server_factory(LOG_FORMAT="json")
    worker = WorkerProcess(tmp_path / "worker.log", LOG_FORMAT="json")
    worker.start()
    try:
        browser = requests.Session()
        signup_url = server.url + "/accounts/signup/"
        token = parse_page(browser.get(signup_url, timeout=10).text).csrf_token
        password = "a long log test password"
        browser.post(
            signup_url,
            data={"csrfmiddlewaretoken": token, "username": "logger", "password1": password, "password2": password},
            headers={"Referer": signup_url},
            timeout=10,
        )
        upload_url = server.url + "/upload/"
        token = parse_page(browser.get(upload_url, timeout=10).text).csrf_token
        response = browser.post(
            upload_url,
            data={"csrfmiddlewaretoken": token, "visibility": "public", "title": "Logged"},
            files={"file": ("logged.jpg", jpeg_bytes(800, 600), "image/jpeg")},
            headers={"Referer": upload_url, "X-Request-ID": "trace-upload-42"},
            allow_redirects=False,
            timeout=30,
        )
        assert response.status_code == 302 and response.headers["X-Request-ID"] == "trace-upload-42"
        wait_for(
            lambda: Photo.objects.filter(title="Logged", status=PhotoStatus.READY).exists(),
            timeout=60,
            what=f"the worker; log:\n{worker.log()}",
        )
    finally:
        worker.stop()

    web = json_lines(server.log_path.read_text())
    assert web, "gunicorn wrote no JSON lines"
    (access,) = [line for line in web if line.get("http", {}).get("request", {}).get("id") == "trace-upload-42"]
    assert access["http"]["request"]["method"] == "POST"
    assert access["url"]["path"] == "/upload/"
    assert access["http"]["response"]["status_code"] == 302
    assert access["event"]["duration"] > 0
    assert access["user"]["id"] == Photo.objects.get(title="Logged").owner_id
    assert access["log"]["logger"] == "photosite.access" and access["ecs.version"]

    jobs = json_lines(worker.log())
    made = [line for line in jobs if line.get("event", {}).get("action") == "renditions-made"]
    assert made and made[0]["http"]["request"]["id"] == "trace-upload-42"
    assert made[0]["labels"]["job"] == "make_renditions"
