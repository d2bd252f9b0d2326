"""The fan-out runs in a real worker process, never in the request."""

from __future__ import annotations

from django.urls import reverse

from apps.notifications.models import Notification
from tests.conftest import WorkerProcess, wait_for
from tests.factories import UserFactory, ready_photo


def test_a_like_is_told_by_the_worker_not_by_the_request(client, bucket, broker_redis, transactional_db, tmp_path):
    ann, bea = UserFactory(display_name="Ann"), UserFactory(display_name="Bea")
    photo = ready_photo(ann, title="Canal")
    client.force_login(bea)
    response = client.post(reverse("photo_like", args=[photo.pk]), {"liked": "1"}, HTTP_ACCEPT="application/json")
    assert response.json() == {"liked": True, "count": 1}
    # Committed, relayed to the broker, and nobody has run it yet: the request wrote no notification.
    assert not Notification.objects.exists()
    assert broker_redis.hlen("dramatiq:default.msgs") == 1

    worker = WorkerProcess(tmp_path / "worker.log")
    worker.start()
    try:
        wait_for(
            lambda: Notification.objects.filter(recipient=ann, photo=photo, last_actor=bea).exists(),
            timeout=60,
            what=f"the worker to tell Ann; log:\n{worker.log()}",
        )
    finally:
        worker.stop()
    ann.refresh_from_db()
    assert ann.unread_notification_count == 1
