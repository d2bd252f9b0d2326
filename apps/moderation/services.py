"""Writes for moderation: filing reports and acting on them."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from apps.accounts.models import User
from apps.moderation.models import Report, ReportStatus
from apps.photos.models import Photo
from apps.photos.services import photo_hide
from apps.social.models import Comment
from apps.social.services import comment_hide


class ReportRefused(Exception):
    """Shown to the person reporting."""


def report_create(
    *, reporter: User, photo: Photo, reason: str, details: str = "", comment: Comment | None = None
) -> Report:
    """File a report about a photo, or about a comment on it (then `photo` is the comment's photo)."""
    if comment is not None and comment.author_id == reporter.pk:
        raise ReportRefused(gettext("You cannot report your own comment; delete it instead."))
    if comment is None and photo.owner_id == reporter.pk:
        raise ReportRefused(gettext("You cannot report your own photo; edit or delete it instead."))
    try:
        with transaction.atomic():
            return Report.objects.create(
                reporter=reporter, photo=photo, comment=comment, reason=reason, details=details.strip()
            )
    except IntegrityError:
        refusal = (
            gettext("You have already reported this comment; the moderators will look at it.")
            if comment is not None
            else gettext("You have already reported this photo; the moderators will look at it.")
        )
        raise ReportRefused(refusal) from None


@transaction.atomic
def report_resolve(*, report: Report, moderator: User, hide_photo: bool = True) -> None:
    """Act on a report: hide what it is about (all open reports on the same thing are resolved together)."""
    now = timezone.now()
    if report.comment_id is not None:
        if hide_photo:
            comment_hide(comment_id=report.comment_id, moderator=moderator)
        same = Report.objects.filter(comment_id=report.comment_id)
    else:
        if hide_photo:
            photo_hide(photo=report.photo, moderator=moderator, reason=report.get_reason_display())
        same = Report.objects.filter(photo=report.photo, comment__isnull=True)
    same.filter(status=ReportStatus.OPEN).update(status=ReportStatus.RESOLVED, handled_by=moderator, handled_at=now)


def report_dismiss(*, report: Report, moderator: User) -> None:
    report.status = ReportStatus.DISMISSED
    report.handled_by = moderator
    report.handled_at = timezone.now()
    report.save(update_fields=["status", "handled_by", "handled_at"])
