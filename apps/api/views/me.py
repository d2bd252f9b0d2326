"""API: the caller's own account: what others see of them (name, bio), their licence for new
photos, their email digest choice, and their unread count. Read with GET, change with PATCH.

The serializer lives here, beside its one view: it is the only one that shows a person's
email address, and only ever to that person.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes, throttle_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts import services as account_services
from apps.accounts.models import User
from apps.api.views.common import ERRORS, THROTTLES, request_body, signed_in_user
from apps.notifications import services as notification_services
from apps.notifications.models import DigestFrequency
from apps.photos.models import Licence


class MeSerializer(serializers.ModelSerializer[User]):
    default_licence = serializers.ChoiceField(
        choices=Licence.choices, help_text="What new photos are licensed under; photos already up keep theirs."
    )
    notification_digest = serializers.ChoiceField(
        choices=DigestFrequency.choices,
        help_text="`daily`: unread notifications are emailed once a day; `off`: never.",
    )
    unread_notification_count = serializers.IntegerField(
        read_only=True, help_text="Unread notification groups (the header's count)."
    )
    url = serializers.SerializerMethodField(help_text="Your profile page.")

    class Meta:
        model = User
        fields = (
            "username",
            "display_name",
            "bio",
            "email",
            "default_licence",
            "notification_digest",
            "unread_notification_count",
            "avatar_url",
            "url",
        )
        read_only_fields = ("username", "email", "unread_notification_count", "avatar_url", "url")
        extra_kwargs = {
            "email": {"help_text": "Yours, shown to you alone; change it on the site's account page."},
            "avatar_url": {"help_text": "Empty for the initials placeholder."},
        }

    def get_url(self, person: User) -> str:
        return reverse("profile", args=[person.username])

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # DRF drops fields it does not know, so `{"username": "x"}` would answer 200 and change
        # nothing: say so instead.
        writable = {name for name, field in self.fields.items() if not field.read_only}
        refused = sorted(set(self.initial_data) - writable)
        if refused:
            raise serializers.ValidationError(
                {name: [f"Cannot be changed here; you may change {', '.join(sorted(writable))}."] for name in refused}
            )
        return attrs


@extend_schema(methods=["GET"], responses={200: MeSerializer, **ERRORS})
@extend_schema(methods=["PATCH"], request=MeSerializer, responses={200: MeSerializer, **ERRORS})
@api_view(["GET", "PATCH"])
@permission_classes([IsAuthenticated])
@throttle_classes(THROTTLES)
def me(request: Request) -> Response:
    """Your account. PATCH any of `display_name`, `bio`, `default_licence` and
    `notification_digest`; anything else, a value out of range or a digest the service refuses
    is a 400 that changes nothing."""
    user = signed_in_user(request)
    if request.method == "PATCH":
        serializer = MeSerializer(user, data=request_body(request), partial=True)
        serializer.is_valid(raise_exception=True)
        changes = serializer.validated_data
        # Both or neither: a refusal raised inside rolls the profile's change back too.
        with transaction.atomic():
            if "notification_digest" in changes:
                try:
                    notification_services.notification_digest_set(user=user, frequency=changes["notification_digest"])
                except notification_services.NotificationRefused as refusal:
                    raise serializers.ValidationError({"notification_digest": [str(refusal)]}) from refusal
            account_services.profile_update(
                user=user,
                display_name=changes.get("display_name", user.display_name),
                bio=changes.get("bio", user.bio),
                default_licence=changes.get("default_licence", ""),  # "": unchanged
            )
    return Response(MeSerializer(user).data, headers={"Cache-Control": "private, no-cache"})
