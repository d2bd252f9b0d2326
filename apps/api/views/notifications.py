"""API: the caller's own notifications, newest news first, and marking them read."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers as drf_serializers
from rest_framework.decorators import api_view, permission_classes, throttle_classes
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from apps.api.views.common import ERRORS, PAGE_PARAMETERS, THROTTLES, page_limit, signed_in_user, validated
from apps.notifications import selectors, services
from apps.notifications.serializers import NotificationSerializer, NotificationsReadSerializer

NOTIFICATION_PAGE = inline_serializer(
    "NotificationPage",
    fields={
        "results": NotificationSerializer(many=True),
        "next": drf_serializers.URLField(allow_null=True),
        "unread": drf_serializers.IntegerField(help_text="Unread notification groups (the header's count)."),
    },
)


@extend_schema(
    parameters=[parameter for parameter in PAGE_PARAMETERS if parameter.name in ("cursor", "limit")],
    responses={200: NOTIFICATION_PAGE, **ERRORS},
)
@api_view(["GET"])
@permission_classes([IsAuthenticated])
@throttle_classes(THROTTLES)
def notification_list(request: Request) -> Response:
    """The caller's notifications, newest first, a page at a time (`next` for the following
    page). Reading them does not mark them read: POST to `read/` for that."""
    user = signed_in_user(request)
    page = selectors.notification_page(
        user=user, cursor=request.query_params.get("cursor") or None, limit=page_limit(request)
    )
    next_url = None
    if page.next_cursor:
        query = request.query_params.copy()
        query["cursor"] = page.next_cursor
        next_url = request.build_absolute_uri(f"{request.path}?{query.urlencode()}")
    items = selectors.notification_views(notifications=page.items, viewer=user)
    results = NotificationSerializer(items, many=True).data
    return Response(
        {"results": results, "next": next_url, "unread": user.unread_notification_count},
        headers={"Cache-Control": "private, no-cache"},
    )


@extend_schema(
    request=NotificationsReadSerializer,
    responses={
        200: inline_serializer(
            "NotificationsRead",
            fields={
                "marked": drf_serializers.IntegerField(help_text="How many were unread and now are read."),
                "unread": drf_serializers.IntegerField(),
            },
        ),
        **ERRORS,
    },
)
@api_view(["POST"])
@permission_classes([IsAuthenticated])
@throttle_classes(THROTTLES)
def notifications_read(request: Request) -> Response:
    """Mark the caller's notifications read: those in `ids`, or every one (as of now) without it.
    Ids that are not the caller's are ignored."""
    user = signed_in_user(request)
    data = validated(NotificationsReadSerializer, request.data)
    ids = data.get("ids")
    marked = services.notifications_mark_read(user=user, ids=ids, through=None if ids else timezone.now())
    return Response({"marked": marked, "unread": user.unread_notification_count})
