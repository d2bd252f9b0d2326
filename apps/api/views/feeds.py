"""API: The following feed and Popular."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request

from apps.api import serializers as s
from apps.api.views.common import (
    ERRORS,
    PAGE_PARAMETERS,
    photo_page_response,
)
from apps.photos import selectors as photo_selectors


@extend_schema(parameters=PAGE_PARAMETERS, responses={200: s.PhotoPageSerializer, 304: None, **ERRORS})
@api_view(["GET"])
@permission_classes([IsAuthenticated])
def feed(request: Request) -> HttpResponse:
    """New public photos of the people you follow."""
    return photo_page_response(request, photo_selectors.listing_feed(viewer=request.user))


@extend_schema(parameters=PAGE_PARAMETERS, responses={200: s.PhotoPageSerializer, 304: None, **ERRORS})
@api_view(["GET"])
def popular(request: Request) -> HttpResponse:
    """Public photos by likes in the last seven days."""
    return photo_page_response(request, photo_selectors.listing_popular())
