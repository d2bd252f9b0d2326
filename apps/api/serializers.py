"""What the API reads and writes. Output serializers only shape data; input ones only
parse it. Every rule (who may see or change what) lives in the services and selectors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.accounts.models import User
from apps.albums.models import Album
from apps.albums.selectors import album_share_path
from apps.moderation.models import ReportReason
from apps.photos.models import Licence, Photo, Visibility
from apps.photos.selectors import RenditionLike, photo_share_path, renditions_of
from apps.photos.tags import TagsRejected, tags_parse
from apps.photos.uploads import upload_too_big_message
from apps.social.models import Comment

# The type argument is what a serializer reads from: a model, or a dict for the ones that
# only describe a response the view builds itself or only parse input.


class ErrorDetailSerializer(serializers.Serializer[dict[str, Any]]):
    status = serializers.IntegerField()
    message = serializers.CharField()
    # The metaclass moves declared fields off the class, so this never hides Serializer.fields.
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))  # type: ignore[assignment]


class ErrorSerializer(serializers.Serializer[dict[str, Any]]):
    error = ErrorDetailSerializer()


class PersonBriefSerializer(serializers.Serializer[User]):
    username = serializers.CharField()
    display_name = serializers.CharField()
    avatar_url = serializers.CharField()


class PersonSerializer(PersonBriefSerializer):
    bio = serializers.CharField()
    follower_count = serializers.IntegerField()
    following_count = serializers.IntegerField()
    following = serializers.BooleanField(help_text="Whether you follow this person (false when signed out).")
    url = serializers.SerializerMethodField()

    def get_url(self, person: User) -> str:
        return reverse("profile", args=[person.username])


class RenditionSerializer(serializers.Serializer[RenditionLike]):
    size = serializers.IntegerField()
    format = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()
    bytes = serializers.IntegerField()
    url = serializers.CharField(read_only=True, help_text="Plain (CDN) for public photos, signed for private ones.")


def _may_share(context: Mapping[str, Any], owner_id: int) -> bool:
    """Whether an unlisted item's link goes in the answer: to its owner only, and not through a
    read-only API token (context "may_share", views.common.viewer_context): handing a link out
    is a write, as with the share links' own endpoints."""
    viewer = context.get("viewer")
    return viewer is not None and viewer.pk == owner_id and bool(context.get("may_share"))


_DATETIME = serializers.DateTimeField()  # DRF's own rendering of a time (UTC, ISO 8601, "Z")


class PhotoSerializer(serializers.ModelSerializer[Photo]):
    owner = PersonBriefSerializer()
    tags = serializers.SerializerMethodField()
    renditions = serializers.SerializerMethodField()
    camera_facts = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()
    share_url = serializers.SerializerMethodField(
        help_text="An unlisted photo's link (with its `k` token), its owner's (not a read-only token's); else null."
    )
    hidden = serializers.SerializerMethodField()
    licence_url = serializers.SerializerMethodField(
        help_text="The licence's deed on creativecommons.org; null for all rights reserved."
    )

    class Meta:
        model = Photo
        fields = (
            "id",
            "title",
            "caption",
            "alt_text",
            "visibility",
            "licence",
            "licence_url",
            "status",
            "failure_reason",
            "hidden",
            "owner",
            "tags",
            "like_count",
            "comment_count",
            "original_width",
            "original_height",
            "placeholder_color",
            "camera_facts",
            "renditions",
            "url",
            "share_url",
            "created_at",
            "updated_at",
        )

    def to_representation(self, photo: Photo) -> dict[str, Any]:
        """The fields above, in their order, built directly: DRF's generic path built the
        model's fields anew for each serializer and walked them for every photo, a sixth of
        an API photo detail (bench/pages.py --profile). tests/api/test_list_cache.py holds
        this to what the generic path gives."""
        owner = photo.owner
        return {
            "id": photo.pk,
            "title": photo.title,
            "caption": photo.caption,
            "alt_text": photo.alt_text,
            "visibility": photo.visibility,
            "licence": photo.licence,
            "licence_url": self.get_licence_url(photo),
            "status": photo.status,
            "failure_reason": photo.failure_reason,
            "hidden": self.get_hidden(photo),
            "owner": {"username": owner.username, "display_name": owner.display_name, "avatar_url": owner.avatar_url},
            "tags": self.get_tags(photo),
            "like_count": photo.like_count,
            "comment_count": photo.comment_count,
            "original_width": photo.original_width,
            "original_height": photo.original_height,
            "placeholder_color": photo.placeholder_color,
            "camera_facts": self.get_camera_facts(photo),
            "renditions": self.get_renditions(photo),
            "url": self.get_url(photo),
            "share_url": self.get_share_url(photo),
            "created_at": _DATETIME.to_representation(photo.created_at),
            "updated_at": _DATETIME.to_representation(photo.updated_at),
        }

    def get_tags(self, photo: Photo) -> list[str]:
        return sorted(tag.name for tag in photo.tags.all())

    @extend_schema_field(RenditionSerializer(many=True))
    def get_renditions(self, photo: Photo) -> list[dict[str, Any]]:
        """Smallest first, from the rows read with the page or card (no query, no model per rendition)."""
        return [
            {
                "size": rendition.size,
                "format": rendition.format,
                "width": rendition.width,
                "height": rendition.height,
                "bytes": rendition.bytes,
                "url": rendition.url,
            }
            for rendition in renditions_of(photo)
        ]

    def get_camera_facts(self, photo: Photo) -> dict[str, str]:
        return photo.camera_facts if photo.show_camera_facts else {}

    def get_url(self, photo: Photo) -> str:
        return reverse("photo_detail", args=[photo.pk])

    def get_share_url(self, photo: Photo) -> str | None:
        if photo.visibility != Visibility.UNLISTED or not _may_share(self.context, photo.owner_id):
            return None
        return photo_share_path(photo=photo)

    def get_hidden(self, photo: Photo) -> bool:
        return photo.hidden_at is not None

    def get_licence_url(self, photo: Photo) -> str | None:
        return photo.licence_url or None


