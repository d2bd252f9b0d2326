"""API: Photos: lists, multipart upload, detail, edit and delete."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.http import http_date
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view, permission_classes, throttle_classes
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticatedOrReadOnly
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.models import User
from apps.albums import selectors as album_selectors
from apps.api import serializers as s
from apps.api.error_pages import error_body
from apps.api.views.common import (
    ERRORS,
    PAGE_PARAMETERS,
    THROTTLES,
    conditional_response,
    encoded_page,
    photo_page_response,
    share_token_of,
    signed_in_user,
    validated,
    viewer_context,
)
from apps.photos import selectors as photo_selectors
from apps.photos import services as photo_services
from apps.photos import uploads
from apps.photos.models import Licence, PhotoStatus, Visibility
from apps.social import selectors as social_selectors
from photosite.http import number_from_text


@extend_schema(
    parameters=[
        OpenApiParameter("user", str, description="Only this person's photos."),
        OpenApiParameter(
            "order", str, enum=["taken"], description="With `user`: their timeline, newest taken (else uploaded) first."
        ),
        OpenApiParameter("month", str, description="With `order=taken`: from the end of this month back, YYYY-MM."),
        OpenApiParameter("liked", bool, description="The photos you liked, newest like first (signed in)."),
        OpenApiParameter("tag", str, description="Only photos with this tag."),
        OpenApiParameter(
            "album", int, description="Only the photos of this album, in its order (an unlisted one with its `k`)."
        ),
        OpenApiParameter(
            "q", str, description="Full-text search (title, tags, names, caption), best first; your own photos too."
        ),
        OpenApiParameter("camera", str, description="Search filter: the camera as photos show it (any case)."),
        OpenApiParameter("lens", str, description="Search filter: the lens as photos show it (any case)."),
        OpenApiParameter(
            "licence", str, enum=Licence.values, description="Search filter: only photos under this licence."
        ),
        OpenApiParameter("date_from", str, description="Search filter: taken (else uploaded) on or after, YYYY-MM-DD."),
        OpenApiParameter("date_to", str, description="Search filter: taken (else uploaded) on or before, YYYY-MM-DD."),
        *PAGE_PARAMETERS,
    ],
    responses={200: s.PhotoPageSerializer, 304: None, **ERRORS},
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
def photo_list(request: Request) -> HttpResponse:
    """GET the newest public photos (or one person's, their timeline, a tag's, an album's, a search's,
    the ones you liked); POST uploads one."""
    if request.method == "POST":
        return _photo_upload(request)
    params = request.query_params
    searched = any(params.get(name) for name in ("camera", "lens", "licence", "date_from", "date_to"))
    if params.get("q") or searched:  # with a tag too, the tag is one more filter
        try:
            filters = photo_selectors.search_filters_from(params)
        except photo_selectors.SearchFiltersRejected as rejection:
            field, _, message = str(rejection).partition(": ")
            raise ValidationError({field: [message]}) from None
        query = params.get("q", "").strip()[: photo_selectors.SEARCH_MAX_LENGTH]
        listing = photo_selectors.listing_search(query=query, viewer=request.user, filters=filters)
    elif params.get("liked") in ("1", "true"):
        listing = photo_selectors.listing_liked(viewer=signed_in_user(request))  # 401 for nobody
    elif params.get("user"):
        owner = get_object_or_404(User, username=params["user"], is_active=True)
        if params.get("order") == "taken":
            month = photo_selectors.month_from_text(params.get("month", ""))
            if params.get("month") and month is None:
                raise ValidationError({"month": ["Give the month as YYYY-MM."]})
            listing = photo_selectors.listing_timeline(owner=owner, viewer=request.user, month=month)
        else:
            listing = photo_selectors.listing_user(owner=owner, viewer=request.user)
    elif params.get("tag"):
        listing = photo_selectors.listing_tag(name=params["tag"].lstrip("#").lower())
    elif params.get("album"):
        album_id = number_from_text(params["album"])
        if album_id is None:
            raise ValidationError({"album": ["Give the album's id."]})
        album = album_selectors.album_get_for_viewer(
            album_id=album_id, viewer=request.user, share_token=share_token_of(request)
        )
        listing = photo_selectors.listing_album(album=album, viewer=request.user)
    else:
        listing = photo_selectors.listing_recent()
    return photo_page_response(request, listing)


def _photo_upload(request: Request) -> Response:
    if uploads.upload_body_too_big(content_length=int(request.META.get("CONTENT_LENGTH") or 0)):
        return Response(error_body(413, uploads.upload_too_big_message()), status=413)
    data = validated(s.PhotoUploadInputSerializer, request.data)
    photo = photo_services.photo_create(owner=signed_in_user(request), upload=data.pop("file"), **data)
    return Response(s.PhotoSerializer(photo, context=viewer_context(request)).data, status=status.HTTP_201_CREATED)


photo_list.cls.throttle_scope = "upload"  # type: ignore[attr-defined]  # ScopedRateThrottle reads it; APIView has none


@extend_schema(
    responses={200: s.PhotoSerializer, 304: None, **ERRORS},
    methods=["GET"],
    parameters=[
        OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER),
        OpenApiParameter("k", str, description="An unlisted photo's link token, as its owner's `share_url` carries."),
    ],
)
@extend_schema(request=s.PhotoUpdateInputSerializer, responses={200: s.PhotoSerializer, **ERRORS}, methods=["PATCH"])
@extend_schema(request=None, responses={204: None, **ERRORS}, methods=["DELETE"])
@api_view(["GET", "PATCH", "DELETE"])
@permission_classes([IsAuthenticatedOrReadOnly])
@throttle_classes(THROTTLES)
def photo_detail(request: Request, photo_id: int) -> HttpResponse:
    """One photo with its renditions. GET answers 304 to a matching If-None-Match."""
    if request.method == "GET":
        photo = photo_selectors.photo_get_for_viewer(
            photo_id=photo_id, viewer=request.user, share_token=share_token_of(request)
        )
        counts = social_selectors.photo_counts(photo_id=photo.pk)  # live; lists show the minute-old copy
        photo.like_count, photo.comment_count = counts.likes, counts.comments
        body, etag = encoded_page(s.PhotoSerializer(photo, context=viewer_context(request)).data)
        # A public photo opened without a link token is the same for every visitor, and was read
        # from the cached card and the counts' versions: kept whole for them, as its HTML page is.
        public = photo.visibility == Visibility.PUBLIC and photo.status == PhotoStatus.READY
        same_for_visitors = public and photo.hidden_at is None and not share_token_of(request)
        response = conditional_response(request, body, etag, same_for_visitors=same_for_visitors)
        response["Last-Modified"] = http_date(photo.updated_at.timestamp())
        return response
    photo = photo_selectors.photo_get_for_owner(photo_id=photo_id, owner=request.user)
    if request.method == "DELETE":
        photo_services.photo_delete(photo_id=photo.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)
    changes = validated(s.PhotoUpdateInputSerializer, request.data)
    current = {
        "title": photo.title,
        "caption": photo.caption,
        "alt_text": photo.alt_text,
        "visibility": photo.visibility,
        "show_camera_facts": photo.show_camera_facts,
        "licence": photo.licence,
        "tags": None,
    }
    photo_services.photo_update(photo=photo, **{**current, **changes})
    updated = photo_selectors.photo_get_for_owner(photo_id=photo.pk, owner=request.user)
    return Response(s.PhotoSerializer(updated, context=viewer_context(request)).data)
