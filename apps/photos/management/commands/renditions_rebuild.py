"""Re-render photos whose renditions are missing or outdated (after a size or format is added)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from apps.photos import selectors, services
from apps.photos.models import Photo, PhotoStatus
from apps.photos.tasks import rebuild_renditions


class Command(BaseCommand):
    help = "Queue (or, with --inline, make) renditions for every photo missing some or made by an older pipeline."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--include-failed", action="store_true", help="retry failed photos too")
        parser.add_argument("--inline", action="store_true", help="render in this process instead of queueing")
        parser.add_argument("--no-wait", action="store_true", help="queue and exit without following progress")
        parser.add_argument("--dry-run", action="store_true", help="only count")

    def handle(self, *args: object, **options: object) -> None:
        photo_ids = selectors.photo_ids_needing_renditions(include_failed=bool(options["include_failed"]))
        self.stdout.write(f"{len(photo_ids)} photo(s) need renditions.")
        if options["dry_run"] or not photo_ids:
            return
        if options["inline"]:
            for photo_id in tqdm(photo_ids, desc="rendering", unit="photo"):
                services.rendition_make_all(photo_id=photo_id)
            return
        # Mark them processing so the pages say so, then hand them to the workers.
        services.photos_mark_processing(photo_ids=photo_ids)
        for photo_id in tqdm(photo_ids, desc="queueing", unit="photo"):
            rebuild_renditions.send(photo_id)  # the maintenance queue: uploads never wait behind it
        if options["no_wait"]:
            return
        with tqdm(total=len(photo_ids), desc="rendered by workers", unit="photo") as progress:
            done = 0
            while done < len(photo_ids):
                now_done = Photo.objects.filter(pk__in=photo_ids).exclude(status=PhotoStatus.PROCESSING).count()
                progress.update(now_done - done)
                done = now_done
                time.sleep(0.5)
        failed = Photo.objects.filter(pk__in=photo_ids, status=PhotoStatus.FAILED).count()
        self.stdout.write(f"Done: {len(photo_ids) - failed} rendered, {failed} failed.")
