"""Reads for photos. Every function applies the visibility rules; views never filter by hand."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import Prefetch, QuerySet
from django.http import Http404

from apps.accounts.models import User
from apps.photos.models import Photo, PhotoStatus, Rendition, Visibility
from photosite import cache

HOME_PAGE_SIZE = 48
HOME_GRID_TTL = 30  # seconds; writes bump the version, so this only bounds a stale refill
HOME_GRID_STALE_TTL = 300
PHOTO_CARD_TTL = 300


def home_grid_key() -> str:
    """The home grid's rendered HTML: the same for every viewer, since it shows public photos only."""
    return f"photos:home:html:v{cache.version_get('photos')}"


def photo_card_key(photo_id: int) -> str:
    return f"photos:card:{photo_id}"


def photo_cache_invalidate(*, photo_id: int) -> None:
    """Forget everything cached that shows this photo (its card and every grid)."""
    cache.delete(photo_card_key(photo_id))
    cache.version_bump("photos")


def _with_card_data(photos: QuerySet[Photo]) -> QuerySet[Photo]:
    return photos.select_related("owner").prefetch_related(
        Prefetch("renditions", queryset=Rendition.objects.order_by("size"))
    )


def photo_list_home(*, limit: int = HOME_PAGE_SIZE) -> list[Photo]:
    """Newest public photos whose renditions exist (what everyone sees on the home page).

    Not cached here: the home view caches the grid's HTML, which is the expensive part.
    """
    photos = Photo.objects.filter(visibility=Visibility.PUBLIC, status=PhotoStatus.READY, hidden_at__isnull=True)
    return list(_with_card_data(photos).order_by("-created_at", "-id")[:limit])


def photo_list_unfinished_for_owner(*, owner: User | AnonymousUser) -> list[Photo]:
    """The owner's own uploads still processing or failed, shown above the grid."""
    if not owner.is_authenticated:
        return []
    photos = Photo.objects.filter(owner=owner).exclude(status=PhotoStatus.READY)
    return list(photos.order_by("-created_at", "-id")[:24])


def photo_get_for_viewer(*, photo_id: int, viewer: User | AnonymousUser) -> Photo:
    """A photo as this viewer may see it; 404 (not 403) for a private one, so ids leak nothing.

    The card is cached whatever its visibility; the checks below run on every call.
    """
    photo = cache.get_or_compute(
        photo_card_key(photo_id),
        lambda: _with_card_data(Photo.objects.all()).filter(pk=photo_id).first(),
        ttl=PHOTO_CARD_TTL,
    )
    if photo is None:
        raise Http404("No such photo.")
    is_owner = viewer.is_authenticated and photo.owner_id == viewer.pk
    if photo.visibility == Visibility.PRIVATE and not is_owner:
        raise Http404("No such photo.")
    if photo.status != PhotoStatus.READY and not is_owner:
        raise Http404("No such photo.")
    if photo.hidden_at is not None and not (is_owner or viewer.is_staff):
        raise Http404("No such photo.")
    return photo


def photo_get_for_owner(*, photo_id: int, owner: User | AnonymousUser) -> Photo:
    """A photo its owner is about to change; anyone else gets a 404."""
    if not owner.is_authenticated:
        raise Http404("No such photo.")
    photo = Photo.objects.filter(pk=photo_id, owner=owner).first()
    if photo is None:
        raise Http404("No such photo.")
    return photo


def photo_ids_needing_renditions(*, include_failed: bool = False) -> list[int]:
    """Photos whose renditions are missing or were made by an older pipeline."""
    from apps.photos.services import PIPELINE_VERSION, renditions_expected

    statuses = [PhotoStatus.READY, PhotoStatus.FAILED] if include_failed else [PhotoStatus.READY]
    needing = []
    photos = Photo.objects.filter(status__in=statuses).only("id", "status", "original_width", "original_height")
    current = f"-v{PIPELINE_VERSION}-"
    for photo in photos.prefetch_related(
        Prefetch("renditions", queryset=Rendition.objects.only("photo_id", "size", "format", "file"))
    ).iterator(chunk_size=500):
        have = {(r.size, r.format) for r in photo.renditions.all() if current in r.file.name}
        if (
            photo.status != PhotoStatus.READY
            or not renditions_expected(width=photo.original_width, height=photo.original_height) <= have
        ):
            needing.append(photo.pk)
    return needing


PROFILE_PAGE_SIZE = 60


def profile_grid_key(*, owner_id: int) -> str:
    return f"photos:profile:{owner_id}:html:v{cache.version_get('photos')}"


def photo_list_for_profile(*, owner: User, viewer: User | AnonymousUser, limit: int = PROFILE_PAGE_SIZE) -> list[Photo]:
    """A person's photos, newest first: everything ready for its owner, public and visible ones for others."""
    photos = Photo.objects.filter(owner=owner, status=PhotoStatus.READY)
    if not (viewer.is_authenticated and viewer.pk == owner.pk):
        photos = photos.filter(visibility=Visibility.PUBLIC, hidden_at__isnull=True)
    return list(_with_card_data(photos).order_by("-created_at", "-id")[:limit])
