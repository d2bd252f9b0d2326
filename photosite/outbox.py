"""The job outbox: jobs are written in the same transaction as the rows they are about.

`outbox_enqueue` inserts the Dramatiq message into `photosite.OutboxMessage` instead of
sending it. Once the transaction commits, the same process tries to relay it at once
(so a job normally reaches the broker within milliseconds of its commit); if the broker
is down, the message simply stays, and every worker process relays what is waiting once
a second (`photosite.broker.OutboxRelay`), so the job reaches the broker once it is back.
A rolled-back transaction leaves no job; a committed one always gets its job.

Several relays may run at once (every worker process, every web process after its own
commits): each takes its batch with SELECT ... FOR UPDATE SKIP LOCKED and deletes what
it sent in the same transaction, so no two relays send the same row. A relay that dies
between sending and committing sends that batch again later: the actors are idempotent,
so at-least-once delivery is enough.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import dramatiq
from django.db import IntegrityError, close_old_connections, transaction
from django.db.models import Count, Min
from django.utils import timezone
from dramatiq import Message

from photosite.models import OutboxMessage
from photosite.requestlog import current_request_id

logger = logging.getLogger(__name__)

RELAY_BATCH = 200
# After a failed relay, this process leaves waiting jobs to the background relays for
# this long: with the broker away, only one request per web process per period pays
# for finding out (at most the broker's connect or socket timeout).
RELAY_PAUSE_AFTER_FAILURE_SECONDS = 10.0

_paused_until = 0.0
_pause_lock = threading.Lock()


class BrokerUnavailable(Exception):
    """The broker refused or timed out; the jobs stay in the outbox."""


def outbox_enqueue(
    actor: dramatiq.Actor[..., Any],
    *,
    args: Sequence[Any] = (),
    kwargs: dict[str, Any] | None = None,
    dedupe_key: str | None = None,
) -> None:
    """Queue `actor(*args, **kwargs)` as part of the current transaction.

    Call inside the transaction that writes the rows the job is about (outside one, the
    job is written at once). With `dedupe_key`, a job with the same key that is still
    waiting in the outbox makes this one a no-op.
    """
    message = actor.message_with_options(args=tuple(args), kwargs=kwargs or {})
    request_id = current_request_id()
    if request_id:  # the relay may run in another process: the request id travels in the row
        message.options["request_id"] = request_id
    try:
        # A savepoint: a duplicate key must not break the caller's transaction.
        with transaction.atomic():
            row = OutboxMessage.objects.create(
                queue_name=message.queue_name,
                actor_name=message.actor_name,
                message=message.asdict(),
                dedupe_key=dedupe_key,
            )
    except IntegrityError:
        if dedupe_key is None:
            raise
        # The same job already waits: it runs once, and asking again nudges it to the broker.
        waiting = OutboxMessage.objects.filter(dedupe_key=dedupe_key).values_list("pk", flat=True).first()
        if waiting is not None:
            transaction.on_commit(lambda: outbox_relay_after_commit(ids=[waiting]))
        return
    transaction.on_commit(lambda: outbox_relay_after_commit(ids=[row.pk]))


def outbox_relay_after_commit(*, ids: list[int]) -> None:
    """Relay the jobs a transaction just committed, unless the broker failed very recently.

    Never raises: the commit has happened, and the background relays will send whatever
    is left.
    """
    global _paused_until
    if time.monotonic() < _paused_until:
        return
    try:
        outbox_relay(ids=ids)
    except Exception as error:
        with _pause_lock:
            _paused_until = time.monotonic() + RELAY_PAUSE_AFTER_FAILURE_SECONDS
        logger.warning("jobs wait in the outbox: the broker is unavailable (%s)", error)


def outbox_relay(
    *, broker: dramatiq.Broker | None = None, ids: list[int] | None = None, limit: int = RELAY_BATCH
) -> int:
    """Send up to `limit` waiting jobs (only those in `ids`, if given); returns how many were sent.

    Raises BrokerUnavailable if the broker failed; the jobs sent before the failure are
    deleted, the rest stay.
    """
    broker = broker or dramatiq.get_broker()
    failure: Exception | None = None
    with transaction.atomic():
        waiting = OutboxMessage.objects.select_for_update(skip_locked=True).order_by("id")
        if ids is not None:
            waiting = waiting.filter(pk__in=ids)
        sent = []
        for row in waiting[:limit]:
            try:
                broker.enqueue(Message(**row.message))
            except Exception as error:  # any client's connection or timeout error
                failure = error
                break
            sent.append(row.pk)
        OutboxMessage.objects.filter(pk__in=sent).delete()
    if failure is not None:
        raise BrokerUnavailable(str(failure) or type(failure).__name__) from failure
    return len(sent)


def outbox_relay_all(*, broker: dramatiq.Broker | None = None) -> int:
    """Relay batch after batch until nothing waits; returns how many were sent."""
    total = 0
    while True:
        sent = outbox_relay(broker=broker)
        total += sent
        if sent < RELAY_BATCH:
            return total


def outbox_relay_forever(*, stop: threading.Event, interval: float = 1.0) -> None:
    """The background relay of a worker process: drain the outbox every `interval` seconds."""
    last_warning = 0.0
    while not stop.is_set():
        try:
            close_old_connections()
            outbox_relay_all()
        except Exception as error:  # broker or database away: try again next time
            if time.monotonic() - last_warning > 60:
                logger.warning("outbox relay: jobs wait (%s)", error)
                last_warning = time.monotonic()
        finally:
            close_old_connections()
        stop.wait(interval)


def outbox_stats() -> dict[str, Any]:
    """Jobs waiting in the outbox and the age of the oldest, for the dashboard and /metrics."""
    figures = OutboxMessage.objects.aggregate(waiting=Count("id"), oldest=Min("created_at"))
    age = (timezone.now() - figures["oldest"]) if figures["oldest"] is not None else timedelta(0)
    return {"waiting": figures["waiting"], "oldest_seconds": round(age.total_seconds(), 1)}
