"""Errors in a view and in a job reach Sentry, tagged with the request id.

Sentry's ingest cannot run here, so a small HTTP server on loopback stands in for
it and keeps every envelope the SDK sends; everything on our side is real.
"""

from __future__ import annotations

import gzip
import json
import threading
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests

from tests.conftest import WorkerProcess, wait_for
from tests.factories import PASSWORD, UserFactory, totp_code, totp_enable
from tests.pages import parse_page


class FakeIngest:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        ingest = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                encoding = self.headers.get("Content-Encoding", "")
                if encoding == "gzip":
                    body = gzip.decompress(body)
                elif encoding == "deflate":
                    body = zlib.decompress(body)
                elif encoding == "br":
                    import brotli

                    body = brotli.decompress(body)
                for line in body.splitlines():
                    try:
                        item = json.loads(line)
                    except ValueError:
                        continue
                    if isinstance(item, dict) and "exception" in item:
                        ingest.events.append(item)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def dsn(self) -> str:
        return f"http://publickey@127.0.0.1:{self.server.server_port}/42"

    def messages(self) -> list[tuple[str, dict[str, str]]]:
        return [(event["exception"]["values"][-1]["value"], event.get("tags", {})) for event in self.events]


@pytest.fixture
def ingest():
    fake = FakeIngest()
    yield fake
    fake.server.shutdown()


def test_view_and_job_errors_reach_sentry_with_the_request_id(
    site_server_factory, ingest, broker_redis, tmp_path
) -> None:
    env = {"SENTRY_DSN": ingest.dsn, "SENTRY_ENVIRONMENT": "test"}
    server = site_server_factory(**env)
    worker = WorkerProcess(tmp_path / "worker.log", **env)
    worker.start()
    try:
        operator = UserFactory(is_staff=True)
        secret = totp_enable(operator)  # staff reach /ops/ with a second factor only
        browser = requests.Session()
        for url, fields in [
            ("/accounts/login/", {"login": operator.username, "password": PASSWORD}),
            ("/accounts/2fa/authenticate/", {"code": totp_code(secret)}),
        ]:
            token = parse_page(browser.get(server.url + url, timeout=10).text).csrf_token
            browser.post(
                server.url + url,
                data={"csrfmiddlewaretoken": token, **fields},
                headers={"Referer": server.url + url},
                timeout=10,
            )

        crashed = browser.get(server.url + "/ops/sentry-check/", headers={"X-Request-ID": "sentry-web-1"}, timeout=10)
        assert crashed.status_code == 500 and "Something went wrong" in crashed.text
        queued = browser.get(
            server.url + "/ops/sentry-check/?in=job", headers={"X-Request-ID": "sentry-job-2"}, timeout=10
        )
        assert queued.status_code == 202

        def both_reported() -> bool:
            texts = [text for text, _ in ingest.messages()]
            return any("from a web request" in t for t in texts) and any("from a job" in t for t in texts)

        wait_for(both_reported, timeout=30, what=f"both errors at the fake ingest; worker log:\n{worker.log()}")
    finally:
        worker.stop()
    by_text = {text: tags for text, tags in ingest.messages()}
    web_tags = next(tags for text, tags in by_text.items() if "from a web request" in text)
    job_tags = next(tags for text, tags in by_text.items() if "from a job" in text)
    assert web_tags["request_id"] == "sentry-web-1"
    assert job_tags["request_id"] == "sentry-job-2"


def test_the_sentry_check_is_for_staff_only(client, user) -> None:
    client.force_login(user)
    response = client.get("/ops/sentry-check/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
