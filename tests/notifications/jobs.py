"""Running the notification jobs a test's writes queued, as a worker would (without one).

Outside a transactional test nothing commits, so the outbox keeps each job its transaction
wrote; this runs those fan-out jobs through the actor's own function and removes them, the
way the relay and a worker would. tests/notifications/test_workers.py runs the real thing.
"""

from __future__ import annotations

from apps.notifications.tasks import fan_out
from photosite.models import OutboxMessage


def run_queued_notifications() -> int:
    """Run every waiting fan-out job, oldest first; returns how many ran."""
    ran = 0
    for row in OutboxMessage.objects.filter(actor_name=fan_out.actor_name).order_by("id"):
        fan_out.fn(*row.message["args"], **row.message["kwargs"])
        row.delete()
        ran += 1
    return ran
