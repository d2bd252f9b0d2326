"""The task broker seam: which Dramatiq broker runs, chosen by BROKER_URL.

- unset: embedded mode. An in-memory broker whose worker thread lives inside the
  web (or management-command) process and starts on the first enqueue.
- redis://...: RedisBroker, consumed by `manage.py rundramatiq` worker processes.
- amqp://...: RabbitmqBroker, likewise.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from dramatiq import Message, Middleware, Worker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker

logger = logging.getLogger(__name__)

# Called in a thread when the embedded worker starts, with the time it started; apps
# register them in AppConfig.ready() (photosite/ never imports an app).
_embedded_start_hooks: list[Callable[[datetime], object]] = []
PROCESS_STARTED = datetime.now(tz=UTC)


def embedded_worker_start_hook_register(hook: Callable[[datetime], object]) -> None:
    """Run `hook(started)` whenever an embedded worker starts, e.g. to re-queue work a restart lost."""
    if hook not in _embedded_start_hooks:
        _embedded_start_hooks.append(hook)


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
    "photosite.broker.EnqueueTime",
    "photosite.broker.WorkerHeartbeat",
    "photosite.broker.OutboxRelay",
    "photosite.broker.RedisRedelivery",
]


def broker_url_with_timeouts(url: str, *, connect_timeout: float = 2.0, socket_timeout: float = 5.0) -> str:
    """The broker URL with connect and socket timeouts its client reads from the query string.

    Without them a broker that silently drops packets hangs whoever talks to it (a web
    request relaying its jobs, a worker) for the kernel's TCP timeout. Parameters already
    in the URL win.
    """
    parts = urlsplit(url)
    if parts.scheme in ("redis", "rediss", "unix"):
        defaults = {
            "socket_connect_timeout": connect_timeout,
            "socket_timeout": socket_timeout,
            "health_check_interval": 30,  # a PING before reusing a connection idle this long
        }
    elif parts.scheme in ("amqp", "amqps"):
        defaults = {
            "socket_timeout": connect_timeout,  # pika: the TCP connect
            "stack_timeout": socket_timeout,  # pika: the whole AMQP handshake
            "blocked_connection_timeout": socket_timeout,  # RabbitMQ blocks publishers when out of memory
        }
    else:
        return url
    query = dict(parse_qsl(parts.query))
    for name, value in defaults.items():
        query.setdefault(name, str(value))
    return urlunsplit(parts._replace(query=urlencode(query)))


def dramatiq_broker_config(
    url: str,
    *,
    heartbeat_timeout_ms: int = 5_000,
    maintenance_chance: int = 1000,
    connect_timeout: float = 2.0,
    socket_timeout: float = 5.0,
) -> dict[str, Any]:
    """The DRAMATIQ_BROKER setting that django_dramatiq turns into the process's broker.

    On Redis, a job whose worker died (SIGKILL, OOM, a lost box) is handed to another
    worker once the dead one has missed heartbeats for `heartbeat_timeout_ms`; the
    check runs on `maintenance_chance` in a million broker commands.
    """
    if not url:
        broker, options = "photosite.broker.EmbeddedBroker", {}
    else:
        timed = broker_url_with_timeouts(url, connect_timeout=connect_timeout, socket_timeout=socket_timeout)
        if url.startswith(("redis://", "rediss://", "unix://")):
            broker = "dramatiq.brokers.redis.RedisBroker"
            options = {
                "url": timed,
                "heartbeat_timeout": heartbeat_timeout_ms,
                "maintenance_chance": maintenance_chance,
            }
        elif url.startswith(("amqp://", "amqps://")):
            # Publisher confirms: the outbox deletes a job only once RabbitMQ has it.
            broker, options = "dramatiq.brokers.rabbitmq.RabbitmqBroker", {"url": timed, "confirm_delivery": True}
        else:
            raise ValueError(f"BROKER_URL must start with redis:// or amqp://, not {url.split(':')[0]}:")
    return {"BROKER": broker, "OPTIONS": options, "MIDDLEWARE": MIDDLEWARE}


def scheduler_lock_url(*, broker_url: str, redis_url: str) -> str | None:
    """Where the periodic-job schedulers' lock lives (photosite/scheduler.py): the broker's
    Redis (noeviction, never flushed by a cache clear), else the cache's. None: no Redis,
    so run exactly one scheduler."""
    if broker_url.startswith(("redis://", "rediss://", "unix://")):
        return broker_url
    return redis_url or None


class EmbeddedBroker(StubBroker):
    """An in-memory broker that runs its own worker thread inside this process.

    Jobs are lost if the process exits before they run; the start hooks apps register
    (photos re-queues its unfinished renditions) pick such work up again when the
    worker starts, so a restart leaves none stuck.
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
        # Only work left over from before this process: whatever was enqueued since
        # (including the job that started this worker) is already in the queue.
        for hook in _embedded_start_hooks:
            threading.Thread(target=hook, args=(PROCESS_STARTED,), name="embedded-worker-start", daemon=True).start()

    def wait_until_idle(self, timeout_ms: int = 120_000) -> None:
        """Block until every declared queue is empty and its jobs are done (seed, tests)."""
        for queue_name in list(self.queues):
            if not queue_name.endswith((".DQ", ".XQ")):
                self.join(queue_name, timeout=timeout_ms)
        if self._worker is not None:
            self._worker.join()


