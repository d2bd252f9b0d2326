"""People who use the site (a custom user model from the first migration, so it can grow),
their API tokens, their data exports, and the user names of deleted accounts."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy

from apps.photos.models import Licence
from photosite.storage import media_url


class User(AbstractUser):
    display_name = models.CharField(max_length=80, blank=True)
    bio = models.TextField(max_length=1000, blank=True)
    # A public storage key (a 256 px square WebP), or "" for the initials placeholder.
    avatar_key = models.CharField(max_length=300, blank=True)
    # Kept by follow_set with F(), so profiles never count follower rows.
    follower_count = models.PositiveIntegerField(default=0)
    following_count = models.PositiveIntegerField(default=0)
    # What the person's new photos are licensed under (each photo's own can differ).
    default_licence = models.CharField(
        max_length=20,
        choices=Licence.choices,
        default=Licence.ALL_RIGHTS_RESERVED,
        db_default=Licence.ALL_RIGHTS_RESERVED,
    )
    # Unread notification groups, for the header: kept by apps/notifications/services.py as a
    # group turns unread or is read, so signed-in pages show it from the row they load anyway.
    unread_notification_count = models.PositiveIntegerField(default=0, db_default=0)
    # The person's photos not ready yet (processing or failed), kept by the photo services in
    # the transaction of each status change: the home page's "still processing" strip asks for
    # them only when this is not 0, so a signed-in home page costs no query for it otherwise.
    # Never below 0; listing_counts_reconcile repairs drift (a count too high costs one query).
    unfinished_photo_count = models.PositiveIntegerField(default=0, db_default=0)
    # "daily": unread notifications are emailed once a day (apps/notifications/tasks.py).
    notification_digest = models.CharField(max_length=10, default="off", db_default="off")

    class Meta(AbstractUser.Meta):
        # storage_sweep asks which of a page of stored pictures are someone's current one.
        indexes = [models.Index(fields=["avatar_key"], name="user_avatar_key_idx", condition=~models.Q(avatar_key=""))]

    def __str__(self) -> str:
        return self.display_name or self.username

    @property
    def shown_name(self) -> str:
        return self.display_name or self.username

    @property
    def avatar_url(self) -> str:
        return media_url(self.avatar_key) if self.avatar_key else ""

    @property
    def initials(self) -> str:
        return "".join(part[0] for part in self.shown_name.split()[:2]).upper() or "?"


class TokenScope(models.TextChoices):
    READ = "read", gettext_lazy("Read only")
    WRITE = "write", gettext_lazy("Read and write")


class ApiToken(models.Model):
    """A named API token. Only the SHA-256 of its key is stored: the key is shown once, when
    it is made, and a database leak gives nobody a usable token. Keys are 256 random bits,
    so a fast hash is as safe as a slow one and lets a request find its token by index."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80)
    digest = models.CharField(max_length=64, unique=True)  # hex SHA-256 of the key
    hint = models.CharField(max_length=16)  # the key's first characters, so people can tell tokens apart
    scope = models.CharField(max_length=5, choices=TokenScope.choices, default=TokenScope.READ)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="api_token_user_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.hint}…)"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def may_write(self) -> bool:
        return self.scope == TokenScope.WRITE


class ExportStatus(models.TextChoices):
    PENDING = "pending", "Being prepared"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class DataExport(models.Model):
    """A zip of everything a person put on the site, built by a job and kept privately
    until `expires_at`; its download link is signed and expires with it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="data_exports")
    status = models.CharField(max_length=8, choices=ExportStatus.choices, default=ExportStatus.PENDING)
    key = models.CharField(max_length=300, blank=True)  # private storage key of the zip once built
    bytes = models.PositiveBigIntegerField(default=0)
    photo_count = models.PositiveIntegerField(default=0)
    failure_reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"export {self.pk} of {self.user_id} ({self.status})"


class RetiredUsername(models.Model):
    """The user name of a deleted account, kept so nobody else can take it (and be taken
    for that person) until the cooling-off period has passed."""

    username = models.CharField(max_length=150, unique=True)  # lowercased
    retired_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.username
