"""/api/v1: everything the site does, for apps and scripts. Each view parses input,
calls the same service or selector as the HTML view, and shapes the answer."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.conf import settings
from django.contrib.auth import authenticate
from django.core import signing
from django.shortcuts import get_object_or_404
from django.utils.http import http_date, quote_etag
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers as drf_serializers
from rest_framework import status
from rest_framework.authtoken.models import Token
from rest_framework.decorators import api_view, permission_classes, throttle_classes
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.permissions import SAFE_METHODS, AllowAny, IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle, ScopedRateThrottle, UserRateThrottle

from apps.accounts.models import User
from apps.albums import selectors as album_selectors
from apps.albums import services as album_services
from apps.api import serializers as s
from apps.api.errors import error_body
from apps.moderation import services as moderation_services
from apps.photos import selectors as photo_selectors
from apps.photos import services as photo_services
from apps.photos.views import DIRECT_UPLOAD_MAX_AGE, DIRECT_UPLOAD_SALT, UPLOAD_OVERHEAD_BYTES
from apps.social import selectors as social_selectors
from apps.social import services as social_services
from photosite.storage import presigned_upload

ERRORS = {code: s.ErrorSerializer for code in (400, 401, 403, 404, 429)}
MAX_LIMIT = 100


class WriteScopedThrottle(ScopedRateThrottle):
    """A tighter limit for one kind of write (logins, uploads, comments), on top of the
    per-client defaults; reads of the same endpoint are not counted against it."""

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)


# Every counter lives in the default cache (Redis), so all web processes share them.
THROTTLES = [AnonRateThrottle, UserRateThrottle, WriteScopedThrottle]


def _body(request: Request) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise ValidationError({"non_field_errors": ["Send a JSON object."]})
    return dict(request.data.items())


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit", "")
    if not raw:
        return settings.PHOTOS_PAGE_SIZE
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise ValidationError({"limit": [f"Give a whole number from 1 to {MAX_LIMIT}."]})
    return int(raw)


def _photo_page(request: Request, listing: photo_selectors.Listing) -> Response:
    page = listing.page(cursor=request.query_params.get("cursor") or None, limit=_limit(request), with_tags=True)
    next_url = None
    if page.next_cursor:
        query = request.query_params.copy()
        query["cursor"] = page.next_cursor
        next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
    photos = s.PhotoSerializer(page.items, many=True).data
    return Response({"results": photos, "next": next_url})


PAGE_PARAMETERS = [
    OpenApiParameter("cursor", str, description="From the previous page's `next`."),
    OpenApiParameter("limit", int, description=f"Photos per page, 1 to {MAX_LIMIT}."),
]


# --- Tokens ------------------------------------------------------------------------


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
    data = _valid(s.TokenInputSerializer, request.data)
    user = authenticate(request._request, username=data["username"], password=data["password"])
    if user is None or not user.is_active:
        raise ValidationError({"non_field_errors": ["Wrong user name or password."]})
    key, _ = Token.objects.get_or_create(user=user)
    return Response({"token": key.key})


token.cls.throttle_scope = "login"  # type: ignore[attr-defined]


def _valid(serializer_class: type[drf_serializers.Serializer], data: Any, **kwargs: Any) -> dict[str, Any]:
    serializer = serializer_class(data=data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


# --- People ------------------------------------------------------------------------


def _person(user: User, viewer: Any) -> dict[str, Any]:
    user.following = social_selectors.user_is_followed_by(person=user, viewer=viewer)  # type: ignore[attr-defined]
    return s.PersonSerializer(user).data


@extend_schema(responses={200: s.PersonSerializer, **ERRORS})
@api_view(["GET"])
def person_detail(request: Request, username: str) -> Response:
    person = get_object_or_404(User, username=username, is_active=True)
    return Response(_person(person, request.user))


@extend_schema(request=None, responses={200: s.FollowSerializer, **ERRORS})
@api_view(["POST", "DELETE"])
@permission_classes([IsAuthenticated])
def follow(request: Request, username: str) -> Response:
    """POST to follow, DELETE to unfollow; either twice changes nothing."""
    person = get_object_or_404(User, username=username, is_active=True)
    following = request.method == "POST"
    count = social_services.follow_set(follower=request.user, followee=person, following=following)  # type: ignore[arg-type]
    return Response({"following": following, "count": count})


# --- Photos ------------------------------------------------------------------------


@extend_schema(
    parameters=[
        OpenApiParameter("user", str, description="Only this person's photos."),
        OpenApiParameter("tag", str, description="Only photos with this tag."),
        OpenApiParameter("album", int, description="Only the photos of this album, in its order."),
        OpenApiParameter("q", str, description="Full-text search (title, tags, names, caption), best first."),
        *PAGE_PARAMETERS,
    ],
    responses={200: s.PhotoPageSerializer, **ERRORS},
    methods=["GET"],
    operation_id="photos_list",
)
@extend_schema(
    request={"multipart/form-data": s.PhotoUploadInputSerializer},
    responses={201: s.PhotoSerializer, 413: s.ErrorSerializer, 503: s.ErrorSerializer, **ERRORS},
    methods=["POST"],
)
@api_view(["GET", "POST"])
@permission_classes([IsAuthenticatedOrReadOnly])
@throttle_classes(THROTTLES)
def photos(request: Request) -> Response:
    """GET the newest public photos (or one person's, a tag's, an album's, a search's); POST uploads one."""
    if request.method == "POST":
        return _photo_upload(request)
    params = request.query_params
    if params.get("q"):
        listing = photo_selectors.listing_search(query=params["q"].strip()[: photo_selectors.SEARCH_MAX_LENGTH])
    elif params.get("user"):
        owner = get_object_or_404(User, username=params["user"], is_active=True)
        listing = photo_selectors.listing_user(owner=owner, viewer=request.user)
    elif params.get("tag"):
        listing = photo_selectors.listing_tag(name=params["tag"].lower())
    elif params.get("album"):
        if not params["album"].isdigit():
            raise ValidationError({"album": ["Give the album's id."]})
        album = album_selectors.album_get(album_id=int(params["album"]))
        listing = photo_selectors.listing_album(album=album, viewer=request.user)
    else:
        listing = photo_selectors.listing_recent()
    return _photo_page(request, listing)


def _photo_upload(request: Request) -> Response:
    declared = int(request.META.get("CONTENT_LENGTH") or 0)
    if declared > settings.PHOTO_MAX_UPLOAD_BYTES + UPLOAD_OVERHEAD_BYTES:
        return Response(error_body(413, "The file is too big."), status=413)
    data = _valid(s.PhotoUploadInputSerializer, request.data)
    photo = photo_services.photo_create(owner=request.user, upload=data.pop("file"), **data)  # type: ignore[arg-type]
    return Response(s.PhotoSerializer(photo).data, status=status.HTTP_201_CREATED)


photos.cls.throttle_scope = "upload"  # type: ignore[attr-defined]


@extend_schema(
    responses={200: s.PhotoSerializer, 304: None, **ERRORS},
    methods=["GET"],
    parameters=[OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER)],
)
@extend_schema(request=s.PhotoUpdateInputSerializer, responses={200: s.PhotoSerializer, **ERRORS}, methods=["PATCH"])
@extend_schema(request=None, responses={204: None, **ERRORS}, methods=["DELETE"])
@api_view(["GET", "PATCH", "DELETE"])
@permission_classes([IsAuthenticatedOrReadOnly])
def photo_detail(request: Request, photo_id: int) -> Response:
    """One photo with its renditions. GET answers 304 to a matching If-None-Match."""
    if request.method == "GET":
        photo = photo_selectors.photo_get_for_viewer(photo_id=photo_id, viewer=request.user)
        data = s.PhotoSerializer(photo).data
        etag = quote_etag(hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:32])
        headers = {
            "ETag": etag,
            "Last-Modified": http_date(photo.updated_at.timestamp()),
            "Cache-Control": "private, no-cache",
        }
        if etag in [tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")]:
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers=headers)
        return Response(data, headers=headers)
    photo = photo_selectors.photo_get_for_owner(photo_id=photo_id, owner=request.user)
    if request.method == "DELETE":
        photo_services.photo_delete(photo_id=photo.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)
    changes = _valid(s.PhotoUpdateInputSerializer, request.data)
    current = {
        "title": photo.title,
        "caption": photo.caption,
        "alt_text": photo.alt_text,
        "visibility": photo.visibility,
        "show_camera_facts": photo.show_camera_facts,
        "tags": None,
    }
    photo_services.photo_update(photo=photo, **{**current, **changes})
    return Response(s.PhotoSerializer(photo_selectors.photo_get_for_owner(photo_id=photo.pk, owner=request.user)).data)


@extend_schema(request=s.DirectUploadStartSerializer, responses={200: s.DirectUploadSerializer, **ERRORS})
@api_view(["POST"])
@permission_classes([IsAuthenticated])
@throttle_classes(THROTTLES)
def upload_start(request: Request) -> Response:
    """Step 1 of an upload straight to storage: a presigned POST for one file (S3 only)."""
    data = _valid(s.DirectUploadStartSerializer, request.data)
    if data["size"] > settings.PHOTO_MAX_UPLOAD_BYTES:
        return Response(error_body(413, "The file is too big."), status=413)
    key = photo_services.incoming_key_new()
    post = presigned_upload(key, max_bytes=settings.PHOTO_MAX_UPLOAD_BYTES)
    if post is None:
        raise NotFound("Direct uploads need S3; POST the file to /api/v1/photos/ instead.")
    grant = signing.dumps({"key": key, "user": request.user.pk}, salt=DIRECT_UPLOAD_SALT)
    return Response({**post, "token": grant})


upload_start.cls.throttle_scope = "upload"  # type: ignore[attr-defined]


@extend_schema(request=s.DirectUploadCompleteSerializer, responses={201: s.PhotoSerializer, **ERRORS})
@api_view(["POST"])
@permission_classes([IsAuthenticated])
def upload_complete(request: Request) -> Response:
    """Step 2: the file is in storage; check it and record the photo."""
    data = _valid(s.DirectUploadCompleteSerializer, request.data)
    try:
        claim = signing.loads(data.pop("token"), salt=DIRECT_UPLOAD_SALT, max_age=DIRECT_UPLOAD_MAX_AGE)
    except signing.BadSignature:
        raise PermissionDenied("This upload has expired or is not yours.") from None
    if claim.get("user") != request.user.pk:
        raise PermissionDenied("This upload has expired or is not yours.")
    photo = photo_services.photo_create_from_incoming(owner=request.user, incoming_key=claim["key"], **data)  # type: ignore[arg-type]
    return Response(s.PhotoSerializer(photo).data, status=status.HTTP_201_CREATED)


@extend_schema(request=None, responses={200: s.LikeSerializer, **ERRORS})
@api_view(["POST", "DELETE"])
@permission_classes([IsAuthenticated])
def like(request: Request, photo_id: int) -> Response:
    """POST to like, DELETE to unlike; either twice changes nothing."""
    photo = photo_selectors.photo_get_for_viewer(photo_id=photo_id, viewer=request.user)
    liked = request.method == "POST"
    count = social_services.like_set(user=request.user, photo=photo, liked=liked)  # type: ignore[arg-type]
    return Response({"liked": liked, "count": count})


@extend_schema(responses={200: s.CommentSerializer(many=True), **ERRORS}, methods=["GET"])
@extend_schema(request=s.CommentInputSerializer, responses={201: s.CommentSerializer, **ERRORS}, methods=["POST"])
@api_view(["GET", "POST"])
@permission_classes([IsAuthenticatedOrReadOnly])
@throttle_classes(THROTTLES)
def comments(request: Request, photo_id: int) -> Response:
    """A photo's comments, oldest first; POST adds one."""
    photo = photo_selectors.photo_get_for_viewer(photo_id=photo_id, viewer=request.user)
    if request.method == "GET":
        listed = social_selectors.comment_list_for_photo(photo=photo, viewer=request.user)
        return Response(s.CommentSerializer(listed, many=True).data)
    data = _valid(s.CommentInputSerializer, request.data)
    comment = social_services.comment_create(author=request.user, photo=photo, body=data["body"])  # type: ignore[arg-type]
    return Response(s.CommentSerializer(comment).data, status=status.HTTP_201_CREATED)


