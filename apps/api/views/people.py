"""API: People: profiles and following."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, permission_classes, throttle_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.models import User
from apps.api import serializers as s
from apps.api.views.common import (
    ERRORS,
    THROTTLES,
    signed_in_user,
)
from apps.social import selectors as social_selectors
from apps.social import services as social_services


def _person(user: User, viewer: User | AnonymousUser) -> dict[str, Any]:
    # Not a field: PersonSerializer's `following`, which depends on who asks.
    user.following = social_selectors.user_is_followed_by(person=user, viewer=viewer)  # type: ignore[attr-defined]
    counts = social_selectors.person_counts(user_id=user.pk)  # live; the columns are a minute-old copy
    user.follower_count, user.following_count = counts.followers, counts.following
    return s.PersonSerializer(user).data


@extend_schema(responses={200: s.PersonSerializer, **ERRORS})
@api_view(["GET"])
def person_detail(request: Request, username: str) -> Response:
    person = get_object_or_404(User, username=username, is_active=True)
    return Response(_person(person, request.user))


@extend_schema(request=None, responses={200: s.FollowSerializer, **ERRORS})
@api_view(["POST", "DELETE"])
@permission_classes([IsAuthenticated])
@throttle_classes(THROTTLES)
def follow(request: Request, username: str) -> Response:
    """POST to follow, DELETE to unfollow; either twice changes nothing."""
    person = get_object_or_404(User, username=username, is_active=True)
    following = request.method == "POST"
    count = social_services.follow_set(follower=signed_in_user(request), followee=person, following=following)
    return Response({"following": following, "count": count})


follow.cls.throttle_scope = "follow"  # type: ignore[attr-defined]  # ScopedRateThrottle reads it; APIView has none
