"""The job outbox (photosite/outbox.py): a job is written with the rows it is about and
relayed to the broker once they commit, so a broker outage delays work and loses none.

The outage tests run the site as deployed (gunicorn) and real `manage.py rundramatiq`
workers against a broker this test may take away: a private redis-server, or this run's
own RabbitMQ virtual host whose permissions are withdrawn (see `rabbitmq_vhost` in
tests/conftest.py for why not a private RabbitMQ node).
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import redis
import requests
from django.db import connection, transaction
from dramatiq.brokers.redis import RedisBroker

from apps.photos.imaging import renditions_expected
from apps.photos.models import Photo, PhotoStatus
from compose.local.services.net import free_port
from compose.local.services.redis import RedisServer
from photosite import outbox
from photosite.broker import broker_url_with_timeouts
from photosite.models import OutboxMessage
from tests.conftest import RabbitmqVhost, SiteServer, WorkerProcess, wait_for
from tests.factories import PASSWORD, UserFactory, uploaded_photo
from tests.images import jpeg_bytes

UPLOADS = 20
RENDERED = re.compile(r"renditions made for photo (\d+)")


def api_headers(server: SiteServer, username: str) -> dict[str, str]:
    answer = requests.post(
        f"{server.url}/api/v1/auth/token/", json={"username": username, "password": PASSWORD}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Token {answer.json()['token']}"}


def upload_many(server: SiteServer, headers: dict[str, str], count: int) -> list[tuple[int, float]]:
    """Upload `count` photos through the API; each answer's status and how long it took."""
    answers = []
    for number in range(count):
        started = time.monotonic()
        answer = requests.post(
            f"{server.url}/api/v1/photos/",
            headers=headers,
            files={"file": (f"outage-{number}.jpg", jpeg_bytes(640, 480, seed=number), "image/jpeg")},
            timeout=60,
        )
        answers.append((answer.status_code, time.monotonic() - started))
    return answers


def renders_per_photo(*logs: str) -> Counter[int]:
    """How many times each photo was rendered, from the workers' "renditions made" lines."""
    return Counter(int(match) for log in logs for match in RENDERED.findall(log))


def assert_every_upload_ready_and_rendered_once(workers: list[WorkerProcess]) -> None:
    photos = list(Photo.objects.all())
    assert len(photos) == UPLOADS
    wait_for(
        lambda: Photo.objects.filter(status=PhotoStatus.READY).count() == UPLOADS,
        timeout=180,
        what="every photo uploaded during the outage to be ready; worker log:\n" + workers[0].log()[-3000:],
    )
    assert not OutboxMessage.objects.exists(), "every job left the outbox"
    for photo in photos:
        expected = renditions_expected(width=photo.original_width, height=photo.original_height)
        assert photo.renditions.count() == len(expected)
    rendered = renders_per_photo(*(worker.log() for worker in workers))
    assert rendered == Counter({photo.pk: 1 for photo in photos}), "each photo rendered exactly once"


@pytest.fixture
def broker_redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A private redis-server as the broker, which this test may stop and start."""
    server = RedisServer(free_port(), tmp_path / "broker-redis")
    yield server
    server.stop()


@pytest.fixture
def uploader(transactional_db: None) -> str:
    return UserFactory(username="outage").username


def test_uploads_while_the_redis_broker_is_down_all_become_ready_once_it_is_back(
    site_server_factory: Callable[..., SiteServer],
    broker_redis_server: RedisServer,
    uploader: str,
    bucket: object,
    tmp_path: Path,
) -> None:
    broker_url = broker_redis_server.url(1)
    server = site_server_factory(BROKER_URL=broker_url)
    workers = [WorkerProcess(tmp_path / f"worker{index}.log", BROKER_URL=broker_url) for index in (1, 2)]
    for worker in workers:
        worker.start()  # up throughout: they keep trying to reach the broker
    try:
        headers = api_headers(server, uploader)
        answers = upload_many(server, headers, UPLOADS)  # the broker has not started yet
        assert [status for status, _ in answers] == [201] * UPLOADS
        assert Photo.objects.filter(status=PhotoStatus.PROCESSING).count() == UPLOADS
        assert OutboxMessage.objects.count() == UPLOADS, "each upload's job waits in the outbox"

        broker_redis_server.start()
        assert_every_upload_ready_and_rendered_once(workers)
    finally:
        for worker in workers:
            worker.stop()


def test_uploads_while_rabbitmq_refuses_us_all_become_ready_once_it_is_back(
    site_server_factory: Callable[..., SiteServer],
    rabbitmq_vhost: RabbitmqVhost,
    uploader: str,
    bucket: object,
    tmp_path: Path,
) -> None:
    server = site_server_factory(BROKER_URL=rabbitmq_vhost.url)
    workers = [WorkerProcess(tmp_path / f"worker{index}.log", BROKER_URL=rabbitmq_vhost.url) for index in (1, 2)]
    for worker in workers:
        worker.start()
    try:
        headers = api_headers(server, uploader)
        wait_for(lambda: rabbitmq_vhost.consumers() >= 2, timeout=60, what="both workers to consume")
        rabbitmq_vhost.block()
        answers = upload_many(server, headers, UPLOADS)
        assert [status for status, _ in answers] == [201] * UPLOADS
        assert OutboxMessage.objects.count() == UPLOADS
        assert Photo.objects.filter(status=PhotoStatus.PROCESSING).count() == UPLOADS

        rabbitmq_vhost.unblock()
        assert_every_upload_ready_and_rendered_once(workers)
    finally:
        rabbitmq_vhost.unblock()
        for worker in workers:
            worker.stop()


class SilentServer:
    """Accepts TCP connections and never answers: a broker whose packets are dropped."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(64)
        self.port = int(self.socket.getsockname()[1])
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                peer, _ = self.socket.accept()
            except OSError:
                return
            self.accepted.append(peer)

    def close(self) -> None:
        self.socket.close()
        for peer in self.accepted:
            peer.close()


