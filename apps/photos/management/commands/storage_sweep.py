"""Find stored objects with no row and rows with no object; report, then (with --delete) mend.

Run it periodically (the scheduler does, daily): deletes are done by jobs, and a job
that never ran, or an upload that died between storing and committing, leaves an orphan
behind.

Bounded memory at any bucket size: nothing holds the whole bucket or the whole table.
The bucket is listed page by page, in key order, and merged with the photos read in the
same order a window at a time: a photo's objects are named after its random key
(`private/originals/<key>.<ext>`, `<public|private>/renditions/<key>/...`), so the objects
of the next 500 photos by key are the next stretch of each listing. Objects in that
stretch that no row of the window names are orphans; rows of the window whose object
is not in it are missing. People's pictures are looked up a listing page at a time, and
abandoned direct uploads need no lookup (S3 also expires them: storage_init).

Files a re-render superseded are not orphans while they wait for their grace period
(SupersededFile, looked up a listing page of candidates at a time): pages may still link
them. With --delete, those past it are removed first, as the hourly job does.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from apps.accounts.models import User
from apps.photos import services
from apps.photos.models import Photo, Rendition, SupersededFile
from photosite.storage import (
    AVATAR_PREFIX,
    PRIVATE_PREFIX,
    PUBLIC_PREFIX,
    object_delete,
    object_exists,
    object_list,
)

# Objects younger than this may belong to an upload or a job still committing its row.
DEFAULT_GRACE_MINUTES = 60
PHOTO_WINDOW = 500  # photos (and their renditions) held at once
PAGE = 1000  # keys held at once from a listing (S3's page)

ORIGINALS = f"{PRIVATE_PREFIX}originals/"
RENDITION_PREFIXES = (f"{PUBLIC_PREFIX}renditions/", f"{PRIVATE_PREFIX}renditions/")
INCOMING = f"{PRIVATE_PREFIX}incoming/"


class Listing:
    """One prefix's objects in key order, taken a stretch at a time (one S3 page in memory)."""

    def __init__(self, prefix: str, separator: str) -> None:
        self.prefix = prefix
        # What follows a photo's key in its objects' keys: "." (an original's extension) or
        # "/" (a renditions folder). Every key of photo K sorts below prefix + K + the next
        # character, and every key of a greater photo key above it.
        self.after = chr(ord(separator) + 1)
        self.objects: Iterator[tuple[str, datetime]] = object_list(prefix, page_size=PAGE)
        self.head = next(self.objects, None)

    def take_through(self, photo_key: str | None) -> Iterator[tuple[str, datetime]]:
        """The objects up to and including photo `photo_key`'s (to the end with None)."""
        bound = None if photo_key is None else self.prefix + photo_key + self.after
        while self.head is not None and (bound is None or self.head[0] < bound):
            yield self.head
            self.head = next(self.objects, None)


