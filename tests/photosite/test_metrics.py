"""/metrics for Prometheus: framework figures plus business and queue gauges; private."""

from __future__ import annotations

import time

import dramatiq
from dramatiq import Message
from prometheus_client.parser import text_string_to_metric_families

from apps.photos import services
from tests.conftest import wait_for
from tests.factories import uploaded_photo


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_show_business_queue_and_request_figures(
    client, user, other_user, bucket, broker_redis, django_capture_on_commit_callbacks
) -> None:
    ready = uploaded_photo(owner=user)
    services.rendition_make_all(photo_id=ready.pk)
    with django_capture_on_commit_callbacks(execute=True):
        uploaded_photo(owner=other_user)  # queued, not yet rendered
    services.photo_mark_failed(photo_id=uploaded_photo(owner=user).pk, reason="broken")
    client.get("/")

    response = client.get("/metrics")
    assert response.status_code == 200
    found = samples(response.content.decode())
    assert found[("photosite_users", ())] == 2
    assert found[("photosite_photos", (("status", "ready"),))] == 1
    assert found[("photosite_photos", (("status", "processing"),))] == 1
    assert found[("photosite_photos", (("status", "failed"),))] == 1
    assert found[("photosite_photos_uploaded_24h", ())] == 3
    assert found[("photosite_renditions_failed_24h", ())] == 1
    assert found[("photosite_queue_messages", (("queue", "renditions"), ("state", "waiting")))] == 1
    assert found[("photosite_workers_live", ())] == 0  # no worker runs in this test
    assert 0 <= found[("photosite_queue_oldest_message_age_seconds", (("queue", "renditions"),))] < 60
    assert any(name == "django_http_requests_total_by_method_total" for name, _ in found)
    assert any(name.startswith("django_db_execute") for name, _ in found)


def test_metrics_are_hidden_from_the_public(client, db, settings) -> None:
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9").status_code == 404
    settings.METRICS_TOKEN = "scrape-secret"
    assert client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    assert (
        client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer scrape-secret").status_code == 200
    )


def test_live_workers_are_counted(client, db, broker_redis, worker) -> None:
    from tests.conftest import wait_for

    def live() -> float:
        return samples(client.get("/metrics").content.decode())[("photosite_workers_live", ())]

    wait_for(lambda: live() == 1, timeout=30, what="the worker's heartbeat")
    worker.stop()
    # Its key is deleted on a clean stop, or expires within 30 s if the process dies first.
    wait_for(lambda: live() == 0, timeout=45, what="the stopped worker to leave the count")


def test_oldest_job_age_grows_while_it_waits_counted_from_when_it_entered_the_queue(client, db, broker_redis) -> None:
    """What PhotositeOldestJobTooOld watches. A retry comes back from its delay queue with
    the timestamp of its first send; it has waited only since it came back."""

    def age() -> float:
        found = samples(client.get("/metrics").content.decode())
        return found[("photosite_queue_oldest_message_age_seconds", (("queue", "renditions"),))]

    assert age() == 0  # an empty queue
    an_hour_ago = int(time.time() * 1000) - 3_600_000
    dramatiq.get_broker().enqueue(
        Message(
            queue_name="renditions",
            actor_name="make_renditions",
            args=("no-such-photo",),
            kwargs={},
            options={"retries": 3},
            message_timestamp=an_hour_ago,
        )
    )
    assert broker_redis.llen("dramatiq:renditions") == 1  # in Redis, where no worker takes it
    first = age()
    assert 0 <= first < 5
    wait_for(lambda: age() >= first + 1, timeout=10, what="the waiting job's age to grow")
    dramatiq.get_broker().enqueue(
        Message(queue_name="renditions", actor_name="make_renditions", args=("x",), kwargs={}, options={})
    )
    assert age() >= first + 1  # still the first job's age, not the newest one's
