"""Reads: a person's notifications, newest news first, as that person may see them now.

A notification about a photo that has since turned private, been hidden by a moderator or
left with its deactivated owner shows neither the photo's title nor its picture: only
that something happened on a photo the reader can no longer see.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from allauth.account.models import EmailAddress
from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.urls import reverse
from django.utils.translation import gettext, ngettext

from apps.accounts.models import User
from apps.notifications.models import Notification, NotificationKind
from apps.photos.models import Photo, PhotoStatus, Rendition, Visibility
from photosite.pagination import Page, keyset_page

ORDERING = ("-updated_at", "-id")
UNREAD_SHOWN_AT_MOST = 99  # the header says "99+" beyond


def email_confirmed(user: User) -> bool:
    """Whether the person's address is one they confirmed: the site mails news only there, so
    nobody can sign up with someone else's address and have the digest sent to it."""
    return (
        bool(user.email)
        and EmailAddress.objects.filter(user=user, email__iexact=user.email, primary=True, verified=True).exists()
    )


def photo_visible_to(*, photo: Photo, viewer: User) -> bool:
    """Whether a notification may show this photo to `viewer`: their own, or one anyone may
    see in a listing (public, ready, not hidden, its owner active). Unlisted photos are not:
    a mention must not hand out a link that only the photo's owner may give."""
    if photo.owner_id == viewer.pk:
        return True
    return (
        photo.visibility == Visibility.PUBLIC
        and photo.status == PhotoStatus.READY
        and photo.hidden_at is None
        and photo.owner.is_active
    )


def notification_page(*, user: User, cursor: str | None, limit: int | None = None) -> Page[Notification]:
    """One page of the user's own notifications (raises BadCursor). Three queries whatever
    the page size: the rows with their photo, owner and newest actor; the photos' renditions."""
    notifications: QuerySet[Notification] = (
        Notification.objects.filter(recipient=user)
        .select_related("photo__owner", "last_actor")
        .prefetch_related(Prefetch("photo__renditions", queryset=Rendition.objects.order_by("size")))
    )
    return keyset_page(notifications, ordering=ORDERING, cursor=cursor, limit=limit or settings.PHOTOS_PAGE_SIZE)


def unread_shown(count: int) -> str:
    return f"{UNREAD_SHOWN_AT_MOST}+" if count > UNREAD_SHOWN_AT_MOST else str(count)


@dataclass(frozen=True)
class NotificationView:
    """A notification as its reader sees it: what to say, where it links, what to show."""

    id: int
    kind: str
    text: str
    url: str  # "" when there is nothing the reader may open
    actor: User | None  # the newest actor, if still active
    actor_count: int
    photo: Photo | None  # None when none, or the reader may no longer see it
    unread: bool
    updated_at: datetime


def _actor_name(notification: Notification) -> str:
    actor = notification.last_actor
    return actor.shown_name if actor is not None and actor.is_active else gettext("Someone")


def _text(notification: Notification, *, photo_shown: bool) -> str:
    name = _actor_name(notification)
    others = notification.actor_count - 1
    values = {
        "name": name,
        "others": others,
        "title": notification.photo.title if photo_shown and notification.photo else "",
    }
    kind = notification.kind
    if kind == NotificationKind.FOLLOW:
        if others:
            return (
                ngettext(
                    "%(name)s and %(others)d other started following you",
                    "%(name)s and %(others)d others started following you",
                    others,
                )
                % values
            )
        return gettext("%(name)s started following you") % values
    if not photo_shown:
        return {
            NotificationKind.LIKE: gettext("Someone liked a photo you can no longer see"),
            NotificationKind.COMMENT: gettext("Someone commented on a photo you can no longer see"),
            NotificationKind.MENTION: gettext("Someone mentioned you on a photo you can no longer see"),
        }.get(NotificationKind(kind), gettext("Something happened on a photo you can no longer see"))
    if kind == NotificationKind.LIKE:
        if others:
            return (
                ngettext(
                    "%(name)s and %(others)d other liked your photo “%(title)s”",
                    "%(name)s and %(others)d others liked your photo “%(title)s”",
                    others,
                )
                % values
            )
        return gettext("%(name)s liked your photo “%(title)s”") % values
    if kind == NotificationKind.COMMENT:
        if others:
            return (
                ngettext(
                    "%(name)s and %(others)d other commented on your photo “%(title)s”",
                    "%(name)s and %(others)d others commented on your photo “%(title)s”",
                    others,
                )
                % values
            )
        return gettext("%(name)s commented on your photo “%(title)s”") % values
    if others:
        return (
            ngettext(
                "%(name)s and %(others)d other mentioned you on “%(title)s”",
                "%(name)s and %(others)d others mentioned you on “%(title)s”",
                others,
            )
            % values
        )
    return gettext("%(name)s mentioned you on “%(title)s”") % values


def _url(notification: Notification, *, viewer: User, photo_shown: bool) -> str:
    if notification.kind == NotificationKind.FOLLOW:
        actor = notification.last_actor
        if actor is not None and actor.is_active:
            return reverse("profile", args=[actor.username])
        return reverse("followers", args=[viewer.username])
    if not photo_shown or notification.photo_id is None:
        return ""
    url = reverse("photo_detail", args=[notification.photo_id])
    if notification.comment_id is not None:
        return f"{url}#comment-{notification.comment_id}"
    return url


def notification_views(*, notifications: list[Notification], viewer: User) -> list[NotificationView]:
    """What each notification says to `viewer` now, through the photos' current visibility."""
    views = []
    for notification in notifications:
        photo = notification.photo
        photo_shown = photo is not None and photo_visible_to(photo=photo, viewer=viewer)
        actor = notification.last_actor
        views.append(
            NotificationView(
                id=notification.pk,
                kind=notification.kind,
                text=_text(notification, photo_shown=photo_shown),
                url=_url(notification, viewer=viewer, photo_shown=photo_shown),
                # Who acted on a photo the reader may no longer see is part of what they may not see.
                actor=actor if actor is not None and actor.is_active and (photo_shown or photo is None) else None,
                actor_count=notification.actor_count,
                photo=photo if photo_shown else None,
                unread=notification.read_at is None,
                updated_at=notification.updated_at,
            )
        )
    return views
