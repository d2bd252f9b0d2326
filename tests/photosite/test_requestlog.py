"""Request ids and ECS JSON logs, read from real gunicorn and Dramatiq worker processes."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import requests

from apps.photos.models import Photo, PhotoStatus
from tests.conftest import WorkerProcess, wait_for
from tests.images import jpeg_bytes
from tests.pages import parse_page


def test_request_id_is_echoed_kept_or_made(client, db) -> None:
    assert client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a.01")["X-Request-ID"] == "lb-7f3a.01"
    made = client.get("/healthz")["X-Request-ID"]
    assert len(made) == 32 and uuid.UUID(made).version == 4 and uuid.UUID(made).hex == made  # as uuid4().hex
    assert len({client.get("/healthz")["X-Request-ID"] for _ in range(20)}) == 20
    hostile = client.get("/healthz", HTTP_X_REQUEST_ID="x" * 500)["X-Request-ID"]
    assert hostile != "x" * 500 and len(hostile) == 32


ECS_FIELDS = ("@timestamp", "log.level", "ecs.version")


def json_lines(text: str, *, source: str) -> list[dict[str, Any]]:
    """Every line of the output, each one ECS JSON object: Filebeat ships lines, so a raw
    line (a banner, a traceback) would reach the log store as a record of its own."""
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        try:
            record = json.loads(line)
        except ValueError:
            raise AssertionError(f"{source} line {number} is not JSON: {line!r}\n\n{text[-4000:]}") from None
        assert isinstance(record, dict), f"{source} line {number} is not an object: {line!r}"
        missing = [field for field in ECS_FIELDS if not record.get(field)]
        assert not missing, f"{source} line {number} lacks {missing}: {line!r}"
        records.append(record)
    assert records, f"{source} wrote nothing"
    return records


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
            data={
                "csrfmiddlewaretoken": token,
                "username": "logger",
                "email": "logger@example.com",
                "password1": password,
                "password2": password,
            },
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

    web = json_lines(server.log_path.read_text(), source="gunicorn")
    (access,) = [line for line in web if line.get("http", {}).get("request", {}).get("id") == "trace-upload-42"]
    assert access["http"]["request"]["method"] == "POST"
    assert access["url"]["path"] == "/upload/"
    assert access["http"]["response"]["status_code"] == 302
    assert access["event"]["duration"] > 0
    assert access["user"]["id"] == Photo.objects.get(title="Logged").owner_id
    assert access["log"]["logger"] == "photosite.access" and access["ecs.version"]

    jobs = json_lines(worker.log(), source="rundramatiq")
    made = [line for line in jobs if line.get("event", {}).get("action") == "renditions-made"]
    assert made and made[0]["http"]["request"]["id"] == "trace-upload-42"
    assert made[0]["labels"]["job"] == "make_renditions"


def test_a_failing_request_and_a_failing_job_log_their_tracebacks_inside_json_lines(
    site_server_factory, broker_redis, tmp_path
) -> None:
    """An unhandled exception is one JSON line with the traceback in error.stack_trace,
    tagged with the request id, never raw `Traceback (most recent call last)` lines."""
    from apps.photos.tasks import make_renditions

    # A web process whose database is gone: its pages fail with a 500.
    server = site_server_factory(LOG_FORMAT="json", DATABASE_URL="postgres://postgres@127.0.0.1:9/photosite")
    response = requests.get(server.url + "/", headers={"X-Request-ID": "trace-broken-7"}, timeout=30)
    assert response.status_code == 500

    worker = WorkerProcess(tmp_path / "worker.log", LOG_FORMAT="json")
    worker.start()
    try:
        # A message the actor cannot handle, as one sent by an older release might be.
        make_renditions.send_with_options(args=("not-a-photo-id",), max_retries=0)
        wait_for(
            lambda: "Failed to process message make_renditions('not-a-photo-id')" in worker.log(),
            timeout=60,
            what=f"the job's failure in the worker log:\n{worker.log()}",
        )
    finally:
        worker.stop()

    web = json_lines(server.log_path.read_text(), source="gunicorn")
    failures = [line for line in web if line.get("error", {}).get("stack_trace")]
    assert failures, "the 500 was not logged with its traceback"
    (failure,) = [line for line in failures if line.get("http", {}).get("request", {}).get("id") == "trace-broken-7"]
    assert failure["log.level"] == "error"
    assert "Traceback" not in failure["message"]
    assert "OperationalError" in failure["error"]["type"] and "psycopg" in failure["error"]["stack_trace"]

    jobs = json_lines(worker.log(), source="rundramatiq")
    (job_failure,) = [line for line in jobs if line["message"].startswith("Failed to process message make_renditions")]
    assert job_failure["log.level"] == "error"
    assert job_failure["labels"]["job"] == "make_renditions"
    assert job_failure["error"]["type"] == "ValueError" and "not-a-photo-id" in job_failure["error"]["message"]
    assert "rendition_make_all" in job_failure["error"]["stack_trace"]
    # The worker's main process (dramatiq's CLI, which never loads Django) logs JSON too.
    assert any(line["log"]["logger"] == "dramatiq.MainProcess" for line in jobs)


def test_a_share_links_token_is_masked_in_the_access_log(client, db, caplog) -> None:
    token = "HOeP9BgSecretPartOfTheLink"
    with caplog.at_level("INFO", logger="photosite.access"):
        client.get(f"/s/{token}/12/")
    (line,) = [record for record in caplog.records if record.name == "photosite.access"]
    assert "/s/HOeP…/12/" in line.getMessage() and token not in line.getMessage()
    assert token not in json.dumps({key: str(value) for key, value in vars(line).items()})


def test_json_lines_are_byte_for_byte_the_ones_ecs_logging_writes(rf) -> None:
    """LOG_FORMAT=json lines are made by photosite's faster formatter: what Filebeat ships and
    Kibana indexes must not change by a byte, for access lines, job lines, failures and odd extras."""
    import logging
    import sys

    from ecs_logging import StdlibFormatter

    from photosite.pagecache import Visitor
    from photosite.requestlog import EcsFormatter, access_logger, log_access

    kept: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            kept.append(record)

    keeper = Keep()
    access_logger.addHandler(keeper)
    level = access_logger.level
    access_logger.setLevel(logging.INFO)
    try:
        visitor = Visitor(rf.get("/s/HOeP9BgSecret/12/", HTTP_X_REQUEST_ID="edge-1").META)
        log_access(visitor, 200, 0.0042, request_id="edge-1")  # a kept page's line: its own fields
        log_access(rf.post("/upload/"), 302, 1.5)  # a rendered page's: the context adds the rest
    finally:
        access_logger.removeHandler(keeper)
        access_logger.setLevel(level)
    job = logging.LogRecord("apps.photos.tasks", logging.WARNING, "/x/tasks.py", 7, "made %d of %s", (3, "ü…"), None)
    job.__dict__.update({"labels.job": "make_renditions", "event": {"action": "renditions-made"}, "user.id": None})
    try:
        raise ValueError("not-a-photo-id")
    except ValueError:
        failed = logging.LogRecord("dramatiq", logging.ERROR, "/x/worker.py", 9, "Failed", (), sys.exc_info())
    with_stack = logging.LogRecord("photosite", logging.INFO, "/x/a.py", 1, "look", (), None, sinfo="Stack (most..)")
    no_thread = logging.LogRecord("photosite", logging.DEBUG, "/x/a.py", 1, "plain", (), None)
    no_thread.thread = no_thread.threadName = no_thread.processName = None
    ours, theirs = EcsFormatter(), StdlibFormatter()
    for record in [*kept, job, failed, with_stack, no_thread]:
        assert ours.format(record) == theirs.format(record), record.getMessage()
    assert '"url":{"path":"/s/HOeP\\u2026/12/"}' in ours.format(kept[0])  # the token masked, as before
    excluding = ["process"]
    assert EcsFormatter(exclude_fields=excluding).format(job) == StdlibFormatter(exclude_fields=excluding).format(job)
    clash = logging.LogRecord("photosite", logging.INFO, "/x/a.py", 1, "clash", (), None)
    clash.__dict__["log.original.part"] = 1  # an extra field where ecs-logging has one of its own
    for formatter in (ours, theirs):
        with pytest.raises(TypeError, match="Type mismatch at key `original`"):
            formatter.format(clash)
