"""Share links: an owner hands one person a link (`/s/<token>/`) to one private or unlisted
photo or album, like Flickr's guest pass. The token is random, not derived from the item,
so each link can expire, carry a password and be revoked on its own."""

from __future__ import annotations

from django.conf import settings
from django.db import models

# How much of a token is shown where the whole would hand the link out: the admin, a read-only API token.
TOKEN_SHOWN_CHARACTERS = 4


class ShareLink(models.Model):
    # secrets.token_urlsafe(24): 192 random bits, 32 characters (services.share_link_create).
    token = models.CharField(max_length=64, unique=True, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="share_links")
    # Exactly one target. Deleting it deletes its links: a link never outlives what it shows.
    photo = models.ForeignKey(
        "photos.Photo", on_delete=models.CASCADE, null=True, blank=True, related_name="share_links"
    )
    album = models.ForeignKey(
        "albums.Album", on_delete=models.CASCADE, null=True, blank=True, related_name="share_links"
    )
    expires_at = models.DateTimeField(null=True, blank=True)  # None: never
    password = models.CharField(max_length=128, blank=True)  # make_password's hash; "" for none
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Kept with F() by share_link_viewed, counting openings of the link's own page.
    view_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(photo__isnull=False, album__isnull=True)
                | models.Q(photo__isnull=True, album__isnull=False),
                name="share_link_one_target",
            )
        ]

    def __str__(self) -> str:
        target = f"photo {self.photo_id}" if self.photo_id else f"album {self.album_id}"
        return f"share of {target} by {self.owner_id}"

    @property
    def masked_token(self) -> str:
        return f"{self.token[:TOKEN_SHOWN_CHARACTERS]}…"

    @property
    def has_password(self) -> bool:
        return bool(self.password)
