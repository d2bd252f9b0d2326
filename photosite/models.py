"""The infrastructure's own tables: the job outbox (photosite/outbox.py) and sharded counters
(photosite/counters.py)."""

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


class Counter(models.Model):
    """One shard of a count kept apart from the row it counts (photosite/counters.py).

    A count is the sum of its shards. Each change adds to one shard picked at random,
    so concurrent likes of one photo lock different rows instead of queueing on the
    photo's own row (bench/likes.py: 16 shards, 4x the likes/s of the photo row).
    """

    pk = models.CompositePrimaryKey("name", "object_id", "shard")
    name = models.CharField(max_length=40)  # what is counted: "photo.likes", "user.followers", ...
    object_id = models.BigIntegerField()
    shard = models.SmallIntegerField()
    value = models.BigIntegerField(default=0)
    # Lets the snapshot job find counts that moved lately without reading every counter.
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["changed_at"], name="counter_changed_idx")]

    def __str__(self) -> str:
        return f"{self.name}[{self.object_id}/{self.shard}] = {self.value}"
