"""API: share links to one's own private or unlisted photos and albums: list and make them
per item, revoke one by its id or token. The owner's alone: anyone else gets a 404."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, permission_classes, throttle_classes
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from apps.albums import selectors as album_selectors
from apps.api.views.common import ERRORS, THROTTLES, may_hand_out_links, signed_in_user, validated
from apps.photos import selectors as photo_selectors
from apps.sharing import selectors as share_selectors
from apps.sharing import services as share_services
from apps.sharing.models import ShareLink


class ShareLinkSerializer(serializers.ModelSerializer[ShareLink]):
    """A link as its owner sees it. Through a read-only API token the token and the URL are cut to
    their first characters: a link opens a private photo for anyone and outlives the API token,
    so handing one out is a write, and a token that may only read must not be able to."""

    token = serializers.SerializerMethodField(help_text="Whole with a session or read-write token, else cut.")
    url = serializers.SerializerMethodField(
        help_text="The link to hand out: `/s/<token>/` on this site; null through a read-only token."
    )
    has_password = serializers.BooleanField(read_only=True)
    expired = serializers.SerializerMethodField()

    class Meta:
        model = ShareLink
        fields = (
            "id",
            "token",
            "url",
            "photo",
            "album",
            "created_at",
            "expires_at",
            "expired",
            "has_password",
            "view_count",
        )
        read_only_fields = fields

    def _whole(self) -> bool:
        return may_hand_out_links(self.context["request"])

    def get_token(self, link: ShareLink) -> str:
        return link.token if self._whole() else link.masked_token

    def get_url(self, link: ShareLink) -> str | None:
        if not self._whole():
            return None
        request: Request = self.context["request"]
        return request.build_absolute_uri(reverse("share_open", args=[link.token]))

    def get_expired(self, link: ShareLink) -> bool:
        return link.expires_at is not None and link.expires_at <= timezone.now()


class ShareLinkInputSerializer(serializers.Serializer[dict[str, Any]]):
    expires_in_days = serializers.ChoiceField(
        choices=share_services.EXPIRY_DAYS,
        required=False,
        allow_null=True,
        default=None,
        help_text="1, 7 or 30; null or absent: never.",
    )
    password = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        trim_whitespace=False,
        min_length=share_services.PASSWORD_MIN_LENGTH,
        max_length=share_services.PASSWORD_MAX_LENGTH,
        help_text="Asked of whoever opens the link; absent or empty: none.",
    )


def _answer(request: Request, links: list[ShareLink] | ShareLink, **kwargs: Any) -> Response:
    many = isinstance(links, list)
    return Response(ShareLinkSerializer(links, many=many, context={"request": request}).data, **kwargs)


def _made(request: Request, **target: Any) -> Response:
    data = validated(ShareLinkInputSerializer, request.data)
    try:
        link = share_services.share_link_create(owner=signed_in_user(request), **data, **target)
    except share_services.ShareRefused as refusal:
        raise ValidationError({"non_field_errors": [str(refusal)]}) from None
    return _answer(request, link, status=status.HTTP_201_CREATED)


@extend_schema(responses={200: ShareLinkSerializer(many=True), **ERRORS}, methods=["GET"])
@extend_schema(request=ShareLinkInputSerializer, responses={201: ShareLinkSerializer, **ERRORS}, methods=["POST"])
@api_view(["GET", "POST"])
@permission_classes([IsAuthenticated])
@throttle_classes(THROTTLES)
def photo_shares(request: Request, photo_id: int) -> Response:
    """GET your photo's live share links; POST makes one (private or unlisted photos only)."""
    photo = photo_selectors.photo_get_for_owner(photo_id=photo_id, owner=request.user)
    if request.method == "POST":
        return _made(request, photo=photo)
    return _answer(request, share_selectors.share_link_list_for_photo(owner=signed_in_user(request), photo=photo))


@extend_schema(responses={200: ShareLinkSerializer(many=True), **ERRORS}, methods=["GET"])
@extend_schema(request=ShareLinkInputSerializer, responses={201: ShareLinkSerializer, **ERRORS}, methods=["POST"])
@api_view(["GET", "POST"])
@permission_classes([IsAuthenticated])
@throttle_classes(THROTTLES)
def album_shares(request: Request, album_id: int) -> Response:
    """GET your album's live share links; POST makes one (private or unlisted albums only)."""
    album = album_selectors.album_get_for_owner(album_id=album_id, owner=request.user)
    if request.method == "POST":
        return _made(request, album=album)
    return _answer(request, share_selectors.share_link_list_for_album(owner=signed_in_user(request), album=album))


@extend_schema(request=None, responses={204: None, **ERRORS})
@api_view(["DELETE"])
@permission_classes([IsAuthenticated])
def share_detail(request: Request, share: str) -> Response:
    """Revoke one of your share links (by its id or its token): it stops opening at once."""
    link = share_selectors.share_link_get_for_owner(owner=signed_in_user(request), share=share)
    share_services.share_link_revoke(link=link)
    return Response(status=status.HTTP_204_NO_CONTENT)


# Making links draws on the same per-person budget as the pages' form (settings.WRITE_LIMITS["share"]).
photo_shares.cls.throttle_scope = "share"  # type: ignore[attr-defined]  # ScopedRateThrottle reads it; APIView has none
album_shares.cls.throttle_scope = "share"  # type: ignore[attr-defined]  # ScopedRateThrottle reads it; APIView has none