# Message option: when the message last entered a queue, in Unix milliseconds.
ENQUEUED_AT_OPTION = "photosite_enqueued_at"


class EnqueueTime(Middleware):
    """Stamps every message with the time it enters a queue, for the age of the oldest job.

    Dramatiq's own message_timestamp is when the job was first sent: a retry moved back
    from the delay queue after minutes of backoff keeps it, and would look as if it had
    waited all that time. A delayed job is stamped again when its eta passes and a
    worker moves it to the queue, as that enqueues it once more.
    """

    def before_enqueue(self, broker: Any, message: Message[Any], delay: int | None) -> None:
        message.options[ENQUEUED_AT_OPTION] = int(time.time() * 1000)


def _seconds_waited(encoded: bytes | None, now_ms: int) -> float:
    """How long an encoded message has been in its queue; 0 if it has just left it."""
    if encoded is None:  # an empty queue, or taken by a worker between the two reads
        return 0.0
    message = Message.decode(encoded)
    enqueued_at: int = message.options.get(ENQUEUED_AT_OPTION, message.message_timestamp)
    return max(0.0, (now_ms - enqueued_at) / 1000)  # clocks of two hosts may disagree a little


WORKER_KEY = "photosite-workers"
WORKER_HEARTBEAT_SECONDS = 10


class WorkerHeartbeat(Middleware):
    """Each worker process keeps a short-lived key in Redis, so operators can count live workers."""

    def after_worker_boot(self, broker: Any, worker: Any) -> None:
        client = getattr(broker, "client", None)
        if client is None:
            return
        import os
        import socket

        key = f"{broker.namespace}:{WORKER_KEY}:{socket.gethostname()}:{os.getpid()}"
        self._stop = threading.Event()
        self._key, self._client = key, client

        def beat() -> None:
            while not self._stop.is_set():
                try:
                    client.set(key, int(time.time()), ex=3 * WORKER_HEARTBEAT_SECONDS)
                except Exception:  # Redis away for a moment: the next beat tries again
                    logger.warning("worker heartbeat could not be written", exc_info=True)
                self._stop.wait(WORKER_HEARTBEAT_SECONDS)

        threading.Thread(target=beat, name="photosite-worker-heartbeat", daemon=True).start()

    def before_worker_shutdown(self, broker: Any, worker: Any) -> None:
        stop = getattr(self, "_stop", None)
        if stop is not None:
            stop.set()
            try:  # leave the count now rather than when the key expires
                self._client.delete(self._key)
            except Exception:
                logger.warning("worker heartbeat key could not be removed", exc_info=True)


class RedisRedelivery(Middleware):
    """On Redis, every worker process hands dead workers' jobs back to their queues once a second.

    Dramatiq's Redis broker does this "maintenance" only on a random `maintenance_chance`
    in a million of its commands, and only for the queue that command names, so a killed
    worker's job came back after a minute or never. Here each worker runs it for every
    queue each `interval`, from a thread that shares the worker's broker id: that also
    beats for the process while all its threads are busy rendering, so a live worker is
    never taken for dead. A job then waits at most BROKER_HEARTBEAT_TIMEOUT_MS plus a
    second after its worker dies.
    """

    interval = 1.0

    def after_worker_boot(self, broker: Any, worker: Any) -> None:
        if not isinstance(broker, RedisBroker):
            return  # RabbitMQ requeues a dead consumer's unacknowledged messages itself
        sweeper = RedisBroker(  # type: ignore[no-untyped-call]  # dramatiq's __init__ is unannotated
            client=broker.client,
            namespace=broker.namespace,
            heartbeat_timeout=broker.heartbeat_timeout,
            dead_message_ttl=broker.dead_message_ttl,
            maintenance_chance=1_000_000,  # every command it sends
            middleware=[],
        )
        sweeper.broker_id = broker.broker_id
        self._stop = stop = threading.Event()

        def sweep() -> None:
            last_warning = 0.0
            while not stop.is_set():
                for queue in sorted(broker.get_declared_queues() | broker.get_declared_delay_queues()):
                    try:
                        sweeper.do_qsize(queue)  # any command; the maintenance rides on it
                    except Exception:  # Redis away: the consumers say so too; try again next time
                        if time.monotonic() - last_warning > 60:
                            logger.warning("could not look for dead workers' jobs", exc_info=True)
                            last_warning = time.monotonic()
                        break
                stop.wait(self.interval)

        threading.Thread(target=sweep, name="photosite-redis-redelivery", daemon=True).start()

    def before_worker_shutdown(self, broker: Any, worker: Any) -> None:
        stop = getattr(self, "_stop", None)
        if stop is not None:
            stop.set()


