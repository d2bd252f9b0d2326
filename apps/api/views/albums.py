"""API: Albums: lists, detail, their photos and cover."""

from __future__ import annotations

from typing import Any

from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.models import User
from apps.albums import selectors as album_selectors
from apps.albums import services as album_services
from apps.api import serializers as s
from apps.api.views.common import (
    ERRORS,
    request_body,
    share_token_of,
    signed_in_user,
    validated,
    viewer_context,
)


def _album(request: Request, album_id: int, share_token: str = "") -> dict[str, Any]:
    viewer = request.user
    album = album_selectors.album_get_for_viewer(album_id=album_id, viewer=viewer, share_token=share_token)
    shown = album_selectors.album_list_for_owner(owner=album.owner, viewer=viewer, album_id=album.pk, with_tags=True)
    if not shown:  # staff opening someone's unlisted album without its link: not in their lists
        raise Http404("No such album.")
    return s.AlbumSerializer(shown[0], context=viewer_context(request)).data


@extend_schema(
    parameters=[OpenApiParameter("user", str, required=True, description="Whose albums.")],
    responses={200: s.AlbumSerializer(many=True), **ERRORS},
    methods=["GET"],
)
@extend_schema(request=s.AlbumInputSerializer, responses={201: s.AlbumSerializer, **ERRORS}, methods=["POST"])
@api_view(["GET", "POST"])
@permission_classes([IsAuthenticatedOrReadOnly])
def album_list(request: Request) -> Response:
    """GET a person's albums (`?user=`); POST creates one of yours."""
    if request.method == "POST":
        data = validated(s.AlbumInputSerializer, request.data)
        album = album_services.album_create(owner=signed_in_user(request), **data)
        return Response(_album(request, album.pk), status=status.HTTP_201_CREATED)
    username = request.query_params.get("user", "")
    if not username:
        raise ValidationError({"user": ["Say whose albums: ?user=<username>."]})
    owner = get_object_or_404(User, username=username, is_active=True)
    listed = album_selectors.album_list_for_owner(owner=owner, viewer=request.user, with_tags=True)
    return Response(s.AlbumSerializer(listed, many=True, context=viewer_context(request)).data)


@extend_schema(
    responses={200: s.AlbumSerializer, **ERRORS},
    methods=["GET"],
    parameters=[OpenApiParameter("k", str, description="An unlisted album's link token, as its `share_url` carries.")],
)
@extend_schema(request=s.AlbumInputSerializer, responses={200: s.AlbumSerializer, **ERRORS}, methods=["PATCH"])
@extend_schema(request=None, responses={204: None, **ERRORS}, methods=["DELETE"])
@api_view(["GET", "PATCH", "DELETE"])
@permission_classes([IsAuthenticatedOrReadOnly])
def album_detail(request: Request, album_id: int) -> Response:
    if request.method == "GET":
        return Response(_album(request, album_id, share_token_of(request)))
    album = album_selectors.album_get_for_owner(album_id=album_id, owner=request.user)
    if request.method == "DELETE":
        album_services.album_delete(album=album)
        return Response(status=status.HTTP_204_NO_CONTENT)
    current = {"title": album.title, "description": album.description, "visibility": album.visibility}
    data = validated(s.AlbumInputSerializer, {**current, **request_body(request)})
    album_services.album_update(album=album, **data)
    return Response(_album(request, album.pk))


@extend_schema(request=s.AlbumPhotosInputSerializer, responses={200: s.AlbumSerializer, **ERRORS})
@api_view(["POST", "PUT", "DELETE"])
@permission_classes([IsAuthenticated])
def album_photos(request: Request, album_id: int) -> Response:
    """POST appends photos, PUT sets the exact order (every photo once), DELETE removes photos."""
    album = album_selectors.album_get_for_owner(album_id=album_id, owner=request.user)
    photo_ids = validated(s.AlbumPhotosInputSerializer, request.data)["photos"]
    if request.method == "POST":
        album_services.album_add_photos(album=album, photo_ids=photo_ids)
    elif request.method == "PUT":
        album_services.album_reorder(album=album, photo_ids=photo_ids)
    else:
        for photo_id in photo_ids:
            album_services.album_remove_photo(album=album, photo_id=photo_id)
    return Response(_album(request, album.pk))


@extend_schema(request=s.AlbumCoverInputSerializer, responses={200: s.AlbumSerializer, **ERRORS})
@api_view(["PUT"])
@permission_classes([IsAuthenticated])
def album_cover(request: Request, album_id: int) -> Response:
    album = album_selectors.album_get_for_owner(album_id=album_id, owner=request.user)
    album_services.album_set_cover(album=album, photo_id=validated(s.AlbumCoverInputSerializer, request.data)["photo"])
    return Response(_album(request, album.pk))
