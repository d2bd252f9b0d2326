"""Photos in the admin: thumbnails, search, filters, and bulk actions through the services."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Prefetch, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from apps.photos import services
from apps.photos.models import Photo, Rendition, SupersededFile, Tag
from photosite.http import AuthenticatedHttpRequest

if TYPE_CHECKING:
    # For annotations only: django_stubs_ext comes with django-stubs, a development install.
    from django_stubs_ext import WithAnnotations


class TagCounts(TypedDict):
    photo_count: int  # what TagAdmin.get_queryset annotates each tag with


def small_thumbnail(photo: Photo) -> str:
    """A 48 px preview from the prefetched renditions (the smallest JPEG), or the photo's status."""
    jpegs = sorted((r for r in photo.renditions.all() if r.format == "jpg"), key=lambda r: r.size)
    if not jpegs:
        return format_html('<span style="color:#6b7280">{}</span>', photo.get_status_display())
    return format_html('<img src="{}" alt="" style="height:48px;border-radius:4px">', jpegs[0].url)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "photo_count")
    search_fields = ("name",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Tag]:
        tags: QuerySet[Tag] = super().get_queryset(request)
        return tags.annotate(photo_count=Count("photos"))

    @admin.display(description="photos", ordering="photo_count")
    def photo_count(self, tag: WithAnnotations[Tag, TagCounts]) -> int:
        return tag.photo_count


@admin.register(Photo)
class PhotoAdmin(admin.ModelAdmin):
    list_display = ("thumbnail", "title", "owner", "visibility", "status", "created_at")
    list_filter = ("status", "visibility", ("hidden_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("title", "caption", "owner__username", "owner__email")
    list_select_related = ("owner",)
    readonly_fields = (
        "thumbnail",
        "key",
        "original",
        "original_format",
        "original_width",
        "original_height",
        "original_bytes",
        "original_sha256",
        "camera_facts",
        "status",
        "failure_reason",
        "created_at",
    )
    fields = ("thumbnail", "title", "caption", "alt_text", "visibility", "show_camera_facts", *readonly_fields[1:])
    actions = ["rerender", "hide", "unhide", "delete_with_files"]
    date_hierarchy = "created_at"
    list_per_page = 50

    def get_queryset(self, request: HttpRequest) -> QuerySet[Photo]:
        small = Rendition.objects.filter(size=320, format="jpg")
        return super().get_queryset(request).prefetch_related(Prefetch("renditions", queryset=small))

    @admin.display(description="")
    def thumbnail(self, photo: Photo) -> str:
        return small_thumbnail(photo)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # it would skip the storage cleanup
        return actions

    @admin.action(description="Render again", permissions=["change"])
    def rerender(self, request: HttpRequest, queryset: QuerySet[Photo]) -> None:
        photos = list(queryset)
        for photo in photos:
            services.photo_retry_renditions(photo=photo)
        self.message_user(request, f"Queued {len(photos)} photo(s) to render again.", messages.SUCCESS)

    @admin.action(description="Hide from everyone but the owner", permissions=["change"])
    def hide(self, request: AuthenticatedHttpRequest, queryset: QuerySet[Photo]) -> None:
        for photo in queryset.filter(hidden_at__isnull=True):
            services.photo_hide(photo=photo, moderator=request.user, reason="Hidden by a moderator")
        self.message_user(request, "Hidden.")

    @admin.action(description="Unhide", permissions=["change"])
    def unhide(self, request: HttpRequest, queryset: QuerySet[Photo]) -> None:
        for photo in queryset.filter(hidden_at__isnull=False):
            services.photo_unhide(photo=photo)
        self.message_user(request, "Visible again.")

    @admin.action(description="Delete, with their stored files", permissions=["delete"])
    def delete_with_files(self, request: HttpRequest, queryset: QuerySet[Photo]) -> None:
        photo_ids = list(queryset.values_list("pk", flat=True))
        for photo_id in photo_ids:
            services.photo_delete(photo_id=photo_id)
        self.message_user(request, f"Deleted {len(photo_ids)} photo(s); their files are removed by a job.")

    def delete_model(self, request: HttpRequest, obj: Photo) -> None:
        services.photo_delete(photo_id=obj.pk)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Photo]) -> None:
        for photo_id in queryset.values_list("pk", flat=True):
            services.photo_delete(photo_id=photo_id)

    def save_model(self, request: HttpRequest, obj: Photo, form: forms.ModelForm, change: bool) -> None:
        if change:  # through the service: visibility changes move files, caches are invalidated
            services.photo_update(
                photo=obj,
                title=obj.title,
                caption=obj.caption,
                alt_text=obj.alt_text,
                visibility=obj.visibility,
                show_camera_facts=obj.show_camera_facts,
            )  # tags are left as they are: the admin form does not show them
        else:
            super().save_model(request, obj, form, change)


@admin.register(SupersededFile)
class SupersededFileAdmin(admin.ModelAdmin):
    """What a re-render replaced and the hourly sweep removes when its grace period is up:
    for operators to see, not to edit (the photo services and the sweep own these rows)."""

    list_display = ("name", "photo_id", "delete_after", "created_at")
    search_fields = ("name",)
    ordering = ("delete_after", "id")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: SupersededFile | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: SupersededFile | None = None) -> bool:
        return False