comments.cls.throttle_scope = "comment"  # type: ignore[attr-defined]


@extend_schema(request=None, responses={204: None, **ERRORS})
@api_view(["DELETE"])
@permission_classes([IsAuthenticated])
def comment_detail(request: Request, comment_id: int) -> Response:
    comment = social_selectors.comment_get_for_viewer(comment_id=comment_id, viewer=request.user)
    if not social_services.comment_may_delete(comment=comment, user=request.user):  # type: ignore[arg-type]
        raise PermissionDenied("Only its author or the photo's owner can delete a comment.")
    social_services.comment_delete(comment_id=comment.pk)
    return Response(status=status.HTTP_204_NO_CONTENT)


# --- Feeds -------------------------------------------------------------------------


@extend_schema(parameters=PAGE_PARAMETERS, responses={200: s.PhotoPageSerializer, **ERRORS})
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def feed(request: Request) -> Response:
    """New public photos of the people you follow."""
    return _photo_page(request, photo_selectors.listing_feed(viewer=request.user))


@extend_schema(parameters=PAGE_PARAMETERS, responses={200: s.PhotoPageSerializer, **ERRORS})
@api_view(["GET"])
def popular(request: Request) -> Response:
    """Public photos by likes in the last seven days."""
    return _photo_page(request, photo_selectors.listing_popular())


