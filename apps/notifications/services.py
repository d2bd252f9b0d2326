"""Writes: queueing a fan-out with the social write, the worker's fan-out into grouped rows,
marking read, and the daily digest.

A like, comment or follow (apps/social/services.py) calls `notifications_queue` inside its
own transaction; the job goes through the outbox, so it exists exactly when the like does.
The worker then decides who hears about it and updates one row per recipient, kind and
photo. Nobody is told about their own doing, nor about a photo they may not see.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q, Subquery
from django.db.models.functions import Coalesce, Lower
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext

from apps.accounts.models import User
from apps.notifications.mentions import mentioned_usernames
from apps.notifications.models import DigestFrequency, Notification, NotificationKind
from apps.notifications.selectors import email_confirmed, notification_views, photo_visible_to
from apps.photos.models import Photo
from apps.social.models import PHOTO_LIKES, USER_FOLLOWERS, Comment, Follow, Like
from photosite.counters import counter_totals
from photosite.outbox import outbox_enqueue
from photosite.text import one_line

logger = logging.getLogger(__name__)


class NotificationRefused(Exception):
    """Shown to the person who asked (a 400 with this message)."""


def notifications_queue(*, kind: str, actor_id: int, target_id: int) -> None:
    """Queue the fan-out of one event in the current transaction (the like's, comment's or
    follow's): `target_id` is the photo liked, the comment written or the person followed.

    The same event still waiting in the outbox is not queued twice (a like, unlike and like
    again within a second is one job).
    """
    from apps.notifications.tasks import fan_out  # tasks import this module

    outbox_enqueue(fan_out, args=[kind, actor_id, target_id], dedupe_key=f"notify:{kind}:{actor_id}:{target_id}")


# --- The worker's side --------------------------------------------------------------------


def notifications_fan_out(*, kind: str, actor_id: int, target_id: int) -> int:
    """Tell whoever should hear of this event; returns how many groups changed. Safe to run
    twice: the counts are read from the likes, comments and follows themselves."""
    actor = User.objects.filter(pk=actor_id, is_active=True).first()
    if actor is None:
        return 0
    if kind == NotificationKind.LIKE:
        return _fan_out_like(actor=actor, photo_id=target_id)
    if kind == NotificationKind.COMMENT:
        return _fan_out_comment(actor=actor, comment_id=target_id)
    if kind == NotificationKind.FOLLOW:
        return _fan_out_follow(actor=actor, followee_id=target_id)
    logger.warning("notification of unknown kind %r dropped", kind)
    return 0


def _fan_out_like(*, actor: User, photo_id: int) -> int:
    photo = Photo.objects.select_related("owner").filter(pk=photo_id).first()
    if photo is None or not Like.objects.filter(user=actor, photo=photo).exists():
        return 0  # the photo went, or the like was taken back before the job ran
    owner = photo.owner
    if owner.pk == actor.pk or not owner.is_active:
        return 0
    # Everyone who likes it but the owner, from the sharded counter (no scan of the likes).
    likers = counter_totals(PHOTO_LIKES, [photo.pk])[photo.pk]
    likers -= Like.objects.filter(user=owner, photo=photo).exists()
    return _group_touch(recipient=owner, kind=NotificationKind.LIKE, photo=photo, actor=actor, actor_count=likers)


def _fan_out_comment(*, actor: User, comment_id: int) -> int:
    comment = Comment.objects.select_related("photo__owner").filter(pk=comment_id, author=actor).first()
    if comment is None or comment.hidden_at is not None:
        return 0
    photo = comment.photo
    owner = photo.owner
    changed = 0
    if owner.pk != actor.pk and owner.is_active:
        commenters = _commenters(photo=photo, recipient=owner, mentioning="")
        changed += _group_touch(
            recipient=owner,
            kind=NotificationKind.COMMENT,
            photo=photo,
            actor=actor,
            actor_count=commenters,
            comment=comment,
        )
    names = mentioned_usernames(comment.body)
    if names:
        mentioned = User.objects.annotate(name=Lower("username")).filter(name__in=names, is_active=True)
        for person in mentioned.exclude(pk__in=[actor.pk, owner.pk]):
            # A person who may not see the photo is not told it exists.
            if not photo_visible_to(photo=photo, viewer=person):
                continue
            mentioners = _commenters(photo=photo, recipient=person, mentioning=person.username)
            changed += _group_touch(
                recipient=person,
                kind=NotificationKind.MENTION,
                photo=photo,
                actor=actor,
                actor_count=mentioners,
                comment=comment,
            )
    return changed


def _commenters(*, photo: Photo, recipient: User, mentioning: str) -> int:
    """How many people (not the recipient) wrote a shown comment on the photo (that mentions
    `mentioning`, if given): the photo's comment index bounds it."""
    comments = Comment.objects.filter(photo=photo, hidden_at__isnull=True).exclude(author=recipient)
    if not mentioning:
        return comments.values("author").distinct().count()
    # icontains narrows; the mention rule decides (a comment naming @anna does not mention @ann).
    candidates = comments.filter(body__icontains=f"@{mentioning}").values_list("author_id", "body")
    return len({author for author, body in candidates if mentioning.lower() in mentioned_usernames(body)})


def _fan_out_follow(*, actor: User, followee_id: int) -> int:
    followee = User.objects.filter(pk=followee_id, is_active=True).first()
    if followee is None or followee.pk == actor.pk:
        return 0
    if not Follow.objects.filter(follower=actor, followee=followee).exists():
        return 0  # unfollowed before the job ran
    followers = counter_totals(USER_FOLLOWERS, [followee.pk])[followee.pk]
    return _group_touch(
        recipient=followee, kind=NotificationKind.FOLLOW, photo=None, actor=actor, actor_count=followers
    )


@transaction.atomic
def _group_touch(
    *, recipient: User, kind: str, photo: Photo | None, actor: User, actor_count: int, comment: Comment | None = None
) -> int:
    """Create or update the recipient's group for this kind and photo: newest actor, count,
    time, unread again. Returns 1 if it changed, 0 if this news was already in it."""
    now = timezone.now()
    group = Notification.objects.filter(recipient=recipient, kind=kind, photo=photo)
    row = group.select_for_update().first()
    if row is None:
        try:
            with transaction.atomic():  # a savepoint: a concurrent job may create it first
                Notification.objects.create(
                    recipient=recipient,
                    kind=kind,
                    photo=photo,
                    comment=comment,
                    last_actor=actor,
                    actor_count=max(actor_count, 1),
                    created_at=now,
                    updated_at=now,
                )
            User.objects.filter(pk=recipient.pk).update(unread_notification_count=F("unread_notification_count") + 1)
            return 1
        except IntegrityError:
            row = group.select_for_update().get()
    comment_id = comment.pk if comment is not None else row.comment_id
    if row.last_actor_id == actor.pk and row.actor_count == max(actor_count, 1) and row.comment_id == comment_id:
        return 0  # the same news again (a job run twice, a like taken back and given again)
    was_read = row.read_at is not None
    row.last_actor = actor
    row.actor_count = max(actor_count, 1)
    row.comment_id = comment_id
    row.updated_at = now
    row.read_at = None
    row.save(update_fields=["last_actor", "actor_count", "comment", "updated_at", "read_at"])
    if was_read:  # the count is of unread groups: only a read one turning unread adds to it
        User.objects.filter(pk=recipient.pk).update(unread_notification_count=F("unread_notification_count") + 1)
    return 1


# --- The reader's side --------------------------------------------------------------------


@transaction.atomic
def notifications_mark_read(*, user: User, ids: list[int] | None = None, through: datetime | None = None) -> int:
    """Mark the user's unread notifications read (only those in `ids`, if given; only those
    last updated by `through`, if given, so news that came in meanwhile stays unread).
    Returns how many were marked.

    The header's count is then set from the rows themselves, which also mends it after a
    photo's deletion took unread notifications with it.
    """
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    marking = unread
    if ids is not None:
        marking = marking.filter(pk__in=ids)
    if through is not None:
        marking = marking.filter(updated_at__lte=through)
    marked = marking.update(read_at=timezone.now())
    left = unread.order_by().values("recipient").annotate(count=Count("pk")).values("count")
    User.objects.filter(pk=user.pk).update(unread_notification_count=Coalesce(Subquery(left), 0))
    user.refresh_from_db(fields=["unread_notification_count"])
    return marked


def notification_digest_set(*, user: User, frequency: str) -> None:
    if frequency not in DigestFrequency.values:
        raise NotificationRefused(gettext("Choose off or daily."))
    if frequency != DigestFrequency.OFF and not email_confirmed(user):
        raise NotificationRefused(
            gettext("Confirm your email address first (Account, Email): the digest goes only to a confirmed address.")
        )
    user.notification_digest = frequency
    user.save(update_fields=["notification_digest"])


# --- The daily digest ---------------------------------------------------------------------


def _pending_for_digest() -> Q:
    """Unread, and new since the last digest that listed it (a group updated since is news)."""
    return Q(read_at__isnull=True) & (Q(emailed_at__isnull=True) | Q(updated_at__gt=F("emailed_at")))


def notification_digests_send() -> int:
    """Email each person who asked for a daily digest their unread news since the last one;
    returns how many emails went. Run daily by the scheduler; running it again sends nothing
    new (each listed group is stamped in the same transaction as its email is sent)."""
    recipients = (
        Notification.objects.filter(
            _pending_for_digest(),
            recipient__notification_digest=DigestFrequency.DAILY,
            recipient__is_active=True,
        )
        .values_list("recipient_id", flat=True)
        .distinct()
    )
    return sum(notification_digest_send(user_id=user_id) for user_id in list(recipients))


@transaction.atomic
def notification_digest_send(*, user_id: int) -> int:
    """One person's digest: 1 if an email went, 0 if there was nothing new (or they opted out).

    The rows stay locked from reading to stamping, so two runs at once never list the same
    news twice. An email sent whose stamp then fails to commit would be sent again next time:
    the mail server is told last-but-one, the database last.
    """
    user = User.objects.select_for_update().filter(pk=user_id, is_active=True).first()
    if user is None or user.notification_digest != DigestFrequency.DAILY or not email_confirmed(user):
        return 0
    rows = list(
        Notification.objects.select_for_update(of=("self",))
        .filter(_pending_for_digest(), recipient=user)
        .select_related("photo__owner", "last_actor")
        .order_by("-updated_at", "-id")
    )
    if not rows:
        return 0
    with translation.override(settings.LANGUAGE_CODE):
        # One line each: titles and names are other people's words inside a mail to this person.
        shown = notification_views(notifications=rows, viewer=user)
        items = [replace(item, text=one_line(item.text)) for item in shown]
        context = {"person": user, "items": items, "site_url": settings.SITE_URL}
        body = render_to_string("notifications/digest_email.txt", context)
        subject = ngettext(
            "photosite: %(count)d new notification", "photosite: %(count)d new notifications", len(items)
        ) % {"count": len(items)}
    send_mail(subject, body, None, [user.email])
    Notification.objects.filter(pk__in=[row.pk for row in rows]).update(emailed_at=timezone.now())
    return 1
