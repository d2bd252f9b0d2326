"""photosite/purge.py: a takedown's cleanup job asks the CDN to drop the old public URLs, and
a privacy change asks it to drop the visitors' pages built from what it changed.

A real CDN cannot run here, so each backend talks to a fake HTTP server that answers as
the CDN's documented purge API does and records what it was sent; everything else (the
photo services, the outbox, S3) is real. nginx's purge is tested for real in
tests/photos/test_takedown.py.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import environ
import pytest
import requests
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from apps.photos import services
from apps.photos.models import Photo, Visibility
from apps.photos.tasks import delete_stored_files
from photosite.pagecache import EDGE_CACHE_CONTROL
from photosite.purge import PurgeFailed, PurgeSettings
from tests.factories import UserFactory, ready_photo

CLOUDFRONT_ANSWER = b"""<?xml version="1.0" encoding="UTF-8"?>
<Invalidation xmlns="http://cloudfront.amazonaws.com/doc/2020-05-31/"><Id>I2J0I21PCUYOIK</Id>
<Status>InProgress</Status><CreateTime>2026-11-29T07:00:00Z</CreateTime><InvalidationBatch>
<Paths><Quantity>1</Quantity><Items><Path>/x</Path></Items></Paths><CallerReference>r</CallerReference>
</InvalidationBatch></Invalidation>"""


class FakeCdn:
    """Answers like the CDNs' purge APIs; `failing` makes every call a 500."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.failing = False
        cdn = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                cdn.calls.append({"path": self.path, "headers": dict(self.headers), "body": body})
                if cdn.failing:
                    self._answer(500, b'{"success": false}', "application/json")
                elif "/invalidation" in self.path:
                    self._answer(201, CLOUDFRONT_ANSWER, "text/xml")
                elif self.path.startswith("/purge/"):
                    self._answer(200, b'{"status": "ok", "id": "1-2-3"}', "application/json")
                elif self.path.startswith("/service/"):  # Fastly's purge by surrogate key: key -> purge id
                    keys = self.headers.get("Surrogate-Key", "").split()
                    self._answer(200, json.dumps(dict.fromkeys(keys, "1-2-3")).encode(), "application/json")
                else:
                    self._answer(200, b'{"success": true, "errors": [], "result": {"id": "z"}}', "application/json")

            def _answer(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def fake_cdn() -> Iterator[FakeCdn]:
    cdn = FakeCdn()
    yield cdn
    cdn.server.shutdown()


def _run_cleanup_jobs(broker_redis) -> None:
    """Run the delete_stored_files jobs waiting in Redis, as a maintenance worker would."""
    for raw in broker_redis.hgetall("dramatiq:maintenance.msgs").values():
        message = json.loads(raw)
        if message["actor_name"] == "delete_stored_files":
            delete_stored_files.fn(*message["args"], **message["kwargs"])
    broker_redis.flushdb()


def _take_down(action: str, photo: Photo) -> None:
    if action == "hide":
        services.photo_hide(photo=photo, moderator=UserFactory(is_staff=True), reason="Reported")
    elif action == "private":
        services.photo_update(photo=photo, title=photo.title, caption="", alt_text="", visibility=Visibility.PRIVATE)
    else:
        services.photo_delete(photo_id=photo.pk)


def _media_purges(calls: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The calls that purge media by URL, not visitors' pages by key (a `tags` list, a service purge)."""
    return [call for call in calls if not (call["path"].startswith("/service/") or b'"tags"' in call["body"])]


@pytest.mark.parametrize(
    ("backend", "action"), [("cloudflare", "delete"), ("fastly", "hide"), ("cloudfront", "private")]
)
def test_a_takedown_asks_the_cdn_to_purge_exactly_the_old_public_urls(
    backend, action, user, bucket, broker_redis, settings, fake_cdn, django_capture_on_commit_callbacks
) -> None:
    settings.MEDIA_PURGE = PurgeSettings(
        backend=backend,
        api_url=fake_cdn.url,
        api_token="cdn-token",
        cloudflare_zone_id="zone-1",
        cloudfront_distribution_id="DIST1",
    )
    photo = ready_photo(user)
    old_urls = sorted(rendition.url for rendition in photo.renditions.all())
    broker_redis.flushdb()

    with django_capture_on_commit_callbacks(execute=True):
        _take_down(action, photo)
    assert _media_purges(fake_cdn.calls) == [], "the purge waits for the objects' removal, in the maintenance job"
    fake_cdn.calls.clear()  # the pages the takedown changed, purged at once (tested below)
    _run_cleanup_jobs(broker_redis)
    fake_cdn.calls[:] = _media_purges(fake_cdn.calls)

    assert all(requests.get(url, timeout=10).status_code in (403, 404) for url in old_urls)
    if backend == "cloudflare":
        (call,) = fake_cdn.calls  # 10 renditions: one call of at most 30 URLs
        assert call["path"] == "/zones/zone-1/purge_cache"
        assert call["headers"]["Authorization"] == "Bearer cdn-token"
        assert sorted(json.loads(call["body"])["files"]) == old_urls
    elif backend == "fastly":
        assert sorted(call["path"] for call in fake_cdn.calls) == sorted(
            "/purge/" + urlsplit(url).netloc + urlsplit(url).path for url in old_urls
        )
        assert {call["headers"]["Fastly-Key"] for call in fake_cdn.calls} == {"cdn-token"}
    else:
        (call,) = fake_cdn.calls
        assert call["path"] == "/2020-05-31/distribution/DIST1/invalidation"
        assert call["headers"]["Authorization"].startswith("AWS4-HMAC-SHA256 ")
        body = call["body"].decode()
        assert f"<Quantity>{len(old_urls)}</Quantity>" in body
        assert all(f"<Path>{urlsplit(url).path}</Path>" in body for url in old_urls)


def test_a_cdn_that_fails_the_purge_fails_the_job_so_it_is_retried(
    user, bucket, broker_redis, settings, fake_cdn, django_capture_on_commit_callbacks
) -> None:
    settings.MEDIA_PURGE = PurgeSettings(
        backend="cloudflare", api_url=fake_cdn.url, api_token="t", cloudflare_zone_id="z"
    )
    photo = ready_photo(user)
    old_urls = [rendition.url for rendition in photo.renditions.all()]
    broker_redis.flushdb()
    with django_capture_on_commit_callbacks(execute=True):
        services.photo_delete(photo_id=photo.pk)
    fake_cdn.failing = True
    with pytest.raises(PurgeFailed):
        _run_cleanup_jobs(broker_redis)
    assert all(requests.get(url, timeout=10).status_code in (403, 404) for url in old_urls)  # S3 first, then the CDN


def test_unhiding_before_the_cleanup_job_runs_keeps_the_public_objects(
    user, bucket, broker_redis, django_capture_on_commit_callbacks
) -> None:
    photo = ready_photo(user)
    public_urls = [rendition.url for rendition in photo.renditions.all()]
    broker_redis.flushdb()
    with django_capture_on_commit_callbacks(execute=True):
        services.photo_hide(photo=photo, moderator=UserFactory(is_staff=True), reason="By mistake")
        services.photo_unhide(photo=Photo.objects.get(pk=photo.pk))
    _run_cleanup_jobs(broker_redis)  # the hide's job runs last: the keys are the unhidden photo's again
    assert sorted(rendition.url for rendition in photo.renditions.all()) == sorted(public_urls)
    assert all(requests.get(url, timeout=10).status_code == 200 for url in public_urls)
    assert bucket.keys("private/renditions/") == []


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"MEDIA_PURGE_BACKEND": "akamai"}, "must be one of"),
        ({"MEDIA_PURGE_BACKEND": "nginx"}, "MEDIA_PURGE_NGINX_URLS"),
        ({"MEDIA_PURGE_BACKEND": "cloudflare", "MEDIA_PURGE_API_TOKEN": "t"}, "MEDIA_PURGE_CLOUDFLARE_ZONE_ID"),
        ({"MEDIA_PURGE_BACKEND": "fastly"}, "MEDIA_PURGE_API_TOKEN"),
        ({"MEDIA_PURGE_BACKEND": "cloudfront"}, "MEDIA_PURGE_CLOUDFRONT_DISTRIBUTION_ID"),
    ],
)
def test_a_purge_backend_without_what_it_needs_stops_the_start(monkeypatch, variables, message) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=message):
        PurgeSettings.from_env(environ.Env())


