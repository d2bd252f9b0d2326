"""Albums in the admin: cover thumbnails, photo counts, search by title or owner."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypedDict

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from apps.albums.models import Album, AlbumEntry
from apps.albums.services import album_delete
from apps.photos.admin import small_thumbnail
from apps.photos.caching import album_changed_on_commit

if TYPE_CHECKING:
    # For annotations only: django_stubs_ext comes with django-stubs, a development install.
    from django_stubs_ext import WithAnnotations


class AlbumCounts(TypedDict):
    photo_count: int  # what AlbumAdmin.get_queryset annotates each album with


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

    # Through the album services' invalidation, as the owner's own edits go: an admin may hide
    # an album, take a photo out of it or delete it, and visitors' kept pages must follow.
    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        album: Album = form.instance
        album_changed_on_commit(album_id=album.pk, owner_id=album.owner_id)

    def delete_model(self, request: HttpRequest, obj: Album) -> None:
        album_delete(album=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Album]) -> None:
        for album in queryset:
            album_delete(album=album)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Album]:
        albums: QuerySet[Album] = super().get_queryset(request)
        return albums.annotate(photo_count=Count("entries")).prefetch_related("cover__renditions")

    @admin.display(description="")
    def cover_thumbnail(self, album: Album) -> str:
        return small_thumbnail(album.cover) if album.cover else "—"

    @admin.display(description="photos", ordering="photo_count")
    def photo_count(self, album: WithAnnotations[Album, AlbumCounts]) -> int:
        return album.photo_count
