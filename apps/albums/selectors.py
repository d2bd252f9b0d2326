"""Reads for albums. An album has its own visibility (public, unlisted: by its link, private:
its owner alone); the photos in it still follow their own, so nobody sees through an album
a photo they could not see anyway."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, OuterRef, Q, Subquery
from django.http import Http404
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac

from apps.accounts.models import User
from apps.albums.models import Album, AlbumEntry
from apps.photos.models import Photo, PhotoStatus, Visibility
from apps.photos.selectors import photos_with_card_data


def _visible_entries(*, owner_id: int, viewer: User | AnonymousUser, prefix: str = "") -> Q:
    """AlbumEntry rows (reached through `prefix`) whose photo this viewer may see.

    The album's owner sees every ready photo; everyone else the public, unhidden ones.
    """
    conditions: dict[str, object] = {f"{prefix}photo__status": PhotoStatus.READY}
    if not (viewer.is_authenticated and viewer.pk == owner_id):
        conditions |= {f"{prefix}photo__visibility": Visibility.PUBLIC, f"{prefix}photo__hidden_at__isnull": True}
    return Q(**conditions)


def album_list_for_owner(
    *, owner: User, viewer: User | AnonymousUser, album_id: int | None = None, with_tags: bool = False
) -> Sequence[Album]:
    """The person's albums this viewer may see listed (all for the owner, the public ones for
    others), newest first, each with `.photo_count` and `.cover_photo` as this viewer sees them.

    Three queries whatever the number of albums: the albums with their counts and
    cover ids, the cover photos, and their renditions.
    """
    visible = _visible_entries(owner_id=owner.pk, viewer=viewer)
    entry_visible = _visible_entries(owner_id=owner.pk, viewer=viewer, prefix="entries__")
    first_visible = (
        AlbumEntry.objects.filter(visible, album=OuterRef("pk")).order_by("position", "id").values("photo_id")[:1]
    )
    cover_visible = AlbumEntry.objects.filter(visible, album=OuterRef("pk"), photo=OuterRef("cover_id"))
    listed = Album.objects.filter(owner=owner, **({"pk": album_id} if album_id is not None else {}))
    if not (viewer.is_authenticated and viewer.pk == owner.pk):
        # Others see public albums in lists; an unlisted one only by its link, which the
        # caller checked (album_get_for_viewer) before asking for that one album.
        shown = [Visibility.PUBLIC] if album_id is None else [Visibility.PUBLIC, Visibility.UNLISTED]
        listed = listed.filter(visibility__in=shown)
    albums = list(
        listed.select_related("owner")
        .annotate(
            photo_count=Count("entries", filter=entry_visible),
            cover_choice=Subquery(cover_visible.values("photo_id")[:1]),
            first_photo=Subquery(first_visible),
        )
        .order_by("-created_at", "-id")
    )
    cover_ids = {album.cover_choice or album.first_photo for album in albums} - {None}
    cover_photos = photos_with_card_data(Photo.objects.filter(pk__in=cover_ids))
    if with_tags:  # the API shows the cover's tags; the profile page does not
        cover_photos = cover_photos.prefetch_related("tags")
    covers = {photo.pk: photo for photo in cover_photos} if cover_ids else {}
    for album in albums:
        # Not a field: the cover this viewer may see, which the profile page and the API show.
        album.cover_photo = covers.get(album.cover_choice or album.first_photo)  # type: ignore[attr-defined]
    return albums


SHARE_TOKEN_SALT = "apps.albums.share"  # noqa: S105  # a salt (the secret is SECRET_KEY)
SHARE_TOKEN_LENGTH = 32  # hex digits: 128 bits


def album_share_token(*, album: Album, secret: str | bytes | None = None) -> str:
    """The unguessable part of an unlisted album's link (`/albums/<id>/?k=<token>`), made as a
    photo's is (apps.photos.selectors.photo_share_token): ids are sequential, so an id alone
    must open nothing; a new SECRET_KEY changes every link, SECRET_KEY_FALLBACKS keep old ones."""
    digest = salted_hmac(SHARE_TOKEN_SALT, str(album.key), secret=secret, algorithm="sha256")
    return digest.hexdigest()[:SHARE_TOKEN_LENGTH]


def album_share_path(*, album: Album) -> str:
    """The link an owner hands out for an unlisted album. Listings never carry it."""
    return f"{reverse('album_detail', args=[album.pk])}?k={album_share_token(album=album)}"


def album_share_token_matches(*, album: Album, token: str) -> bool:
    if len(token) != SHARE_TOKEN_LENGTH:
        return False
    keys = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    return any(constant_time_compare(album_share_token(album=album, secret=key), token) for key in keys)


def album_get_for_viewer(*, album_id: int, viewer: User | AnonymousUser, share_token: str = "") -> Album:
    """An album as this viewer may see it; 404 (never 403) otherwise, so ids leak nothing.

    Private: its owner alone. Unlisted: its owner, staff (moderators), or whoever holds its
    link's token (`share_token`, the `?k=` of album_share_path).
    """
    album = Album.objects.select_related("owner").filter(pk=album_id).first()
    if album is None:
        raise Http404("No such album.")
    is_owner = viewer.is_authenticated and viewer.pk == album.owner_id
    if not album.owner.is_active and not viewer.is_staff:
        raise Http404("No such album.")
    if album.visibility == Visibility.PRIVATE and not is_owner:
        raise Http404("No such album.")
    if (
        album.visibility == Visibility.UNLISTED
        and not (is_owner or viewer.is_staff)
        and not album_share_token_matches(album=album, token=share_token)
    ):
        raise Http404("No such album.")
    return album


def album_get_for_owner(*, album_id: int, owner: User | AnonymousUser) -> Album:
    if not owner.is_authenticated:
        raise Http404("No such album.")
    album = Album.objects.select_related("owner").filter(pk=album_id, owner=owner).first()
    if album is None:
        raise Http404("No such album.")
    return album


def album_entries_for_owner(*, album: Album) -> list[Photo]:
    """Every photo in the album in order, whatever its state, for the owner's arrange page."""
    return list(
        photos_with_card_data(Photo.objects.filter(album_entries__album=album)).order_by(
            "album_entries__position", "album_entries__id"
        )
    )


def photos_addable_to_album(*, album: Album, limit: int = 200) -> list[Photo]:
    """The owner's newest photos not yet in the album."""
    return list(
        photos_with_card_data(
            Photo.objects.filter(owner_id=album.owner_id).exclude(album_entries__album=album)
        ).order_by("-created_at", "-id")[:limit]
    )


def album_choices_for_owner(*, owner: User, without_photo: Photo | None = None) -> list[Album]:
    """The owner's albums by title, for the photo page's "Add to album" menu: those the
    photo is not in yet (adding it again would add nothing)."""
    albums = Album.objects.filter(owner=owner)
    if without_photo is not None:
        albums = albums.exclude(entries__photo=without_photo)
    return list(albums.only("id", "title").order_by("title"))