class PhotoPageSerializer(serializers.Serializer[dict[str, Any]]):
    results = PhotoSerializer(many=True)
    next = serializers.CharField(allow_null=True, help_text="The next page's URL, or null on the last page.")


@extend_schema_field(
    {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}], "example": "sunset beach"}
)
class TagsInputField(serializers.Field[list[str], object, list[str], dict[str, Any]]):
    """Tags as a list of names or one string of words: both clean to a list of tag names."""

    def to_internal_value(self, data: object) -> list[str]:
        if isinstance(data, list) and all(isinstance(item, str) for item in data):
            data = " ".join(data)
        if not isinstance(data, str):
            raise serializers.ValidationError("Send tags as a list of words or one string.")
        try:
            return tags_parse(data)
        except TagsRejected as rejection:
            raise serializers.ValidationError(str(rejection)) from None

    def to_representation(self, value: list[str]) -> list[str]:
        return value


class PhotoDetailsInputSerializer(serializers.Serializer[dict[str, Any]]):
    title = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    caption = serializers.CharField(max_length=5000, required=False, allow_blank=True, default="")
    alt_text = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    visibility = serializers.ChoiceField(choices=Visibility.choices, required=False, default=Visibility.PUBLIC)
    tags = TagsInputField(required=False, default=list)
    licence = serializers.ChoiceField(
        choices=Licence.choices, required=False, default="", help_text="Defaults to your profile's licence."
    )
    album = serializers.IntegerField(
        source="album_id", required=False, allow_null=True, default=None, help_text="Put it in this album of yours."
    )


class PhotoUploadInputSerializer(PhotoDetailsInputSerializer):
    file = serializers.FileField(help_text="The image: JPEG, PNG, WebP, HEIC, AVIF or GIF.")

    def validate_file(self, upload: UploadedFile[bytes]) -> UploadedFile[bytes]:
        # An upload's size is only None before it is read; FileField has refused empty ones.
        if (upload.size or 0) > settings.PHOTO_MAX_UPLOAD_BYTES:
            raise serializers.ValidationError(upload_too_big_message(upload.size))
        return upload


class PhotoUpdateInputSerializer(serializers.Serializer[dict[str, Any]]):
    title = serializers.CharField(max_length=200, required=False)
    caption = serializers.CharField(max_length=5000, required=False, allow_blank=True)
    alt_text = serializers.CharField(max_length=500, required=False, allow_blank=True)
    visibility = serializers.ChoiceField(choices=Visibility.choices, required=False)
    licence = serializers.ChoiceField(choices=Licence.choices, required=False)
    show_camera_facts = serializers.BooleanField(required=False)
    tags = TagsInputField(required=False)


