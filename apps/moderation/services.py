"""Writes for moderation: filing reports and acting on them."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.moderation.models import Report, ReportStatus
from apps.photos.models import Photo
from apps.photos.services import photo_hide


class ReportRefused(Exception):
    """Shown to the person reporting."""


def report_create(*, reporter: User, photo: Photo, reason: str, details: str = "") -> Report:
    if photo.owner_id == reporter.pk:
        raise ReportRefused("You cannot report your own photo; edit or delete it instead.")
    try:
        with transaction.atomic():
            return Report.objects.create(reporter=reporter, photo=photo, reason=reason, details=details.strip())
    except IntegrityError:
        raise ReportRefused("You have already reported this photo; the moderators will look at it.") from None


@transaction.atomic
def report_resolve(*, report: Report, moderator: User, hide_photo: bool = True) -> None:
    """Act on a report: hide the photo (all its open reports are resolved together)."""
    now = timezone.now()
    if hide_photo:
        photo_hide(photo=report.photo, moderator=moderator, reason=report.get_reason_display())
    Report.objects.filter(photo=report.photo, status=ReportStatus.OPEN).update(
        status=ReportStatus.RESOLVED, handled_by=moderator, handled_at=now
    )


def report_dismiss(*, report: Report, moderator: User) -> None:
    report.status = ReportStatus.DISMISSED
    report.handled_by = moderator
    report.handled_at = timezone.now()
    report.save(update_fields=["status", "handled_by", "handled_at"])
