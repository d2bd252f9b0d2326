"""What the API says about a notification (apps/api/views/notifications.py): the same text
and the same visibility rules as the page, from NotificationView."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers


class NotificationActorSerializer(serializers.Serializer[Any]):
    username = serializers.CharField()
    name = serializers.CharField(source="shown_name")


class NotificationPhotoSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    title = serializers.CharField()


class NotificationSerializer(serializers.Serializer[Any]):  # reads NotificationView
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=["like", "comment", "mention", "follow"])
    text = serializers.CharField()
    url = serializers.CharField(help_text='The page it is about ("" when the reader may no longer see it).')
    actor = NotificationActorSerializer(allow_null=True, help_text="The newest person in the group.")
    actor_count = serializers.IntegerField(help_text="How many people are in the group.")
    photo = NotificationPhotoSerializer(
        allow_null=True, help_text="None for follows, or a photo one may no longer see."
    )
    unread = serializers.BooleanField()
    updated_at = serializers.DateTimeField()


class NotificationsReadSerializer(serializers.Serializer[dict[str, Any]]):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=100,
        help_text="Mark only these read; leave out to mark every one read.",
    )