@pytest.mark.parametrize("scheme", ["redis", "amqp"])
def test_an_upload_does_not_hang_on_a_broker_that_never_answers(
    site_server_factory: Callable[..., SiteServer], uploader: str, bucket: object, scheme: str
) -> None:
    silent = SilentServer()
    try:
        url = (
            f"redis://127.0.0.1:{silent.port}/1"
            if scheme == "redis"
            else f"amqp://guest:guest@127.0.0.1:{silent.port}/"
        )
        server = site_server_factory(BROKER_URL=url)
        headers = api_headers(server, uploader)
        answers = upload_many(server, headers, 3)
    finally:
        silent.close()
    assert [status for status, _ in answers] == [201] * 3
    first, *later = [seconds for _, seconds in answers]
    assert first < 10, f"the first upload waited {first:.1f} s for the broker (its timeouts bound it)"
    assert all(seconds < 2 for seconds in later), f"later uploads waited {later} (the relay backs off)"
    assert OutboxMessage.objects.count() == 3


# --- The relay, in this process ------------------------------------------------------------


def test_a_job_reaches_the_broker_only_once_its_rows_commit(
    user, bucket, broker_redis, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        photo = uploaded_photo(owner=user)
        (waiting,) = OutboxMessage.objects.all()
        assert waiting.actor_name == "make_renditions" and waiting.message["args"] == [photo.pk]
        assert broker_redis.hlen("dramatiq:renditions.msgs") == 0
    assert not OutboxMessage.objects.exists()
    (queued,) = broker_redis.hgetall("dramatiq:renditions.msgs").values()
    assert f'"args":[{photo.pk}]' in queued.decode()


def test_a_rolled_back_transaction_leaves_no_job(user, bucket, broker_redis: redis.Redis) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        uploaded_photo(owner=user)
        raise RuntimeError("the request failed after the upload")
    assert not OutboxMessage.objects.exists()
    assert outbox.outbox_relay() == 0
    assert broker_redis.hlen("dramatiq:renditions.msgs") == 0


def test_the_relay_keeps_jobs_while_the_broker_is_down_and_sends_each_once_after(
    user, bucket, broker_redis_server: RedisServer
) -> None:
    uploaded_photo(owner=user)
    uploaded_photo(owner=user)
    assert OutboxMessage.objects.count() == 2
    down = RedisBroker(url=broker_url_with_timeouts(broker_redis_server.url(1)), middleware=[])
    with pytest.raises(outbox.BrokerUnavailable):
        outbox.outbox_relay(broker=down)
    assert OutboxMessage.objects.count() == 2, "nothing is lost while the broker is down"

    broker_redis_server.start()
    assert outbox.outbox_relay(broker=down) == 2
    assert outbox.outbox_relay(broker=down) == 0
    assert not OutboxMessage.objects.exists()
    client = redis.Redis.from_url(broker_redis_server.url(1))
    assert client.llen("dramatiq:renditions") == 2


def test_a_second_job_with_the_same_key_waits_as_one(user, bucket) -> None:
    from apps.photos import services

    photo = uploaded_photo(owner=user)
    services.photo_retry_renditions(photo=photo)
    services.photo_retry_renditions(photo=photo)
    assert OutboxMessage.objects.count() == 1, "a photo's renditions are queued once while they wait"


@pytest.mark.django_db(transaction=True)
def test_two_relays_never_send_the_same_job(broker_redis: redis.Redis) -> None:
    """One relay holds its batch's rows (FOR UPDATE) while it sends; another skips them."""
    from apps.photos.tasks import make_renditions

    message = make_renditions.message(12345)  # a job written by a transaction whose own relay failed
    OutboxMessage.objects.create(queue_name="renditions", actor_name="make_renditions", message=message.asdict())
    holding, release = threading.Event(), threading.Event()

    def other_relay_holding_the_row() -> None:
        from django.db import connection as thread_connection

        try:
            with transaction.atomic():
                list(OutboxMessage.objects.select_for_update(skip_locked=True))
                holding.set()
                release.wait(10)
        finally:
            thread_connection.close()

    thread = threading.Thread(target=other_relay_holding_the_row)
    thread.start()
    try:
        assert holding.wait(10)
        assert outbox.outbox_relay() == 0, "the row another relay holds is skipped, not sent twice"
    finally:
        release.set()
        thread.join()
    assert outbox.outbox_relay() == 1
    assert broker_redis.llen("dramatiq:renditions") == 1
    assert connection.vendor == "postgresql"


def test_jobs_waiting_in_the_outbox_show_on_metrics(client, user, bucket) -> None:
    from tests.photosite.test_metrics import samples

    uploaded_photo(owner=user)  # its transaction has not committed: the job waits
    found = samples(client.get("/metrics").content.decode())
    assert found[("photosite_outbox_waiting", ())] == 1
    assert found[("photosite_outbox_oldest_seconds", ())] >= 0
