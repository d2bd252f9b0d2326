"""Reads for people: search, retired user names, API tokens, data exports."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from apps.accounts.models import ApiToken, DataExport, RetiredUsername, User


def people_matching(*, query: str, limit: int = 6) -> list[User]:
    """People whose user name or display name contains the query, most followed first."""
    words = query.split()[:4]
    if not words:
        return []
    people = User.objects.filter(is_active=True)
    for word in words:
        people = people.filter(Q(username__icontains=word) | Q(display_name__icontains=word))
    return list(people.order_by("-follower_count", "username")[:limit])


def username_is_retired(*, username: str) -> bool:
    """Whether a deleted account held this user name within the cooling-off period."""
    since = timezone.now() - timedelta(days=settings.USERNAME_COOLING_OFF_DAYS)
    return RetiredUsername.objects.filter(username=username.lower(), retired_at__gt=since).exists()


# --- API tokens -------------------------------------------------------------------------

TOKEN_PREFIX = "pst_"  # noqa: S105 (not a secret: it says what a leaked string is (secret scanners can match it)


def token_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_for_key(*, key: str) -> ApiToken | None:
    """The live token this key belongs to, with its user; None if unknown, expired or its owner is inactive."""
    if not key or len(key) > 200:
        return None
    token = ApiToken.objects.select_related("user").filter(digest=token_digest(key)).first()
    if token is None or token.is_expired or not token.user.is_active:
        return None
    return token


def api_token_list_for_user(*, user: User) -> list[ApiToken]:
    """Everyone's own tokens, newest first, expired ones included (shown as expired until revoked)."""
    return list(ApiToken.objects.filter(user=user))


# --- Data export ------------------------------------------------------------------------


def data_export_latest_for_user(*, user: User) -> DataExport | None:
    return DataExport.objects.filter(user=user).first()


def data_export_for_owner(*, export_id: int, user: User) -> DataExport | None:
    return DataExport.objects.filter(pk=export_id, user=user).first()
