"""API: Likes and comments on photos."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import api_view, permission_classes, throttle_classes
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api import serializers as s
from apps.api.views.common import (
    ERRORS,
    THROTTLES,
    share_token_of,
    signed_in_user,
    validated,
)
from apps.photos import selectors as photo_selectors
from apps.social import selectors as social_selectors
from apps.social import services as social_services


@extend_schema(request=None, responses={200: s.LikeSerializer, **ERRORS})
@api_view(["POST", "DELETE"])
@permission_classes([IsAuthenticated])
@throttle_classes(THROTTLES)
def like(request: Request, photo_id: int) -> Response:
    """POST to like, DELETE to unlike; either twice changes nothing."""
    photo = photo_selectors.photo_get_for_viewer(
        photo_id=photo_id, viewer=request.user, share_token=share_token_of(request)
    )
    liked = request.method == "POST"
    count = social_services.like_set(user=signed_in_user(request), photo=photo, liked=liked)
    return Response({"liked": liked, "count": count})


like.cls.throttle_scope = "like"  # type: ignore[attr-defined]  # ScopedRateThrottle reads it; APIView has none


@extend_schema(responses={200: s.CommentSerializer(many=True), **ERRORS}, methods=["GET"])
@extend_schema(request=s.CommentInputSerializer, responses={201: s.CommentSerializer, **ERRORS}, methods=["POST"])
@api_view(["GET", "POST"])
@permission_classes([IsAuthenticatedOrReadOnly])
@throttle_classes(THROTTLES)
def comment_list(request: Request, photo_id: int) -> Response:
    """A photo's comments, oldest first; POST adds one."""
    photo = photo_selectors.photo_get_for_viewer(
        photo_id=photo_id, viewer=request.user, share_token=share_token_of(request)
    )
    if request.method == "GET":
        listed = social_selectors.comment_list_for_photo(photo=photo, viewer=request.user)
        return Response(s.CommentSerializer(listed, many=True).data)
    data = validated(s.CommentInputSerializer, request.data)
    comment = social_services.comment_create(author=signed_in_user(request), photo=photo, body=data["body"])
    return Response(s.CommentSerializer(comment).data, status=status.HTTP_201_CREATED)


comment_list.cls.throttle_scope = "comment"  # type: ignore[attr-defined]  # ScopedRateThrottle reads it; APIView has none


@extend_schema(request=None, responses={204: None, **ERRORS})
@api_view(["DELETE"])
@permission_classes([IsAuthenticated])
def comment_detail(request: Request, comment_id: int) -> Response:
    comment = social_selectors.comment_get_for_viewer(
        comment_id=comment_id, viewer=request.user, share_token=share_token_of(request)
    )
    if not social_services.comment_may_delete(comment=comment, user=signed_in_user(request)):
        raise PermissionDenied("Only its author or the photo's owner can delete a comment.")
    social_services.comment_delete(comment_id=comment.pk)
    return Response(status=status.HTTP_204_NO_CONTENT)