def test_no_backend_is_the_default() -> None:
    assert PurgeSettings.from_env(environ.Env()).backend == "none"


def _purged_page_keys(backend: str, calls: list[dict[str, Any]]) -> set[str]:
    if backend == "fastly":
        return {key for call in calls for key in call["headers"]["Surrogate-Key"].split()}
    return {tag for call in calls for tag in json.loads(call["body"])["tags"]}


@pytest.mark.parametrize("backend", ["fastly", "cloudflare"])
def test_a_photo_made_private_purges_the_visitors_pages_built_from_it_by_surrogate_key(
    backend, client, user, bucket, settings, fake_cdn, django_capture_on_commit_callbacks
) -> None:
    settings.MEDIA_PURGE = PurgeSettings(
        backend=backend,
        api_url=fake_cdn.url,
        api_token="cdn-token",
        cloudflare_zone_id="zone-1",
        fastly_service_id="SERVICE1",
    )
    photo = ready_photo(user, title="Keyed", tags="lighthouse")
    home = client.get("/")
    tag_page = client.get(reverse("tag", args=["lighthouse"]))
    # A CDN that is not purged at once is never told it may serve a page stale.
    assert home["Cache-Control"] == EDGE_CACHE_CONTROL
    fake_cdn.calls.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.photo_update(photo=photo, title=photo.title, caption="", alt_text="", visibility=Visibility.PRIVATE)

    purged = _purged_page_keys(backend, fake_cdn.calls)
    assert set(home["Surrogate-Key"].split()) & purged, "the home page that listed it"
    assert set(tag_page["Surrogate-Key"].split()) & purged, "the tag page that listed it"
    assert {"recent", f"user:{user.pk}", "tag:lighthouse"} <= purged
    if backend == "fastly":
        assert {call["path"] for call in fake_cdn.calls} == {"/service/SERVICE1/purge"}
        assert {call["headers"]["Fastly-Key"] for call in fake_cdn.calls} == {"cdn-token"}
    else:
        assert {call["path"] for call in fake_cdn.calls} == {"/zones/zone-1/purge_cache"}
        assert all(len(json.loads(call["body"])["tags"]) <= 30 for call in fake_cdn.calls)
    assert "Keyed" not in client.get("/").content.decode()


