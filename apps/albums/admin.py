"""Albums in the admin: cover thumbnails, photo counts, search by title or owner."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from apps.albums.models import Album, AlbumEntry
from apps.photos.admin import small_thumbnail


class AlbumEntryInline(admin.TabularInline):
    model = AlbumEntry
    fields = ("photo", "position")
    raw_id_fields = ("photo",)
    extra = 0


@admin.register(Album)
class AlbumAdmin(admin.ModelAdmin):
    list_display = ("cover_thumbnail", "title", "owner", "photo_count", "created_at")
    search_fields = ("title", "description", "owner__username")
    list_select_related = ("owner", "cover")
    raw_id_fields = ("owner", "cover")
    inlines = [AlbumEntryInline]
    date_hierarchy = "created_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Album]:
        return (
            super().get_queryset(request).annotate(photo_count=Count("entries")).prefetch_related("cover__renditions")
        )

    @admin.display(description="")
    def cover_thumbnail(self, album: Album) -> str:
        return small_thumbnail(album.cover) if album.cover else "—"

    @admin.display(description="photos", ordering="photo_count")
    def photo_count(self, album: Album) -> int:
        return album.photo_count  # type: ignore[attr-defined]