class OutboxRelay(Middleware):
    """Each worker process relays the job outbox once a second (photosite/outbox.py), so jobs
    written while the broker was away reach it once it is back, with no other process to run."""

    def after_worker_boot(self, broker: Any, worker: Any) -> None:
        # Imported here: this middleware is built with the broker, before models load.
        from photosite.outbox import outbox_relay_forever

        self._stop = threading.Event()
        threading.Thread(
            target=outbox_relay_forever, kwargs={"stop": self._stop}, name="photosite-outbox-relay", daemon=True
        ).start()

    def before_worker_shutdown(self, broker: Any, worker: Any) -> None:
        stop = getattr(self, "_stop", None)
        if stop is not None:
            stop.set()


def queue_stats() -> dict[str, Any]:
    """Queue depth per state, live workers, and how long each queue's next job has waited
    (`oldest_waiting_seconds`, 0 for an empty queue), read from the broker (Redis or embedded).

    The next job is the one a worker takes next, the oldest in its queue but for one a dead
    worker held, which goes back to the end. RabbitMQ is not read here: its management
    plugin or rabbitmq_prometheus shows its depth, and no cheap read shows a message's age.
    """
    import dramatiq

    # Imported here: this module is imported by settings, before models load.
    from photosite.outbox import outbox_stats

    broker = dramatiq.get_broker()
    queues = sorted(name for name in broker.get_declared_queues() if not name.endswith((".DQ", ".XQ")))
    # Jobs committed but not yet in the broker: they pile up here while it is away.
    stats: dict[str, Any] = {"queues": {}, "oldest_waiting_seconds": {}, "workers": None, "outbox": outbox_stats()}
    now_ms = int(time.time() * 1000)
    if isinstance(broker, RedisBroker):  # the keys dramatiq's dispatch script maintains
        client, namespace = broker.client, broker.namespace
        for queue in queues:
            in_progress = sum(client.scard(key) for key in client.scan_iter(f"{namespace}:__acks__.*.{queue}"))
            stats["queues"][queue] = {
                "waiting": client.llen(f"{namespace}:{queue}"),
                "delayed": client.hlen(f"{namespace}:{queue}.DQ.msgs"),
                "dead": client.zcard(f"{namespace}:{queue}.XQ"),
                "in_progress": in_progress,
            }
            # Workers pop from the left; the message itself is in the queue's hash.
            head = client.lindex(f"{namespace}:{queue}", 0)
            encoded = cast(bytes | None, client.hget(f"{namespace}:{queue}.msgs", head) if head else None)
            stats["oldest_waiting_seconds"][queue] = _seconds_waited(encoded, now_ms)
        # Dramatiq's own heartbeats also count processes that only enqueue; ours are workers only.
        stats["workers"] = sum(1 for _ in client.scan_iter(f"{namespace}:{WORKER_KEY}:*"))
    elif isinstance(broker, StubBroker):
        for queue in queues:
            stats["queues"][queue] = {
                "waiting": broker.queues[queue].qsize(),
                "delayed": broker.queues[f"{queue}.DQ"].qsize() if f"{queue}.DQ" in broker.queues else 0,
                "dead": len(broker.dead_letters_by_queue.get(queue, [])),
                "in_progress": 0,
            }
            try:  # a peek at the next message, without taking the queue's lock
                head = broker.queues[queue].queue[0]
            except IndexError:
                head = None
            stats["oldest_waiting_seconds"][queue] = _seconds_waited(head, now_ms)
        stats["workers"] = None  # the in-process worker, started by the first job
    return stats
