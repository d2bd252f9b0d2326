from __future__ import annotations

from datetime import timedelta

from allauth.account.forms import SignupForm as AllauthSignupForm
from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from apps.accounts.models import TokenScope
from apps.notifications.forms import DIGEST_CHOICES
from apps.photos.models import Licence
from apps.photos.uploads import upload_too_big_message


class SignupForm(AllauthSignupForm):
    """allauth's sign-up (user name, email, password twice) plus the name others see."""

    display_name = forms.CharField(
        max_length=80, required=False, label=_("Display name"), help_text=_("Shown instead of your user name.")
    )
    field_order = ["username", "email", "display_name", "password1", "password2"]


class ProfileForm(forms.Form):
    display_name = forms.CharField(
        max_length=80, required=False, label=_("Display name"), help_text=_("Shown instead of your user name.")
    )
    bio = forms.CharField(max_length=1000, required=False, label=_("Bio"), widget=forms.Textarea(attrs={"rows": 4}))
    avatar = forms.FileField(
        required=False,
        label=_("Profile picture"),
        help_text=_("A square crop of it is shown."),
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/webp,image/heic,image/avif,image/gif"}),
    )
    remove_avatar = forms.BooleanField(required=False, label=_("Remove my profile picture"))
    default_licence = forms.ChoiceField(
        choices=Licence.choices,
        required=False,  # not sent: unchanged (a client that predates it, a form without it)
        label=_("Licence for new photos"),
        help_text=_("Each photo's own licence can be changed on its edit page; this changes no photo already up."),
    )

    def clean_avatar(self) -> UploadedFile[bytes] | None:
        upload: UploadedFile[bytes] | None = self.cleaned_data.get("avatar")
        if upload and upload.size is not None and upload.size > settings.PHOTO_MAX_UPLOAD_BYTES:
            raise forms.ValidationError(upload_too_big_message(upload.size))
        return upload


class AccountSettingsForm(forms.Form):
    """What the account page changes itself; the same choice as on the notifications page."""

    notification_digest = forms.ChoiceField(
        choices=DIGEST_CHOICES,
        label=_("Email digest"),
        help_text=_("Once a day, what you have not read yet, if anything happened."),
    )


TOKEN_LIFETIMES = [(7, _("7 days")), (30, _("30 days")), (90, _("90 days")), (365, _("1 year"))]


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=80, label=_("Name"), help_text=_("What uses it, e.g. “backup script”."))
    scope = forms.ChoiceField(
        label=_("Access"), choices=TokenScope.choices, initial=TokenScope.READ, widget=forms.RadioSelect
    )
    lifetime_days = forms.TypedChoiceField(label=_("Expires after"), choices=TOKEN_LIFETIMES, coerce=int, initial=90)

    def clean_lifetime_days(self) -> timedelta:
        days: int = self.cleaned_data["lifetime_days"]
        return timedelta(days=min(days, settings.API_TOKEN_MAX_DAYS))


class AccountDeleteForm(forms.Form):
    password = forms.CharField(
        label=_("Your password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=_("To be sure it is you."),
    )
