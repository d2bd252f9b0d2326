"""Reads for share links: the owner's list on an item's page, and what a link's holder may
open. A link shows its own photo, or its album and the photos in it (whatever their own
visibility), and nothing else of the owner's. Who may see what is decided on the primary:
a link revoked or a photo hidden a moment ago must not open from a lagging replica."""

from __future__ import annotations

from django.conf import settings
from django.db.models import F, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext

from apps.accounts.models import User
from apps.albums.models import Album
from apps.photos.models import Photo, PhotoStatus
from apps.photos.selectors import photos_with_card_data
from apps.sharing.models import ShareLink
from photosite.db import pinned_to_primary
from photosite.pagination import Page, keyset_page

TOKEN_MAX_LENGTH = 64  # the model's column; longer is no link of ours
ALBUM_ORDERING = ("position", "id")


class ShareGone(Exception):
    """The link was real but no longer opens (expired or revoked): a 410 that says which."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def share_link_list_for_photo(*, owner: User, photo: Photo) -> list[ShareLink]:
    """The owner's links to this photo that still count (not revoked), newest first."""
    return list(ShareLink.objects.filter(owner=owner, photo=photo, revoked_at__isnull=True))


def share_link_list_for_album(*, owner: User, album: Album) -> list[ShareLink]:
    """The owner's links to this album that still count (not revoked), newest first."""
    return list(ShareLink.objects.filter(owner=owner, album=album, revoked_at__isnull=True))


def share_link_get_for_owner(*, owner: User, share: str) -> ShareLink:
    """One of the owner's links by its id or its token; Http404 for anyone else's or none."""
    if not share or len(share) > TOKEN_MAX_LENGTH:
        raise Http404("No such share link.")
    found = ShareLink.objects.filter(owner=owner)
    found = found.filter(pk=int(share)) if share.isdigit() and len(share) < 18 else found.filter(token=share)
    link = found.first()
    if link is None:
        raise Http404("No such share link.")
    return link


def share_link_get_open(*, token: str) -> ShareLink:
    """The link `token` names, for its holder: Http404 if there is none (or its owner left),
    ShareGone if it expired or was revoked. Its target is not checked here (share_photo_get)."""
    if not token or len(token) > TOKEN_MAX_LENGTH:
        raise Http404("No such share link.")
    with pinned_to_primary():
        link = ShareLink.objects.select_related("owner", "album").filter(token=token).first()
    if link is None or not link.owner.is_active:
        raise Http404("No such share link.")
    if link.revoked_at is not None:
        raise ShareGone(gettext("Its owner has withdrawn this link."))
    if link.expires_at is not None and link.expires_at <= timezone.now():
        raise ShareGone(gettext("This link has expired."))
    return link


def _shown_photos(link: ShareLink) -> QuerySet[Photo]:
    """Photos the link shows: its owner's, ready and not hidden by a moderator (hidden beats
    share), and (an album's link) in that album."""
    photos = Photo.objects.filter(owner_id=link.owner_id, status=PhotoStatus.READY, hidden_at__isnull=True)
    if link.album_id is not None:
        return photos.filter(album_entries__album_id=link.album_id).annotate(position=F("album_entries__position"))
    return photos.filter(share_links=link)


def share_photo_get(*, link: ShareLink, photo_id: int | None = None) -> Photo:
    """The photo a link opens: a photo's link its own (no `photo_id`), an album's link any
    photo in that album (`photo_id`). Http404 for anything else, or one hidden or gone."""
    if (link.photo_id is None) == (photo_id is None):
        raise Http404("No such photo.")
    photos = _shown_photos(link) if photo_id is None else _shown_photos(link).filter(pk=photo_id)
    with pinned_to_primary():
        photo = photos_with_card_data(photos).first()
    if photo is None:
        raise Http404("No such photo.")
    return photo


def share_album_page(*, link: ShareLink, cursor: str | None) -> Page[Photo]:
    """One page of an album link's photos in the album's order (raises BadCursor)."""
    if link.album_id is None:
        raise Http404("No such album.")
    with pinned_to_primary():
        return keyset_page(
            photos_with_card_data(_shown_photos(link)),
            ordering=ALBUM_ORDERING,
            cursor=cursor,
            limit=settings.PHOTOS_PAGE_SIZE,
        )
