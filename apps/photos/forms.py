from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from apps.albums.models import Album
from apps.photos.models import Photo, Visibility
from apps.photos.tags import TAGS_TEXT_MAX_LENGTH, TagsRejected, tags_parse
from apps.photos.uploads import upload_too_big_message


class TagsField(forms.CharField):
    """Tags typed as words separated by spaces or commas; cleans to a list of tag names."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", TAGS_TEXT_MAX_LENGTH)
        kwargs.setdefault("label", _("Tags"))
        kwargs.setdefault("help_text", _("Words separated by spaces or commas, e.g. “sunset beach”."))
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        return " ".join(value) if isinstance(value, list | tuple) else value

    def clean(self, value: Any) -> list[str]:
        try:
            return tags_parse(super().clean(value) or "")
        except TagsRejected as rejection:
            raise forms.ValidationError(str(rejection)) from None


class PhotoDetailsForm(forms.Form):
    """What a person writes about a photo at upload, without the file itself."""

    title = forms.CharField(max_length=200, required=False, label=_("Title"), help_text=_("Defaults to the file name."))
    caption = forms.CharField(
        max_length=5000, required=False, label=_("Caption"), widget=forms.Textarea(attrs={"rows": 3})
    )
    alt_text = forms.CharField(
        max_length=500,
        required=False,
        label=_("Alt text"),
        help_text=_("Describe the photo for people who cannot see it."),
    )
    tags = TagsField()
    visibility = forms.ChoiceField(label=_("Who can see it"), choices=Visibility.choices, initial=Visibility.PUBLIC)
    album = forms.TypedChoiceField(label=_("Add to album"), coerce=int, required=False, empty_value=None)

    def __init__(self, *args: Any, albums: Sequence[Album] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The person's own albums (album_choices_for_owner): any other id is not a choice (400).
        album_field = cast("forms.TypedChoiceField", self.fields["album"])
        album_field.choices = [("", _("No album")), *((album.pk, album.title) for album in albums)]


class PhotoUploadForm(PhotoDetailsForm):
    field_order = ["file", "title", "caption", "alt_text", "tags", "visibility", "album"]
    file = forms.FileField(
        label=_("Photo"),
        widget=forms.ClearableFileInput(
            attrs={"accept": "image/jpeg,image/png,image/webp,image/heic,image/heif,image/avif,image/gif,.heic"}
        ),
        error_messages={"required": _("Choose a photo to upload."), "empty": _("The file is empty.")},
    )

    def clean_file(self) -> UploadedFile[bytes]:
        upload: UploadedFile[bytes] = self.cleaned_data["file"]
        # The byte limit is checked again by the service; here it gives the form error early.
        # (An upload's size is only None before it is read; FileField has refused empty ones.)
        if (upload.size or 0) > settings.PHOTO_MAX_UPLOAD_BYTES:
            raise forms.ValidationError(upload_too_big_message(upload.size))
        return upload


class PhotoEditForm(forms.ModelForm):
    tags = TagsField()
    field_order = ["title", "caption", "alt_text", "tags", "visibility", "licence", "show_camera_facts"]

    class Meta:
        model = Photo
        fields = ("title", "caption", "alt_text", "visibility", "licence", "show_camera_facts")
        labels = {
            "title": _("Title"),
            "caption": _("Caption"),
            "alt_text": _("Alt text"),
            "visibility": _("Who can see it"),
            "licence": _("Licence"),
            "show_camera_facts": _("Show camera and exposure details"),
        }
        help_texts = {"licence": _("What others may do with it. New photos get the licence chosen on your profile.")}
        widgets = {"caption": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["licence"].required = False  # not sent (a client that predates licences): unchanged
        if self.instance.pk:
            self.initial["tags"] = [tag.name for tag in self.instance.tags.all()]
