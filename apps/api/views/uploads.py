"""API: Uploads straight to storage: a presigned POST, then completing it."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import api_view, permission_classes, throttle_classes
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api import serializers as s
from apps.api.error_pages import error_body
from apps.api.views.common import (
    ERRORS,
    THROTTLES,
    signed_in_user,
    validated,
    viewer_context,
)
from apps.photos import services as photo_services
from apps.photos import uploads


@extend_schema(request=s.DirectUploadStartSerializer, responses={200: s.DirectUploadSerializer, **ERRORS})
@api_view(["POST"])
@permission_classes([IsAuthenticated])
@throttle_classes(THROTTLES)
def upload_start(request: Request) -> Response:
    """Step 1 of an upload straight to storage: a presigned POST for one file (S3 only)."""
    data = validated(s.DirectUploadStartSerializer, request.data)
    try:
        grant = uploads.direct_upload_grant(owner_id=signed_in_user(request).pk, size=data["size"])
    except uploads.UploadTooBig as rejection:
        return Response(error_body(413, str(rejection)), status=413)
    if grant is None:
        raise NotFound("Direct uploads need S3; POST the file to /api/v1/photos/ instead.")
    return Response(grant.as_json())


# Its own scope: what counts against "upload" is the photo made, by whichever door
# (multipart or completing a grant), not the grant asked for.
upload_start.cls.throttle_scope = "upload_grant"  # type: ignore[attr-defined]  # ScopedRateThrottle reads it; APIView has none


@extend_schema(request=s.DirectUploadCompleteSerializer, responses={201: s.PhotoSerializer, **ERRORS})
@api_view(["POST"])
@permission_classes([IsAuthenticated])
@throttle_classes(THROTTLES)
def upload_complete(request: Request) -> Response:
    """Step 2: the file is in storage; check it and record the photo. Each grant makes one photo."""
    owner = signed_in_user(request)
    data = validated(s.DirectUploadCompleteSerializer, request.data)
    try:
        incoming_key = uploads.direct_upload_claim(owner_id=owner.pk, token=data.pop("token"))
        photo = photo_services.photo_create_from_incoming(owner=owner, incoming_key=incoming_key, **data)
    except uploads.GrantInvalid as refusal:  # GrantUsed included: the grant made its photo already
        raise PermissionDenied(str(refusal)) from None
    return Response(s.PhotoSerializer(photo, context=viewer_context(request)).data, status=status.HTTP_201_CREATED)


upload_complete.cls.throttle_scope = "upload"  # type: ignore[attr-defined]  # ScopedRateThrottle reads it; APIView has none
