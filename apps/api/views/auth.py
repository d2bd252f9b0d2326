"""API: Tokens: a user name and password (and a 2FA code, for those who use one) for a new
API token, and revoking the token a request is sent with.

Each POST makes a new named token (read-write unless asked otherwise, expiring after
API_TOKEN_DEFAULT_DAYS); people see and revoke them on their API tokens page. Failed
passwords count against the same limits as the login page.
"""

from __future__ import annotations

from datetime import timedelta

from allauth.account.adapter import get_adapter
from allauth.mfa.base.forms import AuthenticateForm
from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import api_view, permission_classes, throttle_classes
from rest_framework.exceptions import PermissionDenied, Throttled, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.models import ApiToken, User
from apps.accounts.services import api_token_create, api_token_revoke
from apps.api import serializers as s
from apps.api.views.common import (
    ERRORS,
    THROTTLES,
    validated,
)

WRONG = "Wrong user name or password."


@extend_schema(request=s.TokenInputSerializer, responses={200: s.TokenSerializer, **ERRORS}, methods=["POST"])
@extend_schema(request=None, responses={204: None, **ERRORS}, methods=["DELETE"])
@api_view(["POST", "DELETE"])
@permission_classes([AllowAny])
@throttle_classes(THROTTLES)
def token(request: Request) -> Response:
    """POST a user name and password (and `otp`, with two-factor on) for a new API token;
    DELETE (with a token) revokes that token."""
    if request.method == "DELETE":
        if not isinstance(request.auth, ApiToken):
            raise PermissionDenied("Send the token to revoke in the Authorization header.")
        api_token_revoke(user=request.auth.user, token_id=request.auth.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)
    data = validated(s.TokenInputSerializer, request.data)
    try:
        user = get_adapter(request._request).authenticate(
            request._request, username=data["username"], password=data["password"]
        )
    except DjangoValidationError as throttled:  # allauth's limit on failed logins for this name or address
        raise Throttled(detail="Too many failed attempts. Try again later.") from throttled
    if not isinstance(user, User) or not user.is_active:
        raise ValidationError({"non_field_errors": [WRONG]})
    if is_mfa_enabled(user):
        code = data.get("otp") or ""
        if not code:
            raise ValidationError({"otp": ["This account uses two-factor authentication: send a code as `otp`."]})
        second_factor = AuthenticateForm(user=user, data={"code": code})
        if not second_factor.is_valid():
            raise ValidationError({"otp": ["That code is not valid."]})
    new_token, key = api_token_create(
        user=user,
        name=data.get("name") or "API token",
        scope=data["scope"],
        lifetime=timedelta(days=data.get("expires_in_days") or settings.API_TOKEN_DEFAULT_DAYS),
    )
    return Response(
        {"token": key, "name": new_token.name, "scope": new_token.scope, "expires_at": new_token.expires_at}
    )


token.cls.throttle_scope = "login"  # type: ignore[attr-defined]  # ScopedRateThrottle reads it; APIView has none