class Command(BaseCommand):
    help = "Report orphaned objects and rows without objects; --delete removes the orphans and mends the rows."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--delete", action="store_true", help="remove orphans and mend rows (default: report)")
        parser.add_argument("--grace-minutes", type=int, default=DEFAULT_GRACE_MINUTES)

    def handle(self, *args: object, **options: Any) -> None:  # options: argparse's values, as BaseCommand types them
        self.cutoff = timezone.now() - timedelta(minutes=int(options["grace_minutes"]))
        self.delete = bool(options["delete"])
        self.orphans = 0
        self.missing_originals: list[int] = []  # reported, never acted on: ids only, few
        self.missing_renditions = 0
        self.requeued = 0
        self.superseded_waiting = 0
        if self.delete:
            swept = services.superseded_files_sweep()
            self.stdout.write(f"Superseded files past their grace period, removed: {swept}")
        self.stdout.write("Orphaned objects (no row), as found:")
        self._sweep_photos()
        self._sweep_avatars()
        for key, modified_at in object_list(
            INCOMING, page_size=PAGE
        ):  # direct uploads whose browser never said it was done
            if modified_at < self.cutoff:
                self._orphan(key)
        self.stdout.write(f"Orphaned objects (no row): {self.orphans}")
        self.stdout.write(f"Superseded files kept for pages that may still link them: {self.superseded_waiting}")
        self.stdout.write(
            f"Photos whose original is missing: {len(self.missing_originals)} {self.missing_originals or ''}"
        )
        self.stdout.write(f"Renditions whose file is missing: {self.missing_renditions}")
        if not self.delete:
            if self.orphans or self.missing_originals or self.missing_renditions:
                self.stdout.write("Report only; run again with --delete to remove orphans and mend rows.")
            return
        self.stdout.write(
            self.style.SUCCESS(f"Removed {self.orphans} orphan(s); queued {self.requeued} photo(s) to render again.")
        )

    def _orphans_unless_superseded(self, keys: list[str]) -> None:
        """Orphans, but for the files a re-render superseded that still wait for their grace
        period (sweep_superseded_files removes them when it is up)."""
        waiting = set(SupersededFile.objects.filter(name__in=keys).values_list("name", flat=True))
        self.superseded_waiting += len(waiting)
        for key in keys:
            if key not in waiting:
                self._orphan(key)

    def _orphan(self, key: str) -> None:
        self.orphans += 1
        self.stdout.write(f"  {key}")
        if self.delete:
            object_delete(key)

    def _sweep_photos(self) -> None:
        originals = Listing(ORIGINALS, ".")
        renditions = [Listing(prefix, "/") for prefix in RENDITION_PREFIXES]
        last_key = None
        while True:
            window = Photo.objects.order_by("key")
            if last_key is not None:
                window = window.filter(key__gt=last_key)
            photos = list(window.values_list("pk", "key", "original", "created_at")[:PHOTO_WINDOW])
            # The last window takes the listings to their end: objects of no photo at all.
            bound = str(photos[-1][1]) if len(photos) == PHOTO_WINDOW else None
            files = list(
                Rendition.objects.filter(photo_id__in=[pk for pk, *_ in photos]).values_list(
                    "pk", "photo_id", "file", "created_at"
                )
            )
            named = {original for _, _, original, _ in photos} | {file for _, _, file, _ in files}
            stored = set()  # of the window's named objects only: a stretch may hold any number of orphans
            unnamed: list[str] = []  # looked up a page at a time
            for listing in (originals, *renditions):
                for key, modified_at in listing.take_through(bound):
                    if key in named:
                        stored.add(key)
                    elif modified_at < self.cutoff:
                        unnamed.append(key)
                        if len(unnamed) == PAGE:
                            self._orphans_unless_superseded(unnamed)
                            unnamed = []
            self._orphans_unless_superseded(unnamed)
            self._rows_without_objects(photos, files, stored)
            if bound is None:
                return
            last_key = photos[-1][1]

    def _rows_without_objects(
        self,
        photos: list[tuple[int, Any, str, datetime]],
        files: list[tuple[int, int, str, datetime]],
        stored: set[str],
    ) -> None:
        """Rows of this window whose object was not in its stretch of the listings. A name
        that does not follow the key scheme (none should) is looked up by itself."""
        for pk, _, original, created_at in photos:
            if created_at < self.cutoff and original not in stored and not object_exists(original):
                self.missing_originals.append(pk)
        lost = [
            (pk, photo_id)
            for pk, photo_id, file, created_at in files
            if created_at < self.cutoff and file not in stored and not object_exists(file)
        ]
        self.missing_renditions += len(lost)
        if not lost or not self.delete:
            return
        # Photos whose original is gone are only reported: their renditions may still show,
        # and deciding about a person's photo is for an operator, not a sweep.
        Rendition.objects.filter(pk__in=[pk for pk, _ in lost]).delete()
        for photo in Photo.objects.filter(pk__in={photo_id for _, photo_id in lost}):
            services.photo_retry_renditions(photo=photo)
            self.requeued += 1

    def _sweep_avatars(self) -> None:
        """People's pictures, a listing page at a time (replaced ones whose cleanup job never ran)."""
        page: list[tuple[str, datetime]] = []
        for item in object_list(AVATAR_PREFIX, page_size=PAGE):
            page.append(item)
            if len(page) == PAGE:
                self._avatar_page(page)
                page = []
        self._avatar_page(page)

    def _avatar_page(self, page: list[tuple[str, datetime]]) -> None:
        keys = [key for key, modified_at in page if modified_at < self.cutoff]
        current = set(User.objects.filter(avatar_key__in=keys).values_list("avatar_key", flat=True))
        for key in keys:
            if key not in current:
                self._orphan(key)
