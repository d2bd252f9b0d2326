"""The task broker seam: which Dramatiq broker runs, chosen by BROKER_URL.

- unset: embedded mode. An in-memory broker whose worker thread lives inside the
  web (or management-command) process and starts on the first enqueue.
- redis://...: RedisBroker, consumed by `manage.py rundramatiq` worker processes.
- amqp://...: RabbitmqBroker, likewise.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from dramatiq import Message, Worker
from dramatiq.brokers.stub import StubBroker

logger = logging.getLogger(__name__)

MIDDLEWARE = [
    "dramatiq.middleware.AgeLimit",
    "dramatiq.middleware.TimeLimit",
    "dramatiq.middleware.ShutdownNotifications",
    "dramatiq.middleware.Callbacks",
    "dramatiq.middleware.Pipelines",
    "dramatiq.middleware.Retries",
    # Closes the worker thread's stale DB connections around every message.
    "django_dramatiq.middleware.DbConnectionsMiddleware",
    # The sender's request id rides in each message and tags the job's log lines.
    "photosite.requestlog.RequestIdInJobs",
]


def dramatiq_broker_config(
    url: str, *, heartbeat_timeout_ms: int = 60_000, maintenance_chance: int = 1000
) -> dict[str, Any]:
    """The DRAMATIQ_BROKER setting that django_dramatiq turns into the process's broker.

    On Redis, a job whose worker died (SIGKILL, OOM, a lost box) is handed to another
    worker once the dead one has missed heartbeats for `heartbeat_timeout_ms`; the
    check runs on `maintenance_chance` in a million broker commands.
    """
    if not url:
        broker, options = "photosite.broker.EmbeddedBroker", {}
    elif url.startswith(("redis://", "rediss://", "unix://")):
        broker = "dramatiq.brokers.redis.RedisBroker"
        options = {"url": url, "heartbeat_timeout": heartbeat_timeout_ms, "maintenance_chance": maintenance_chance}
    elif url.startswith(("amqp://", "amqps://")):
        broker, options = "dramatiq.brokers.rabbitmq.RabbitmqBroker", {"url": url}
    else:
        raise ValueError(f"BROKER_URL must start with redis:// or amqp://, not {url.split(':')[0]}:")
    return {"BROKER": broker, "OPTIONS": options, "MIDDLEWARE": MIDDLEWARE}


class EmbeddedBroker(StubBroker):
    """An in-memory broker that runs its own worker thread inside this process.

    Jobs are lost if the process exits before they run; `photo_requeue_unfinished`
    re-enqueues such photos when the worker starts, so a restart leaves none stuck.
    """

    worker_threads = 2

    def __init__(self, middleware: list[Any] | None = None) -> None:
        # fail_fast off: a failing job is the job's business (it marks its photo failed),
        # not a reason for join() to raise in whoever waits.
        super().__init__(middleware=middleware, fail_fast_default=False)
        self._worker: Worker | None = None
        self._worker_lock = threading.Lock()

    def enqueue(self, message: Message[Any], *, delay: int | None = None) -> Message[Any]:
        enqueued = super().enqueue(message, delay=delay)
        self.ensure_worker()
        return enqueued

    def ensure_worker(self) -> None:
        with self._worker_lock:
            if self._worker is not None:
                return
            self._worker = Worker(self, worker_threads=self.worker_threads, worker_timeout=100)
            self._worker.start()
        logger.info("embedded dramatiq worker started with %d threads", self.worker_threads)
        from apps.photos.services import photo_requeue_unfinished

        threading.Thread(target=photo_requeue_unfinished, name="requeue-unfinished", daemon=True).start()

    def wait_until_idle(self, timeout_ms: int = 120_000) -> None:
        """Block until every declared queue is empty and its jobs are done (seed, tests)."""
        for queue_name in list(self.queues):
            if not queue_name.endswith((".DQ", ".XQ")):
                self.join(queue_name, timeout=timeout_ms)
        if self._worker is not None:
            self._worker.join()