# --- Albums ------------------------------------------------------------------------


def _album(album_id: int, viewer: Any) -> dict[str, Any]:
    album = album_selectors.album_get(album_id=album_id)
    shown = album_selectors.album_list_for_owner(owner=album.owner, viewer=viewer, album_id=album.pk, with_tags=True)
    return s.AlbumSerializer(shown[0]).data


@extend_schema(
    parameters=[OpenApiParameter("user", str, required=True, description="Whose albums.")],
    responses={200: s.AlbumSerializer(many=True), **ERRORS},
    methods=["GET"],
)
@extend_schema(request=s.AlbumInputSerializer, responses={201: s.AlbumSerializer, **ERRORS}, methods=["POST"])
@api_view(["GET", "POST"])
@permission_classes([IsAuthenticatedOrReadOnly])
def albums(request: Request) -> Response:
    """GET a person's albums (`?user=`); POST creates one of yours."""
    if request.method == "POST":
        data = _valid(s.AlbumInputSerializer, request.data)
        album = album_services.album_create(owner=request.user, **data)  # type: ignore[arg-type]
        return Response(_album(album.pk, request.user), status=status.HTTP_201_CREATED)
    username = request.query_params.get("user", "")
    if not username:
        raise ValidationError({"user": ["Say whose albums: ?user=<username>."]})
    owner = get_object_or_404(User, username=username, is_active=True)
    listed = album_selectors.album_list_for_owner(owner=owner, viewer=request.user, with_tags=True)
    return Response(s.AlbumSerializer(listed, many=True).data)