class DirectUploadStartSerializer(serializers.Serializer[dict[str, Any]]):
    filename = serializers.CharField(max_length=255, required=False, default="")
    size = serializers.IntegerField(min_value=1, help_text="The file's size in bytes.")


class DirectUploadSerializer(serializers.Serializer[dict[str, Any]]):
    url = serializers.CharField(help_text="POST the file here as multipart, with every field below, file last.")
    fields = serializers.DictField(child=serializers.CharField())  # type: ignore[assignment]  # as in ErrorDetailSerializer
    token = serializers.CharField(help_text="Hand this back to /uploads/complete/.")


class DirectUploadCompleteSerializer(PhotoDetailsInputSerializer):
    token = serializers.CharField()
    filename = serializers.CharField(max_length=255, required=False, default="")


class CommentSerializer(serializers.ModelSerializer[Comment]):
    author = PersonBriefSerializer()
    hidden = serializers.SerializerMethodField()

    class Meta:
        model = Comment
        fields = ("id", "photo", "author", "body", "hidden", "created_at")

    def get_hidden(self, comment: Comment) -> bool:
        return comment.hidden_at is not None


class CommentInputSerializer(serializers.Serializer[dict[str, Any]]):
    body = serializers.CharField(max_length=2000, allow_blank=True, trim_whitespace=False)


class LikeSerializer(serializers.Serializer[dict[str, Any]]):
    liked = serializers.BooleanField()
    count = serializers.IntegerField()


class FollowSerializer(serializers.Serializer[dict[str, Any]]):
    following = serializers.BooleanField()
    count = serializers.IntegerField(help_text="The person's follower count.")


class AlbumSerializer(serializers.ModelSerializer[Album]):
    owner = PersonBriefSerializer()
    photo_count = serializers.IntegerField(help_text="Photos in it that you may see.")
    cover = PhotoSerializer(source="cover_photo", allow_null=True)
    share_url = serializers.SerializerMethodField(
        help_text="An unlisted album's link (with its `k` token), its owner's (not a read-only token's); else null."
    )

    class Meta:
        model = Album
        fields = (
            "id",
            "title",
            "description",
            "visibility",
            "owner",
            "photo_count",
            "cover",
            "share_url",
            "created_at",
            "updated_at",
        )

    def get_share_url(self, album: Album) -> str | None:
        if album.visibility != Visibility.UNLISTED or not _may_share(self.context, album.owner_id):
            return None
        return album_share_path(album=album)


class AlbumInputSerializer(serializers.Serializer[dict[str, Any]]):
    title = serializers.CharField(max_length=200)
    description = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    visibility = serializers.ChoiceField(choices=Visibility.choices, required=False, default=Visibility.PUBLIC)


class AlbumPhotosInputSerializer(serializers.Serializer[dict[str, Any]]):
    photos = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1, max_length=1000)


class AlbumCoverInputSerializer(serializers.Serializer[dict[str, Any]]):
    photo = serializers.IntegerField(min_value=1)


class ReportInputSerializer(serializers.Serializer[dict[str, Any]]):
    photo = serializers.IntegerField(min_value=1, required=False, help_text="The photo reported (or give a comment).")
    comment = serializers.IntegerField(min_value=1, required=False, help_text="The comment reported.")
    reason = serializers.ChoiceField(choices=ReportReason.choices)
    details = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if ("photo" in data) == ("comment" in data):
            raise serializers.ValidationError("Report either a photo or a comment.")
        return data


class ReportSerializer(serializers.Serializer[dict[str, Any]]):
    id = serializers.IntegerField()
    status = serializers.CharField()


class TokenInputSerializer(serializers.Serializer[dict[str, Any]]):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, style={"input_type": "password"})
    otp = serializers.CharField(
        max_length=32, required=False, help_text="A TOTP or recovery code, for accounts with two-factor on."
    )
    name = serializers.CharField(max_length=80, required=False, help_text="Shown on your API tokens page.")
    scope = serializers.ChoiceField(
        choices=["read", "write"], default="write", help_text="`read`: the token can read but change nothing."
    )
    expires_in_days = serializers.IntegerField(
        min_value=1, max_value=settings.API_TOKEN_MAX_DAYS, required=False, help_text="Default: 90."
    )


class TokenSerializer(serializers.Serializer[dict[str, Any]]):
    token = serializers.CharField(help_text="Send as `Authorization: Token <token>`. Shown this once.")
    name = serializers.CharField()
    scope = serializers.CharField()
    expires_at = serializers.DateTimeField()
