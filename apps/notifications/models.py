"""Notifications: someone liked, commented on or mentioned you on a photo, or followed you.

One row per recipient, kind and photo (per recipient and kind for follows), updated as more
people act rather than a row per like: "Ann and 41 others liked your photo". The worker
(apps/notifications/tasks.py) writes them; requests only queue the job.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class NotificationKind(models.TextChoices):
    LIKE = "like", "like"
    COMMENT = "comment", "comment"
    MENTION = "mention", "mention"
    FOLLOW = "follow", "follow"


class DigestFrequency(models.TextChoices):
    OFF = "off", "off"
    DAILY = "daily", "daily"


class Notification(models.Model):
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=10, choices=NotificationKind.choices)
    # The photo it is about (none for follows); deleting the photo deletes what was said about it.
    photo = models.ForeignKey("photos.Photo", on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    # The newest comment of a comment or mention group, so the link lands on it.
    comment = models.ForeignKey("social.Comment", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    last_actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Everyone in the group, last_actor included: counted from the likes, comments or follows
    # themselves, so a like, an unlike and a like again count one person once.
    actor_count = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)  # the group's newest activity
    read_at = models.DateTimeField(null=True, blank=True)  # None: unread (new activity sets it back)
    emailed_at = models.DateTimeField(null=True, blank=True)  # in a digest as of this time

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["recipient", "kind", "photo"],
                condition=models.Q(photo__isnull=False),
                name="notification_group_photo",
            ),
            models.UniqueConstraint(
                fields=["recipient", "kind"], condition=models.Q(photo__isnull=True), name="notification_group_person"
            ),
        ]
        indexes = [
            # The list, newest activity first.
            models.Index(fields=["recipient", "-updated_at", "-id"], name="notification_list_idx"),
            # The header's unread count: a probe of this small partial index.
            models.Index(
                fields=["recipient"], condition=models.Q(read_at__isnull=True), name="notification_unread_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} for {self.recipient_id} ({self.actor_count})"