@extend_schema(responses={200: s.AlbumSerializer, **ERRORS}, methods=["GET"])
@extend_schema(request=s.AlbumInputSerializer, responses={200: s.AlbumSerializer, **ERRORS}, methods=["PATCH"])
@extend_schema(request=None, responses={204: None, **ERRORS}, methods=["DELETE"])
@api_view(["GET", "PATCH", "DELETE"])
@permission_classes([IsAuthenticatedOrReadOnly])
def album_detail(request: Request, album_id: int) -> Response:
    if request.method == "GET":
        return Response(_album(album_id, request.user))
    album = album_selectors.album_get_for_owner(album_id=album_id, owner=request.user)
    if request.method == "DELETE":
        album_services.album_delete(album=album)
        return Response(status=status.HTTP_204_NO_CONTENT)
    data = _valid(s.AlbumInputSerializer, {"title": album.title, "description": album.description, **_body(request)})
    album_services.album_update(album=album, **data)
    return Response(_album(album.pk, request.user))


@extend_schema(request=s.AlbumPhotosInputSerializer, responses={200: s.AlbumSerializer, **ERRORS})
@api_view(["POST", "PUT", "DELETE"])
@permission_classes([IsAuthenticated])
def album_photos(request: Request, album_id: int) -> Response:
    """POST appends photos, PUT sets the exact order (every photo once), DELETE removes photos."""
    album = album_selectors.album_get_for_owner(album_id=album_id, owner=request.user)
    photo_ids = _valid(s.AlbumPhotosInputSerializer, request.data)["photos"]
    if request.method == "POST":
        album_services.album_add_photos(album=album, photo_ids=photo_ids)
    elif request.method == "PUT":
        album_services.album_reorder(album=album, photo_ids=photo_ids)
    else:
        for photo_id in photo_ids:
            album_services.album_remove_photo(album=album, photo_id=photo_id)
    return Response(_album(album.pk, request.user))


@extend_schema(request=s.AlbumCoverInputSerializer, responses={200: s.AlbumSerializer, **ERRORS})
@api_view(["PUT"])
@permission_classes([IsAuthenticated])
def album_cover(request: Request, album_id: int) -> Response:
    album = album_selectors.album_get_for_owner(album_id=album_id, owner=request.user)
    album_services.album_set_cover(album=album, photo_id=_valid(s.AlbumCoverInputSerializer, request.data)["photo"])
    return Response(_album(album.pk, request.user))


# --- Reports -----------------------------------------------------------------------


@extend_schema(request=s.ReportInputSerializer, responses={201: s.ReportSerializer, **ERRORS})
@api_view(["POST"])
@permission_classes([IsAuthenticated])
def reports(request: Request) -> Response:
    """Report a photo or a comment to the moderators."""
    data = _valid(s.ReportInputSerializer, request.data)
    comment = None
    if "comment" in data:
        comment = social_selectors.comment_get_for_viewer(comment_id=data["comment"], viewer=request.user)
        photo = comment.photo
    else:
        photo = photo_selectors.photo_get_for_viewer(photo_id=data["photo"], viewer=request.user)
    report = moderation_services.report_create(
        reporter=request.user,
        photo=photo,
        comment=comment,
        reason=data["reason"],
        details=data["details"],  # type: ignore[arg-type]
    )
    return Response({"id": report.pk, "status": report.status}, status=status.HTTP_201_CREATED)
