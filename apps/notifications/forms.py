from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.notifications.models import DigestFrequency
from photosite.http import number_from_text

DIGEST_CHOICES = [(DigestFrequency.OFF, _("Off")), (DigestFrequency.DAILY, _("Daily"))]


class DigestForm(forms.Form):
    notification_digest = forms.ChoiceField(
        choices=DIGEST_CHOICES,
        label=_("Email digest"),
        help_text=_("Once a day, what you have not read yet, if anything happened."),
    )


class NotificationIdsField(forms.Field):
    """Repeated `ids` fields, each a notification's id (any whole number: ids that are not the
    reader's mark nothing); none: an empty list."""

    widget = forms.MultipleHiddenInput
    most = 1000  # far more than a page shows

    def to_python(self, value: Any) -> list[int]:
        ids = [number_from_text(str(text)) for text in value or []]
        if len(ids) > self.most or any(number is None for number in ids):
            raise forms.ValidationError(_("Give notification ids as whole numbers."))
        return [number for number in ids if number is not None]


class MarkReadForm(forms.Form):
    # When the page with the button was made: news that came in after it stays unread, since
    # its reader has not seen it. Absent (an older page, a hand-made request): now.
    through = forms.DateTimeField(required=False)
    # Or only these: the unread ones the page showed, which its script marks once on screen.
    ids = NotificationIdsField(required=False)
