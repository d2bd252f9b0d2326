"""Periodic jobs, from one scheduler however many hosts run one (dramatiq-crontab).

Apps mark an actor with `@periodic("*/5 * * * *")` in their tasks.py; `manage.py
crontab --no-heartbeat` (compose/production/django/start-scheduler, `make stack`) loads
every app's tasks and sends each actor on its schedule. Every host may run a scheduler:
they share a lock in Redis (DRAMATIQ_CRONTAB's REDIS_URL, settings.py), only its holder
sends, and it renews the lock every 5 s; if it dies, the lock lapses after 10 s and a
waiting scheduler takes over. Each tick is sent once; the jobs are idempotent anyway.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import dramatiq
from dramatiq_crontab import cron

ActorT = TypeVar("ActorT", bound=dramatiq.Actor[..., Any])


def periodic(schedule: str) -> Callable[[ActorT], ActorT]:
    """Send the decorated actor on a crontab `schedule` (UTC; days of the week by name)."""

    def register(actor: ActorT) -> ActorT:
        cron(schedule)(actor)  # type: ignore[no-untyped-call]  # dramatiq-crontab is unannotated
        return actor

    return register
