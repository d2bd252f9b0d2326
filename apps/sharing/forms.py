"""The owner's form for a new share link, and the recipient's password form."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy

from apps.sharing.services import PASSWORD_MAX_LENGTH

EXPIRY_CHOICES = [  # services.EXPIRY_DAYS
    ("", gettext_lazy("Never")),
    ("1", gettext_lazy("In 1 day")),
    ("7", gettext_lazy("In 7 days")),
    ("30", gettext_lazy("In 30 days")),
]


class ShareLinkForm(forms.Form):
    expires = forms.ChoiceField(label=gettext_lazy("Expires"), choices=EXPIRY_CHOICES, required=False)
    password = forms.CharField(
        label=gettext_lazy("Password (optional)"),
        required=False,
        max_length=PASSWORD_MAX_LENGTH,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def expires_in_days(self) -> int | None:
        chosen = self.cleaned_data.get("expires") or ""
        return int(chosen) if chosen else None


class SharePasswordForm(forms.Form):
    password = forms.CharField(
        label=gettext_lazy("Password"),
        max_length=PASSWORD_MAX_LENGTH,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "off", "autofocus": True}),
    )
