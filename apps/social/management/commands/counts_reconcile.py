"""Repair every denormalized count from the rows it counts, and say how many were wrong.

Counts are kept by the services as things happen; this is the net under them, for what
the services cannot see: rows removed by hand or by a bulk delete, a crash between
systems, a bug. It runs daily from the scheduler (apps/social/tasks.py) and may be run
by hand at any time: it is safe while people like, comment and follow.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.photos.services import listing_counts_reconcile
from apps.social.services import counts_reconcile


class Command(BaseCommand):
    help = "Repair like, comment, follower, following, profile and tag counts from the rows; report what was wrong."

    def handle(self, *args: object, **options: Any) -> None:
        fixed = {**counts_reconcile(), **listing_counts_reconcile()}
        for name, wrong in fixed.items():
            self.stdout.write(f"{name}: {wrong} wrong")
