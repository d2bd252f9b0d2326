"""Albums: a person's own photos, in the order they choose, under a cover they choose, seen by
everyone (public), by whoever holds its link (unlisted) or by its owner alone (private)."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from apps.photos.models import Visibility


class Album(models.Model):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="albums")
    title = models.CharField(max_length=200)
    description = models.TextField(max_length=2000, blank=True)
    # The album's own: a private album hides even its public photos' membership in it. The
    # photos inside still follow their own visibility (a public album shows no private photo).
    visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC, db_default=Visibility.PUBLIC
    )
    # What an unlisted album's link token is a keyed digest of (selectors.album_share_token).
    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Shown only to viewers who may see that photo; others get the first photo they may see.
    cover = models.ForeignKey("photos.Photo", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["owner", "-created_at"], name="album_owner_idx")]

    def __str__(self) -> str:
        return self.title


class AlbumEntry(models.Model):
    album = models.ForeignKey(Album, on_delete=models.CASCADE, related_name="entries")
    photo = models.ForeignKey("photos.Photo", on_delete=models.CASCADE, related_name="album_entries")
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["album", "photo"], name="album_photo_once")]
        indexes = [models.Index(fields=["album", "position", "id"], name="album_order_idx")]

    def __str__(self) -> str:
        return f"{self.photo_id} at {self.position} in {self.album_id}"
