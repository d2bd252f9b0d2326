"""Actors for operators."""

import dramatiq


class SentryCheckError(RuntimeError):
    """Raised on purpose so an operator can see error reporting work end to end."""


@dramatiq.actor(max_retries=0)
def sentry_check() -> None:
    raise SentryCheckError("Sentry check from a job: if you can read this in Sentry, jobs report errors.")
