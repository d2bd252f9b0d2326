"""The infrastructure's own tables: the job outbox (photosite/outbox.py)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class OutboxMessage(models.Model):
    """A Dramatiq message written in the same transaction as the rows it is about.

    A relay hands it to the broker once that transaction has committed and deletes it
    in the same step, so a job exists exactly when its rows do, and a broker outage
    leaves it here until the broker is back.
    """

    queue_name = models.CharField(max_length=100)
    actor_name = models.CharField(max_length=100)
    # dramatiq.Message.asdict(): the same message id on every relay attempt.
    message = models.JSONField()
    # At most one waiting message per key ("make_renditions:42"): asking twice while the
    # broker is away queues the job once. Null: no such limit.
    dedupe_key = models.CharField(max_length=200, unique=True, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]  # the relay sends in the order the jobs were written

    def __str__(self) -> str:
        return f"{self.actor_name} on {self.queue_name} ({self.pk})"
