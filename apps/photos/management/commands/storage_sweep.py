"""Find stored objects with no row and rows with no object; report, then (with --delete) mend.

Run it periodically (cron, a Kubernetes CronJob): deletes are done by jobs, and a
job that never ran, or an upload that died between storing and committing, leaves
an orphan behind.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from apps.accounts.models import User
from apps.photos import services
from apps.photos.models import Photo, Rendition
from photosite.storage import AVATAR_PREFIX, PRIVATE_PREFIX, PUBLIC_PREFIX, object_delete, object_list

# Objects younger than this may belong to an upload or a job still committing its row.
DEFAULT_GRACE_MINUTES = 60


class Command(BaseCommand):
    help = "Report orphaned objects and rows without objects; --delete removes the orphans and mends the rows."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--delete", action="store_true", help="remove orphans and mend rows (default: report)")
        parser.add_argument("--grace-minutes", type=int, default=DEFAULT_GRACE_MINUTES)

    def handle(self, *args: object, **options: Any) -> None:  # options: argparse's values, as BaseCommand types them
        cutoff = timezone.now() - timedelta(minutes=int(options["grace_minutes"]))
        known = (
            set(Photo.objects.values_list("original", flat=True))
            | set(Rendition.objects.values_list("file", flat=True))
            | set(User.objects.exclude(avatar_key="").values_list("avatar_key", flat=True))
        )
        stored: set[str] = set()
        orphans: list[str] = []
        prefixes = (
            f"{PRIVATE_PREFIX}originals/",
            f"{PRIVATE_PREFIX}renditions/",
            f"{PUBLIC_PREFIX}renditions/",
            AVATAR_PREFIX,  # replaced pictures whose cleanup job never ran
            f"{PRIVATE_PREFIX}incoming/",  # direct uploads whose browser never said it was done
        )
        for prefix in prefixes:
            for key, modified_at in object_list(prefix):
                stored.add(key)
                if key not in known and modified_at < cutoff:
                    orphans.append(key)
        missing_originals = list(
            Photo.objects.exclude(original__in=stored).filter(created_at__lt=cutoff).values_list("pk", flat=True)
        )
        missing_renditions = list(
            Rendition.objects.exclude(file__in=stored).filter(created_at__lt=cutoff).values_list("pk", "photo_id")
        )
        self.stdout.write(f"Orphaned objects (no row): {len(orphans)}")
        for key in orphans:
            self.stdout.write(f"  {key}")
        self.stdout.write(f"Photos whose original is missing: {len(missing_originals)} {missing_originals or ''}")
        self.stdout.write(f"Renditions whose file is missing: {len(missing_renditions)}")
        if not options["delete"]:
            if orphans or missing_originals or missing_renditions:
                self.stdout.write("Report only; run again with --delete to remove orphans and mend rows.")
            return
        for key in orphans:
            object_delete(key)
        # Photos whose original is gone are only reported: their renditions may still
        # show, and deciding about a person's photo is for an operator, not a sweep.
        photo_ids = sorted({photo_id for _, photo_id in missing_renditions})
        Rendition.objects.filter(pk__in=[pk for pk, _ in missing_renditions]).delete()
        for photo_id in photo_ids:
            services.photo_retry_renditions(photo=Photo.objects.get(pk=photo_id))
        self.stdout.write(
            self.style.SUCCESS(f"Removed {len(orphans)} orphan(s); queued {len(photo_ids)} photo(s) to render again.")
        )
