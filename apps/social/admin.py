"""Comments in the admin: search, filters, hide/unhide and delete through the services (counts stay right)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from apps.photos.admin import small_thumbnail
from apps.social import services
from apps.social.models import Comment, Follow, Like
from photosite.http import AuthenticatedHttpRequest


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = ("photo_thumbnail", "short_body", "author", "photo_link", "is_hidden", "created_at")
    list_filter = (("hidden_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("body", "author__username", "photo__title")
    list_select_related = ("author", "photo")
    readonly_fields = ("photo", "author", "body", "created_at", "hidden_at", "hidden_by")
    actions = ["hide", "unhide", "delete_comments"]
    date_hierarchy = "created_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Comment]:
        return super().get_queryset(request).prefetch_related("photo__renditions")

    @admin.display(description="")
    def photo_thumbnail(self, comment: Comment) -> str:
        return small_thumbnail(comment.photo)

    @admin.display(description="comment")
    def short_body(self, comment: Comment) -> str:
        return comment.body[:100]

    @admin.display(description="photo")
    def photo_link(self, comment: Comment) -> str:
        return format_html('<a href="/photos/{}/#comment-{}">{}</a>', comment.photo_id, comment.pk, comment.photo.title)

    @admin.display(description="hidden", boolean=True)
    def is_hidden(self, comment: Comment) -> bool:
        return comment.hidden_at is not None

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # it would skip the photo's comment count
        return actions

    @admin.action(description="Hide from everyone but the author", permissions=["change"])
    def hide(self, request: AuthenticatedHttpRequest, queryset: QuerySet[Comment]) -> None:
        for comment_id in queryset.values_list("pk", flat=True):
            services.comment_hide(comment_id=comment_id, moderator=request.user)
        self.message_user(request, "Hidden.")

    @admin.action(description="Unhide", permissions=["change"])
    def unhide(self, request: HttpRequest, queryset: QuerySet[Comment]) -> None:
        for comment_id in queryset.values_list("pk", flat=True):
            services.comment_unhide(comment_id=comment_id)
        self.message_user(request, "Visible again.")

    @admin.action(description="Delete", permissions=["delete"])
    def delete_comments(self, request: HttpRequest, queryset: QuerySet[Comment]) -> None:
        comment_ids = list(queryset.values_list("pk", flat=True))
        for comment_id in comment_ids:
            services.comment_delete(comment_id=comment_id)
        self.message_user(request, f"Deleted {len(comment_ids)} comment(s).")

    def delete_model(self, request: HttpRequest, obj: Comment) -> None:
        services.comment_delete(comment_id=obj.pk)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Follow)
class FollowAdmin(admin.ModelAdmin):
    list_display = ("follower", "followee", "created_at")
    search_fields = ("follower__username", "followee__username")
    list_select_related = ("follower", "followee")
    readonly_fields = ("follower", "followee", "created_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Follow | None = None) -> bool:
        return False  # a raw delete would skip the follower counts


@admin.register(Like)
class LikeAdmin(FollowAdmin):
    list_display = ("user", "photo", "created_at")
    search_fields = ("user__username", "photo__title")
    list_select_related = ("user", "photo")
    readonly_fields = ("user", "photo", "created_at")
