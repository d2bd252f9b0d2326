"""Actors for operators."""

import dramatiq
from django.core.management import call_command

from apps.photos.tasks import MAINTENANCE_QUEUE
from photosite.scheduler import periodic


class SentryCheckError(RuntimeError):
    """Raised on purpose so an operator can see error reporting work end to end."""


@dramatiq.actor(max_retries=0)
def sentry_check() -> None:
    raise SentryCheckError("Sentry check from a job: if you can read this in Sentry, jobs report errors.")


@periodic("43 4 * * *")
@dramatiq.actor(queue_name=MAINTENANCE_QUEUE, max_retries=0)
def clear_expired_sessions() -> None:
    """Daily: expired sessions leave the database (the cache lets its own copies expire)."""
    call_command("clearsessions")
