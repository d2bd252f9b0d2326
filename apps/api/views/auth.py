"""API: Tokens: a user name and password for an API token, and revoking it."""

from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.authtoken.models import Token
from rest_framework.decorators import api_view, permission_classes, throttle_classes
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api import serializers as s
from apps.api.views.common import (
    ERRORS,
    THROTTLES,
    validated,
)


@extend_schema(request=s.TokenInputSerializer, responses={200: s.TokenSerializer, **ERRORS}, methods=["POST"])
@extend_schema(request=None, responses={204: None, **ERRORS}, methods=["DELETE"])
@api_view(["POST", "DELETE"])
@permission_classes([AllowAny])
@throttle_classes(THROTTLES)
def token(request: Request) -> Response:
    """POST a user name and password for your API token; DELETE (with the token) revokes it."""
    if request.method == "DELETE":
        if not request.user.is_authenticated:
            raise PermissionDenied("Send the token to revoke in the Authorization header.")
        Token.objects.filter(user=request.user).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
    data = validated(s.TokenInputSerializer, request.data)
    user = authenticate(request._request, username=data["username"], password=data["password"])
    if user is None or not user.is_active:
        raise ValidationError({"non_field_errors": ["Wrong user name or password."]})
    key, _ = Token.objects.get_or_create(user=user)
    return Response({"token": key.key})


token.cls.throttle_scope = "login"  # type: ignore[attr-defined]  # ScopedRateThrottle reads it; APIView has none
