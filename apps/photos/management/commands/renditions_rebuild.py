"""Re-render photos whose renditions are missing or outdated (after a size or format is added,
or PIPELINE_VERSION is bumped), without taking any photo off the site.

In place: a photo stays ready and listed with its old renditions until its job has made
the new ones, which replace the old rows in one transaction. The old files stay for
PHOTOS_SUPERSEDED_GRACE_SECONDS (a day), for pages made before that still link them; the
hourly sweep_superseded_files removes them after. The photos are scanned in id order, a
batch at a time; at most `--window` jobs are outstanding, so the broker never holds a
million messages and uploads' own queue is untouched (the jobs go to `maintenance`).
Resumable: a photo whose renditions are all of the current pipeline is skipped, so running
it again after a stop continues where the last run got to; `--start-after` skips the ids a
run already looked at.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from tqdm import tqdm

from apps.photos import selectors, services
from apps.photos.imaging import PIPELINE_VERSION
from apps.photos.models import Photo, PhotoStatus

FOLLOW_CHUNK = 500  # outstanding photos checked per query while following


class Command(BaseCommand):
    help = (
        "Re-render, in place and in batches, every photo missing renditions or made by an older pipeline "
        "(queued to the maintenance workers, or with --inline here)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--include-failed", action="store_true", help="retry failed photos too")
        parser.add_argument("--inline", action="store_true", help="render in this process instead of queueing")
        parser.add_argument("--no-wait", action="store_true", help="queue everything and exit without following")
        parser.add_argument("--dry-run", action="store_true", help="only count")
        parser.add_argument("--batch-size", type=int, default=500, help="photos looked at per query (default 500)")
        parser.add_argument(
            "--window", type=int, default=2000, help="at most this many jobs queued and not yet done (default 2000)"
        )
        parser.add_argument("--start-after", type=int, default=0, help="skip photo ids up to this one")
        parser.add_argument(
            "--stall-seconds",
            type=float,
            default=600,
            help="stop following when no queued photo has finished for this long (default 600)",
        )

    def handle(self, *args: object, **options: Any) -> None:  # options: argparse's values
        include_failed = bool(options["include_failed"])
        statuses = [PhotoStatus.READY, PhotoStatus.FAILED] if include_failed else [PhotoStatus.READY]
        candidates = Photo.objects.filter(status__in=statuses, pk__gt=options["start_after"]).count()
        self.stdout.write(f"Pipeline version {PIPELINE_VERSION}: looking at {candidates} photo(s).")
        self.outstanding: deque[int] = deque()
        self.include_failed = include_failed
        found = 0
        after_id: int | None = int(options["start_after"])
        progress = tqdm(total=candidates, desc="rebuilt" if not options["dry_run"] else "checked", unit="photo")
        with progress:
            while after_id is not None:
                needing, last_id = selectors.photos_needing_renditions_scan(
                    include_failed=include_failed, after_id=after_id, limit=int(options["batch_size"])
                )
                scanned = Photo.objects.filter(status__in=statuses, pk__gt=after_id)
                if last_id is not None:
                    scanned = scanned.filter(pk__lte=last_id)
                found += len(needing)
                if options["dry_run"]:
                    progress.update(scanned.count())
                elif options["inline"]:
                    progress.update(scanned.count() - len(needing))  # already current
                    for photo_id in needing:
                        services.rendition_make_all(photo_id=photo_id)
                        progress.update(1)
                else:
                    progress.update(scanned.count() - len(needing))
                    services.photos_queue_rebuild(photo_ids=needing)
                    self.outstanding.extend(needing)
                    if not options["no_wait"]:
                        self._follow(progress, keep=int(options["window"]), stall=float(options["stall_seconds"]))
                after_id = last_id
                progress.set_postfix_str(f"last id {after_id or 'end'}", refresh=False)
            if options["dry_run"] or options["no_wait"] or options["inline"]:
                self.stdout.write(f"{found} photo(s) need renditions.")
                return
            self._follow(progress, keep=0, stall=float(options["stall_seconds"]))
        left = len(self.outstanding)
        if left:
            self.stdout.write(
                self.style.WARNING(
                    f"{found - left} of {found} photo(s) re-rendered; {left} still waiting (first id "
                    f"{self.outstanding[0]}). Their jobs stay queued; run this again to follow or continue."
                )
            )
        else:
            self.stdout.write(self.style.SUCCESS(f"Done: {found} photo(s) re-rendered in place."))

    def _follow(self, progress: Any, *, keep: int, stall: float) -> None:  # a tqdm bar (untyped)
        """Wait until at most `keep` queued photos are still unfinished (or nothing finished
        for `stall` seconds), advancing the bar as the workers finish them."""
        last_change = time.monotonic()
        while len(self.outstanding) > keep:
            chunk = [self.outstanding[index] for index in range(min(FOLLOW_CHUNK, len(self.outstanding)))]
            unfinished, _ = selectors.photos_needing_renditions_scan(
                include_failed=self.include_failed, photo_ids=chunk, limit=len(chunk)
            )
            waiting = set(unfinished)
            finished = [photo_id for photo_id in chunk if photo_id not in waiting]
            if finished:
                for _ in chunk:
                    self.outstanding.popleft()
                self.outstanding.extendleft(reversed([photo_id for photo_id in chunk if photo_id in waiting]))
                progress.update(len(finished))
                last_change = time.monotonic()
                continue
            if time.monotonic() - last_change > stall:
                return
            time.sleep(0.5)
