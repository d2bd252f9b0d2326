from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from apps.notifications.models import DigestFrequency

DIGEST_CHOICES = [(DigestFrequency.OFF, _("Off")), (DigestFrequency.DAILY, _("Daily"))]


class DigestForm(forms.Form):
    notification_digest = forms.ChoiceField(
        choices=DIGEST_CHOICES,
        label=_("Email digest"),
        help_text=_("Once a day, what you have not read yet, if anything happened."),
    )
