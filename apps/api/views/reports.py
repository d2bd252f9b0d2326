"""API: Reports of photos and comments to the moderators."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api import serializers as s
from apps.api.views.common import (
    ERRORS,
    share_token_of,
    signed_in_user,
    validated,
)
from apps.moderation import services as moderation_services
from apps.photos import selectors as photo_selectors
from apps.social import selectors as social_selectors


@extend_schema(request=s.ReportInputSerializer, responses={201: s.ReportSerializer, **ERRORS})
@api_view(["POST"])
@permission_classes([IsAuthenticated])
def reports(request: Request) -> Response:
    """Report a photo or a comment to the moderators."""
    data = validated(s.ReportInputSerializer, request.data)
    comment = None
    if "comment" in data:
        comment = social_selectors.comment_get_for_viewer(
            comment_id=data["comment"], viewer=request.user, share_token=share_token_of(request)
        )
        photo = comment.photo
    else:
        photo = photo_selectors.photo_get_for_viewer(
            photo_id=data["photo"], viewer=request.user, share_token=share_token_of(request)
        )
    report = moderation_services.report_create(
        reporter=signed_in_user(request),
        photo=photo,
        comment=comment,
        reason=data["reason"],
        details=data["details"],
    )
    return Response({"id": report.pk, "status": report.status}, status=status.HTTP_201_CREATED)