def test_a_cdn_that_fails_a_page_purge_does_not_undo_the_change(
    client, user, bucket, settings, fake_cdn, django_capture_on_commit_callbacks, caplog
) -> None:
    settings.MEDIA_PURGE = PurgeSettings(
        backend="cloudflare", api_url=fake_cdn.url, api_token="t", cloudflare_zone_id="z"
    )
    photo = ready_photo(user, title="Still private")
    fake_cdn.failing = True
    with django_capture_on_commit_callbacks(execute=True):
        services.photo_update(photo=photo, title=photo.title, caption="", alt_text="", visibility=Visibility.PRIVATE)
    photo.refresh_from_db()
    assert photo.visibility == Visibility.PRIVATE
    assert fake_cdn.calls, "the purge was asked for"
    assert any("not purged from the edge" in record.getMessage() for record in caplog.records)
    assert "Still private" not in client.get("/").content.decode()


def test_cloudfront_is_not_asked_to_purge_pages_it_cannot_purge_by_key(
    user, bucket, settings, fake_cdn, django_capture_on_commit_callbacks
) -> None:
    settings.MEDIA_PURGE = PurgeSettings(backend="cloudfront", api_url=fake_cdn.url, cloudfront_distribution_id="DIST1")
    photo = ready_photo(user, title="Left to expire")
    with django_capture_on_commit_callbacks(execute=True):
        services.photo_update(photo=photo, title="Renamed", caption="", alt_text="", visibility=Visibility.PUBLIC)
    assert fake_cdn.calls == []  # the page leaves CloudFront when its second is up (s-maxage=1, no SWR)
