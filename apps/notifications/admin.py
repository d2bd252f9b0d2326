"""Notifications in the admin, read-only: they are the worker's record of what happened."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from apps.notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("recipient", "kind", "photo", "last_actor", "actor_count", "updated_at", "read_at")
    list_filter = ("kind", ("read_at", admin.EmptyFieldListFilter))
    search_fields = ("recipient__username",)
    list_select_related = ("recipient", "photo", "last_actor")
    raw_id_fields = ("recipient", "photo", "comment", "last_actor")
    date_hierarchy = "updated_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Notification | None = None) -> bool:
        return False
