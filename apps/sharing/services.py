"""Writes for share links: an owner makes one for a private or unlisted photo or album (with
an optional expiry and password) and revokes it; each opening of a link counts a view."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.contrib.auth.hashers import check_password, make_password
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from apps.accounts.models import User
from apps.albums.models import Album
from apps.photos.models import Photo, Visibility
from apps.sharing.models import ShareLink

EXPIRY_DAYS = (1, 7, 30)  # what the form and the API offer; None is "never"
PASSWORD_MIN_LENGTH = 6  # a link's password is tried by anyone holding the link (rate limited)
PASSWORD_MAX_LENGTH = 128
LINKS_PER_ITEM = 20  # live links on one photo or album: the item's page lists them all


class ShareRefused(ValueError):
    """A link that cannot be made as asked; the message says why."""


def _check_expiry(expires_in_days: int | None) -> timedelta | None:
    if expires_in_days is None:
        return None
    if expires_in_days not in EXPIRY_DAYS:
        days = ", ".join(str(days) for days in EXPIRY_DAYS)
        raise ShareRefused(gettext("A link expires after %(days)s days, or never.") % {"days": days})
    return timedelta(days=expires_in_days)


def _check_password(password: str) -> str:
    if password and not PASSWORD_MIN_LENGTH <= len(password) <= PASSWORD_MAX_LENGTH:
        raise ShareRefused(
            gettext("A link's password has %(min)d to %(max)d characters.")
            % {"min": PASSWORD_MIN_LENGTH, "max": PASSWORD_MAX_LENGTH}
        )
    return make_password(password) if password else ""


def share_link_create(
    *,
    owner: User,
    photo: Photo | None = None,
    album: Album | None = None,
    expires_in_days: int | None = None,
    password: str = "",
) -> ShareLink:
    """A new link to the owner's private or unlisted `photo` or `album` (exactly one).

    The caller fetched the target for its owner (photo_get_for_owner, album_get_for_owner).
    A public item needs no link: its own address works for everyone.
    """
    if (photo is None) == (album is None):
        raise ValueError("a share link has exactly one target")
    target: Photo | Album = photo if photo is not None else album  # type: ignore[assignment]  # one is set
    if target.owner_id != owner.pk:
        raise ValueError("only its owner shares an item")
    if target.visibility == Visibility.PUBLIC:
        raise ShareRefused(gettext("This is public: its own address already works for everyone."))
    lifetime = _check_expiry(expires_in_days)
    password_hash = _check_password(password)
    live = ShareLink.objects.filter(photo=photo, album=album, revoked_at__isnull=True)
    if live.count() >= LINKS_PER_ITEM:
        raise ShareRefused(gettext("It already has %(count)d links: revoke one first.") % {"count": LINKS_PER_ITEM})
    return ShareLink.objects.create(
        token=secrets.token_urlsafe(24),
        owner=owner,
        photo=photo,
        album=album,
        expires_at=timezone.now() + lifetime if lifetime is not None else None,
        password=password_hash,
    )


def share_link_revoke(*, link: ShareLink) -> None:
    """The link stops opening at once (it stays in the table, as revoked, so it answers 410)."""
    if link.revoked_at is None:
        link.revoked_at = timezone.now()
        link.save(update_fields=["revoked_at"])


def share_link_password_matches(*, link: ShareLink, password: str) -> bool:
    return bool(link.password) and check_password(password, link.password)


def share_link_viewed(*, link: ShareLink) -> None:
    """Count one opening of the link's page (F(): concurrent openings all count)."""
    ShareLink.objects.filter(pk=link.pk).update(view_count=F("view_count") + 1)
