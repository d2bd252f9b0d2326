"""Copy the counts that moved in the last minutes onto the photo and person rows (what
lists, exports and people search read). The scheduler runs it every minute."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from apps.social.services import SNAPSHOT_OVERLAP, counts_snapshot


class Command(BaseCommand):
    help = "Copy counts that moved lately (or, with --all, every count) onto Photo and User."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--all", action="store_true", help="every count, not only those that moved lately")

    def handle(self, *args: object, **options: Any) -> None:
        since = None if options["all"] else timezone.now() - SNAPSHOT_OVERLAP
        self.stdout.write(f"{counts_snapshot(since=since)} copies updated")
