"""Writes for albums. Every change takes the album's row lock, so two tabs rearranging
the same album one after the other never leave two photos on one position."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext

from apps.accounts.models import User
from apps.albums.models import Album, AlbumEntry
from apps.photos.caching import album_changed_on_commit, photo_cards_forget_on_commit
from apps.photos.models import Photo, Visibility
from photosite.text import one_line

MAX_PHOTOS_PER_ALBUM = 1000


class AlbumRefused(Exception):
    """Shown to the album's owner (a 400 with this message)."""


def _check_visibility(visibility: str) -> str:
    if visibility not in Visibility.values:
        raise AlbumRefused(gettext("An album is public, unlisted or private."))
    return visibility


def _check_title(title: str) -> str:
    title = one_line(title)
    if not title:
        raise AlbumRefused(gettext("Give the album a title."))
    if len(title) > 200:
        raise AlbumRefused(gettext("Album titles are at most 200 characters."))
    return title


@transaction.atomic
def album_create(
    *,
    owner: User,
    title: str,
    description: str = "",
    photo_ids: list[int] | None = None,
    visibility: str = Visibility.PUBLIC,
) -> Album:
    """A new album, with its first photos if given; a refused photo means no album either."""
    album = Album.objects.create(
        owner=owner,
        title=_check_title(title),
        description=description.strip(),
        visibility=_check_visibility(visibility or Visibility.PUBLIC),
    )
    if photo_ids:
        album_add_photos(album=album, photo_ids=photo_ids)
    album_changed_on_commit(album_id=album.pk, owner_id=album.owner_id)
    return album


@transaction.atomic
def album_update(*, album: Album, title: str, description: str, visibility: str = "") -> Album:
    """Rename, describe, and (`visibility` not "") show or hide the album. Its photos' cached
    cards are forgotten: a photo page names the albums it is in, as far as the viewer may see them."""
    album.title = _check_title(title)
    album.description = description.strip()
    if visibility:
        album.visibility = _check_visibility(visibility)
    album.save(update_fields=["title", "description", "visibility", "updated_at"])
    photo_cards_forget_on_commit(photo_ids=list(album.entries.values_list("photo_id", flat=True)))
    album_changed_on_commit(album_id=album.pk, owner_id=album.owner_id)
    return album


@transaction.atomic
def album_delete(*, album: Album) -> None:
    """The album goes; its photos stay where they are."""
    photo_cards_forget_on_commit(photo_ids=list(album.entries.values_list("photo_id", flat=True)))
    album_changed_on_commit(album_id=album.pk, owner_id=album.owner_id)
    album.delete()


def _locked(album: Album) -> Album:
    return Album.objects.select_for_update().get(pk=album.pk)


@transaction.atomic
def album_add_photos(*, album: Album, photo_ids: list[int]) -> int:
    """Append the owner's photos not already in the album, in the order given; returns how many were added."""
    album = _locked(album)
    owned = set(Photo.objects.filter(pk__in=photo_ids, owner_id=album.owner_id).values_list("pk", flat=True))
    if len(owned) != len(set(photo_ids)):
        raise AlbumRefused(gettext("You can only add your own photos to your albums."))
    present = set(AlbumEntry.objects.filter(album=album, photo_id__in=owned).values_list("photo_id", flat=True))
    new_ids = [photo_id for photo_id in dict.fromkeys(photo_ids) if photo_id not in present]
    if album.entries.count() + len(new_ids) > MAX_PHOTOS_PER_ALBUM:
        raise AlbumRefused(gettext("An album holds at most %(count)d photos.") % {"count": MAX_PHOTOS_PER_ALBUM})
    last = album.entries.aggregate(last=Max("position"))["last"]
    start = 0 if last is None else last + 1
    AlbumEntry.objects.bulk_create(
        AlbumEntry(album=album, photo_id=photo_id, position=start + offset) for offset, photo_id in enumerate(new_ids)
    )
    photo_cards_forget_on_commit(photo_ids=new_ids)
    album_changed_on_commit(album_id=album.pk, owner_id=album.owner_id)
    if album.cover_id is None and new_ids:
        album.cover_id = new_ids[0]
        album.save(update_fields=["cover", "updated_at"])
    return len(new_ids)


@transaction.atomic
def album_remove_photo(*, album: Album, photo_id: int) -> None:
    album = _locked(album)
    AlbumEntry.objects.filter(album=album, photo_id=photo_id).delete()
    photo_cards_forget_on_commit(photo_ids=[photo_id])
    album_changed_on_commit(album_id=album.pk, owner_id=album.owner_id)
    if album.cover_id == photo_id:
        album.cover_id = album.entries.order_by("position", "id").values_list("photo_id", flat=True).first()
        album.save(update_fields=["cover", "updated_at"])


@transaction.atomic
def album_reorder(*, album: Album, photo_ids: list[int]) -> None:
    """Put the album's photos in exactly this order (it must name each of them once)."""
    album = _locked(album)
    entries = {entry.photo_id: entry for entry in album.entries.all()}
    if sorted(photo_ids) != sorted(entries):
        raise AlbumRefused(gettext("The new order must list every photo in the album exactly once."))
    for position, photo_id in enumerate(photo_ids):
        entries[photo_id].position = position
    AlbumEntry.objects.bulk_update(entries.values(), ["position"])
    album_changed_on_commit(album_id=album.pk, owner_id=album.owner_id)


def album_move_photo(*, album: Album, photo_id: int, offset: int) -> None:
    """Move one photo `offset` places (-1: earlier, +1: later), stopping at either end."""
    with transaction.atomic():
        order = list(_locked(album).entries.order_by("position", "id").values_list("photo_id", flat=True))
        if photo_id not in order:
            raise AlbumRefused(gettext("That photo is not in this album."))
        index = order.index(photo_id)
        target = max(0, min(len(order) - 1, index + offset))
        order.insert(target, order.pop(index))
        album_reorder(album=album, photo_ids=order)


@transaction.atomic
def album_set_cover(*, album: Album, photo_id: int) -> None:
    album = _locked(album)
    if not album.entries.filter(photo_id=photo_id).exists():
        raise AlbumRefused(gettext("The cover must be a photo in the album."))
    album.cover_id = photo_id
    album.save(update_fields=["cover", "updated_at"])
    album_changed_on_commit(album_id=album.pk, owner_id=album.owner_id)
