"""Photos and their renditions (the resized copies pages show)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import F
from django.db.models.fields.files import FieldFile
from django.db.models.functions import Now, Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy

from photosite.storage import media_url

# The text-search configuration of search_vector, used alike when it is written and queried.
# Stemming: "mountains" finds "mountain"; names are stemmed alike on both sides.
SEARCH_CONFIG = "english"


def stored_name(file: FieldFile) -> str:
    """The storage key of a photo's original or a rendition's file.

    The stubs type a file's name as optional, but a FileField that is not null reads back
    a string (empty when blank), and ours are set before their row is first saved.
    """
    if file.name is None:
        raise ValueError(f"{file.instance!r} has no stored file in {file.field.name}")
    return file.name


# Counts of what listings show, kept by the photo services in sharded counters
# (photosite/counters.py) as photos enter and leave listings, so a profile or tag page
# never counts its rows (bench/growth.py). Keyed by the person's or the tag's id.
USER_PUBLIC_PHOTOS = "user.public_photos"  # what visitors see on a profile
USER_READY_PHOTOS = "user.ready_photos"  # what the owner sees on their own
TAG_PUBLIC_PHOTOS = "tag.public_photos"  # a tag page's "N public photos"


class Visibility(models.TextChoices):
    PUBLIC = "public", gettext_lazy("Public")
    UNLISTED = "unlisted", gettext_lazy("Unlisted (anyone with the link)")
    PRIVATE = "private", gettext_lazy("Private (only me)")


class Licence(models.TextChoices):
    """What others may do with a photo. The Creative Commons ones are version 4.0; every
    choice but "all rights reserved" has a deed (licence_deed_url) the photo page links to."""

    ALL_RIGHTS_RESERVED = "all-rights-reserved", gettext_lazy("All rights reserved")
    CC_BY = "cc-by", gettext_lazy("CC BY 4.0 (Attribution)")
    CC_BY_SA = "cc-by-sa", gettext_lazy("CC BY-SA 4.0 (Attribution-ShareAlike)")
    CC_BY_ND = "cc-by-nd", gettext_lazy("CC BY-ND 4.0 (Attribution-NoDerivatives)")
    CC_BY_NC = "cc-by-nc", gettext_lazy("CC BY-NC 4.0 (Attribution-NonCommercial)")
    CC_BY_NC_SA = "cc-by-nc-sa", gettext_lazy("CC BY-NC-SA 4.0 (Attribution-NonCommercial-ShareAlike)")
    CC_BY_NC_ND = "cc-by-nc-nd", gettext_lazy("CC BY-NC-ND 4.0 (Attribution-NonCommercial-NoDerivatives)")
    CC0 = "cc0", gettext_lazy("Public domain (CC0 1.0)")


def licence_deed_url(licence: str) -> str:
    """The human-readable summary of a licence on creativecommons.org, or "" for all rights reserved."""
    if licence == Licence.CC0:
        return "https://creativecommons.org/publicdomain/zero/1.0/"
    if licence in Licence.values and licence != Licence.ALL_RIGHTS_RESERVED:
        return f"https://creativecommons.org/licenses/{licence.removeprefix('cc-')}/4.0/"
    return ""


class PhotoStatus(models.TextChoices):
    PROCESSING = "processing", gettext_lazy("Processing")
    READY = "ready", gettext_lazy("Ready")
    FAILED = "failed", gettext_lazy("Failed")


class Tag(models.Model):
    """A lowercase word people file photos under; a tag page lists its public photos."""

    name = models.CharField(max_length=40, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Photo(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="photos")
    # Names storage keys, so object paths never reveal row ids or owners.
    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    title = models.CharField(max_length=200)
    caption = models.TextField(max_length=5000, blank=True)
    alt_text = models.CharField(max_length=500, blank=True)
    visibility = models.CharField(max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC)
    # New photos take their owner's default_licence (photo services); raw inserts (bench/) the database's.
    licence = models.CharField(
        max_length=20,
        choices=Licence.choices,
        default=Licence.ALL_RIGHTS_RESERVED,
        db_default=Licence.ALL_RIGHTS_RESERVED,
    )

    original = models.FileField(max_length=300)
    original_format = models.CharField(max_length=10)  # Pillow's name: JPEG, PNG, WEBP
    original_sha256 = models.CharField(max_length=64)
    original_bytes = models.PositiveBigIntegerField()
    # As stored; EXIF orientation may swap them on display (the renditions know).
    original_width = models.PositiveIntegerField()
    original_height = models.PositiveIntegerField()
    # Where a direct upload arrived (`private/incoming/<uuid>`), unique: this row is the
    # grant's claim, so a second completion of the same grant fails to insert, even a
    # concurrent one in another web process. Null for uploads posted to the site.
    incoming_key = models.CharField(max_length=100, unique=True, null=True, blank=True, editable=False)

    # Camera, lens and exposure, read at upload from a fixed whitelist (never GPS).
    camera_facts = models.JSONField(default=dict, blank=True)
    show_camera_facts = models.BooleanField(default=True)
    # Copies of camera facts that timelines and search filters read through indexes (the JSON
    # has none). The camera's "make model" and lens, as the photo page shows them.
    # (The database defaults let raw inserts that predate these columns, bench/, still work.)
    camera = models.CharField(max_length=201, blank=True, default="", db_default="")
    lens = models.CharField(max_length=100, blank=True, default="", db_default="")
    # Where the timeline and the date filters place the photo: when its camera says it was
    # taken (the camera's clock read as UTC, so the month is the one the camera showed), else
    # when it was uploaded. The upload time too while the owner hides the camera facts: the
    # date is one of them. Kept by the photo services (camera_copies_set).
    timeline_at = models.DateTimeField(default=timezone.now, db_default=Now())

    # Set by a moderator: the photo disappears for everyone but its owner (and staff).
    hidden_at = models.DateTimeField(null=True, blank=True)
    hidden_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    hidden_reason = models.CharField(max_length=200, blank=True)

    status = models.CharField(max_length=12, choices=PhotoStatus.choices, default=PhotoStatus.PROCESSING)
    failure_reason = models.CharField(max_length=500, blank=True)
    placeholder_color = models.CharField(max_length=7, blank=True)  # "#rrggbb"

    tags = models.ManyToManyField(Tag, blank=True, related_name="photos", through="PhotoTag")
    # Kept by the social services with F() under the like/comment row's own write, so
    # concurrent likes never lose a count; pages read these instead of counting rows.
    like_count = models.PositiveIntegerField(default=0)
    comment_count = models.PositiveIntegerField(default=0)
    # Title, tags, owner's names and caption, weighted A/B/B/C; kept by photo_search_index_update.
    # PostgreSQL only (GIN index in the migration); embedded mode searches with LIKE instead.
    search_vector = SearchVectorField(null=True, editable=False)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # The home grid: newest public, ready photos.
            models.Index(fields=["visibility", "status", "-created_at", "-id"], name="photo_feed_idx"),
            models.Index(fields=["owner", "-created_at", "-id"], name="photo_owner_idx"),
            # The following feed's first step: each followee's newest photo others may see, for
            # thousands of followees a page. Covering the filter, each probe reads one index leaf
            # (an index-only scan) instead of the photo rows (bench/growth.py).
            models.Index(
                fields=["owner", "-created_at", "-id"],
                condition=models.Q(visibility="public", status="ready", hidden_at__isnull=True),
                name="photo_owner_public_idx",
            ),
            # The newest photos others may see, with their owners: the following feed of
            # someone who follows thousands walks it for their followees' photos without
            # reading a photo row (an index-only scan; bench/growth.py).
            models.Index(
                fields=["-created_at", "-id"],
                include=["owner"],
                condition=models.Q(visibility="public", status="ready", hidden_at__isnull=True),
                name="photo_public_recent_idx",
            ),
            # The signed-in home's "still processing or failed" strip: a few rows per owner,
            # found without reading every ready photo they own.
            models.Index(
                fields=["owner", "-created_at", "-id"],
                condition=~models.Q(status="ready"),
                name="photo_unfinished_idx",
            ),
            # A person's timeline, newest taken first; search by date range.
            models.Index(fields=["owner", "-timeline_at", "-id"], name="photo_timeline_idx"),
            models.Index(fields=["-timeline_at", "-id"], name="photo_dated_idx"),
            # Search filters by camera and lens (case-insensitive, as `iexact` asks).
            models.Index(
                Upper("camera"),
                F("timeline_at").desc(),
                F("id").desc(),
                name="photo_camera_idx",
                condition=~models.Q(camera=""),
            ),
            models.Index(
                Upper("lens"),
                F("timeline_at").desc(),
                F("id").desc(),
                name="photo_lens_idx",
                condition=~models.Q(lens=""),
            ),
            # "You uploaded this file already": one person's photos by the original's digest.
            models.Index(fields=["owner", "original_sha256"], name="photo_owner_sha256_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.pk})"

    @property
    def is_ready(self) -> bool:
        return self.status == PhotoStatus.READY

    @property
    def is_private(self) -> bool:
        return self.visibility == Visibility.PRIVATE

    @property
    def licence_url(self) -> str:
        return licence_deed_url(self.licence)


class Rendition(models.Model):
    photo = models.ForeignKey(Photo, on_delete=models.CASCADE, related_name="renditions")
    size = models.PositiveIntegerField()  # the long-edge target: 320, 640, 1280, 2048
    format = models.CharField(max_length=10)  # "jpg", "webp", "avif": the key's extension
    file = models.FileField(max_length=300)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    bytes = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["size"]
        constraints = [models.UniqueConstraint(fields=["photo", "size", "format"], name="one_rendition_per_size")]

    def __str__(self) -> str:
        return f"{self.photo_id} {self.size} {self.format}"

    @property
    def url(self) -> str:
        """Plain URL for public keys (CDN-cacheable), signed for private ones."""
        return media_url(stored_name(self.file))


class SupersededFile(models.Model):
    """A rendition file a re-render replaced, kept until `delete_after` for the pages that still
    link it: one open in a browser, or kept by a cache, from before the rebuild committed.

    The photo by id, not a foreign key: deleting a photo (or an account's photos at once)
    needs no cascade here, and a row whose photo is gone is still swept when it is due.
    A takedown does not wait for it: the photo services delete a photo's rows with its
    public objects at once (photo_delete, a switch to private, a hide).
    """

    photo_id = models.BigIntegerField(db_index=True)
    name = models.CharField(max_length=300, unique=True)  # the storage key, as Rendition.file names it
    delete_after = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class PhotoTag(models.Model):
    """A photo filed under a tag. It carries the photo's upload time (which never changes),
    so a tag page is one index range scan on (tag, time) instead of a walk through
    every newer photo looking for the rare ones with this tag (bench/growth.py)."""

    photo = models.ForeignKey(Photo, on_delete=models.CASCADE)
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE)
    photo_created_at = models.DateTimeField()

    class Meta:
        db_table = "photos_photo_tags"  # the table Django made for the plain many-to-many
        constraints = [models.UniqueConstraint(fields=["photo", "tag"], name="photo_tag_once")]
        indexes = [models.Index(fields=["tag", "-photo_created_at", "-id"], name="tag_page_idx")]

    def __str__(self) -> str:
        return f"{self.photo_id} #{self.tag_id}"
