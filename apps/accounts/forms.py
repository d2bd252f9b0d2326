from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth.forms import UserCreationForm
from django.core.files.uploadedfile import UploadedFile

from apps.accounts.models import User
from apps.photos.uploads import upload_too_big_message


class SignupForm(UserCreationForm):
    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email", "display_name")


class ProfileForm(forms.Form):
    display_name = forms.CharField(max_length=80, required=False, help_text="Shown instead of your user name.")
    bio = forms.CharField(max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 4}))
    avatar = forms.FileField(
        required=False,
        label="Profile picture",
        help_text="A square crop of it is shown.",
        widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png,image/webp,image/heic,image/avif,image/gif"}),
    )
    remove_avatar = forms.BooleanField(required=False, label="Remove my profile picture")

    def clean_avatar(self) -> UploadedFile[bytes] | None:
        upload: UploadedFile[bytes] | None = self.cleaned_data.get("avatar")
        if upload and upload.size is not None and upload.size > settings.PHOTO_MAX_UPLOAD_BYTES:
            raise forms.ValidationError(upload_too_big_message(upload.size))
        return upload
