"""Reports people file about photos, and what the moderators did with them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy


class ReportReason(models.TextChoices):
    SPAM = "spam", gettext_lazy("Spam or advertising")
    NUDITY = "nudity", gettext_lazy("Nudity or sexual content")
    VIOLENCE = "violence", gettext_lazy("Violence or gore")
    HARASSMENT = "harassment", gettext_lazy("Harassment or hate")
    COPYRIGHT = "copyright", gettext_lazy("It is my work, posted without permission")
    OTHER = "other", gettext_lazy("Something else")


class ReportStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved (photo hidden)"
    DISMISSED = "dismissed", "Dismissed"


class Report(models.Model):
    reporter = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports_filed")
    photo = models.ForeignKey("photos.Photo", on_delete=models.CASCADE, related_name="reports")
    # Set when the report is about a comment (photo is then the photo it was posted on).
    comment = models.ForeignKey(
        "social.Comment", on_delete=models.CASCADE, null=True, blank=True, related_name="reports"
    )
    reason = models.CharField(max_length=20, choices=ReportReason.choices)
    details = models.TextField(max_length=2000, blank=True)
    status = models.CharField(max_length=10, choices=ReportStatus.choices, default=ReportStatus.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    handled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="reports_handled"
    )
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # One open report per person and photo: a second click should not double the queue.
            models.UniqueConstraint(
                fields=["reporter", "photo"],
                condition=models.Q(status="open", comment__isnull=True),
                name="one_open_report_per_person",
            ),
            models.UniqueConstraint(
                fields=["reporter", "comment"],
                condition=models.Q(status="open", comment__isnull=False),
                name="one_open_comment_report_per_person",
            ),
        ]
        indexes = [models.Index(fields=["status", "-created_at"], name="report_queue_idx")]

    def __str__(self) -> str:
        if self.comment_id:
            return f"{self.get_reason_display()} on comment {self.comment_id}"
        return f"{self.get_reason_display()} on photo {self.photo_id}"
