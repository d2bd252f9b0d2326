"""API authentication by named, hashed, expiring tokens (apps.accounts.models.ApiToken).

`Authorization: Token <key>` (or `Bearer <key>`). A read-only token may read anything its
owner may, and write nothing: that is decided here, for every view alike, so no view's
permission classes can forget it. The one write it may do is revoking itself.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed, PermissionDenied
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request

from apps.accounts.models import ApiToken, User
from apps.accounts.selectors import api_token_for_key
from apps.accounts.services import api_token_touch

KEYWORDS = (b"token", b"bearer")


class ApiTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() not in KEYWORDS:
            return None
        if len(parts) != 2:
            raise AuthenticationFailed("Send `Authorization: Token <token>`, the token without spaces.")
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError as error:
            raise AuthenticationFailed("That token is not valid.") from error
        token = api_token_for_key(key=key)
        if token is None:
            raise AuthenticationFailed("That token is not valid, or it has expired or been revoked.")
        if not token.may_write and request.method not in SAFE_METHODS and not _revokes_itself(request):
            raise PermissionDenied("This token is read-only. Make a read-write token to change anything.")
        api_token_touch(token=token)
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        return 'Token realm="api"'  # a 401, not a 403, for a missing or bad token


def _revokes_itself(request: Request) -> bool:
    return request.method == "DELETE" and request.path == reverse("api_token")


# drf-spectacular's extension base registers subclasses through an unannotated __init_subclass__.
class ApiTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """Tells the OpenAPI schema (and so the API docs and the fuzzer) how to send a token."""

    target_class = "apps.api.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`: make keys on your account's API tokens page, or POST /api/v1/auth/token/.",
        }
