"""Writes for follows, likes and comments, and the counts they move.

Counts (likes and comments of a photo, followers and following of a person) live in
sharded counters (photosite/counters.py), not on the photo or person row: a like adds
to one of 16 small rows in the same transaction as the like itself, and only when the
like row really appeared or went away, so concurrent clicks (or two tabs) never push a
count away from the number of rows, and likers of one photo do not queue on its row.
A like no longer forgets the photo's cached card either: pages read the live count
from the counters (apps/social/selectors.py). The old columns on Photo and User are
copies, refreshed every minute by counts_snapshot for lists and exports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext

from apps.accounts.models import User
from apps.notifications.models import NotificationKind
from apps.notifications.services import notifications_queue
from apps.photos.caching import popular_snapshot_taken_on_commit, visitors_pages_forget_on_commit
from apps.photos.models import Photo, PhotoStatus, Visibility
from apps.photos.selectors import POPULAR_DAYS
from apps.social.models import (
    PHOTO_COMMENTS,
    PHOTO_LIKES,
    USER_FOLLOWERS,
    USER_FOLLOWING,
    Comment,
    Follow,
    Like,
    PopularPhoto,
)
from photosite.counters import counter_add, counter_correct, counter_names_changed_since, counter_totals, counters_add

COMMENT_MAX_LENGTH = 2000


class SocialRefused(Exception):
    """Shown to the person who asked (a 400 with this message)."""


@transaction.atomic
def like_set(*, user: User, photo: Photo, liked: bool) -> int:
    """Like or unlike; saying the same twice changes nothing. Returns the photo's like count."""
    if liked:
        try:
            with transaction.atomic():  # a savepoint: a duplicate must not spoil the outer transaction
                Like.objects.create(user=user, photo=photo)
            changed = 1
        except IntegrityError:
            changed = 0  # already liked (or a concurrent click got there first)
    else:
        deleted, _ = Like.objects.filter(user=user, photo=photo).delete()
        changed = -deleted
    if changed:
        counter_add(PHOTO_LIKES, photo.pk, changed)
    if changed > 0 and photo.owner_id != user.pk:  # the owner hears of it from the worker
        notifications_queue(kind=NotificationKind.LIKE, actor_id=user.pk, target_id=photo.pk)
    return counter_totals(PHOTO_LIKES, [photo.pk])[photo.pk]


def comment_create(*, author: User, photo: Photo, body: str) -> Comment:
    body = body.strip()
    if not body:
        raise SocialRefused(gettext("Write something first."))
    if len(body) > COMMENT_MAX_LENGTH:
        raise SocialRefused(gettext("Comments are at most %(length)d characters.") % {"length": COMMENT_MAX_LENGTH})
    with transaction.atomic():
        comment = Comment.objects.create(author=author, photo=photo, body=body)
        counter_add(PHOTO_COMMENTS, photo.pk, 1)
        # The owner and anyone @mentioned hear of it from the worker.
        notifications_queue(kind=NotificationKind.COMMENT, actor_id=author.pk, target_id=comment.pk)
    return comment


def comment_may_delete(*, comment: Comment, user: User) -> bool:
    """Its author, the owner of the photo it is on, or a moderator. Callers pass a signed-in user.

    A moderator is someone with the permission to delete comments: being staff alone is
    not enough (staff with view-only permissions deleted anyone's comments).
    """
    return comment.author_id == user.pk or comment.photo.owner_id == user.pk or user.has_perm("social.delete_comment")


@transaction.atomic
def comment_delete(*, comment_id: int) -> None:
    comment = Comment.objects.select_for_update().filter(pk=comment_id).first()
    if comment is None:
        return  # already gone: deleting twice is not an error
    comment.delete()
    if comment.hidden_at is None:  # hidden comments were already taken off the count
        counter_add(PHOTO_COMMENTS, comment.photo_id, -1)
    visitors_pages_forget_on_commit()


@transaction.atomic
def comment_hide(*, comment_id: int, moderator: User) -> None:
    comment = Comment.objects.select_for_update().get(pk=comment_id)
    if comment.hidden_at is not None:
        return
    comment.hidden_at = timezone.now()
    comment.hidden_by = moderator
    comment.save(update_fields=["hidden_at", "hidden_by"])
    counter_add(PHOTO_COMMENTS, comment.photo_id, -1)
    visitors_pages_forget_on_commit()


@transaction.atomic
def comment_unhide(*, comment_id: int) -> None:
    comment = Comment.objects.select_for_update().get(pk=comment_id)
    if comment.hidden_at is None:
        return
    comment.hidden_at = None
    comment.hidden_by = None
    comment.save(update_fields=["hidden_at", "hidden_by"])
    counter_add(PHOTO_COMMENTS, comment.photo_id, 1)


@transaction.atomic
def follow_set(*, follower: User, followee: User, following: bool) -> int:
    """Follow or unfollow; saying the same twice changes nothing. Returns the followee's follower count."""
    if follower.pk == followee.pk:
        raise SocialRefused(gettext("You cannot follow yourself."))
    if following:
        try:
            with transaction.atomic():
                Follow.objects.create(follower=follower, followee=followee)
            changed = 1
        except IntegrityError:
            changed = 0
    else:
        deleted, _ = Follow.objects.filter(follower=follower, followee=followee).delete()
        changed = -deleted
    if changed:
        counters_add({(USER_FOLLOWERS, followee.pk): changed, (USER_FOLLOWING, follower.pk): changed})
    if changed > 0:
        notifications_queue(kind=NotificationKind.FOLLOW, actor_id=follower.pk, target_id=followee.pk)
    return counter_totals(USER_FOLLOWERS, [followee.pk])[followee.pk]


# --- Keeping counts right ----------------------------------------------------------------

# What each count counts, as (object id, count) rows: only active people's likes, shown
# comments and follows. counts_recount and counts_reconcile hold the counters to these.
EXACT_COUNTS = {
    PHOTO_LIKES: """SELECT l.photo_id AS object_id, COUNT(*) AS total FROM social_like l
        JOIN accounts_user u ON u.id = l.user_id AND u.is_active GROUP BY l.photo_id""",
    PHOTO_COMMENTS: """SELECT c.photo_id AS object_id, COUNT(*) AS total FROM social_comment c
        JOIN accounts_user u ON u.id = c.author_id AND u.is_active
        WHERE c.hidden_at IS NULL GROUP BY c.photo_id""",
    USER_FOLLOWERS: """SELECT f.followee_id AS object_id, COUNT(*) AS total FROM social_follow f
        JOIN accounts_user u ON u.id = f.follower_id AND u.is_active GROUP BY f.followee_id""",
    USER_FOLLOWING: """SELECT f.follower_id AS object_id, COUNT(*) AS total FROM social_follow f
        JOIN accounts_user u ON u.id = f.followee_id AND u.is_active GROUP BY f.follower_id""",
}


@dataclass
class CountedObjects:
    """What some people's likes, comments and follows are counted on."""

    photo_ids: list[int] = field(default_factory=list)
    user_ids: list[int] = field(default_factory=list)


def counted_objects_of_users(*, user_ids: list[int]) -> CountedObjects:
    """The photos these people liked or commented on and the people they follow or are
    followed by: whose counts change when they are deactivated, reactivated or deleted.
    Ask before deleting them (their rows go with them)."""
    liked = Like.objects.filter(user_id__in=user_ids).values_list("photo_id", flat=True)
    commented = Comment.objects.filter(author_id__in=user_ids).values_list("photo_id", flat=True)
    followees = Follow.objects.filter(follower_id__in=user_ids).values_list("followee_id", flat=True)
    followers = Follow.objects.filter(followee_id__in=user_ids).values_list("follower_id", flat=True)
    return CountedObjects(
        photo_ids=sorted({*liked, *commented}),
        user_ids=sorted({*followees, *followers, *user_ids}),
    )


def counts_recount(*, objects: CountedObjects) -> int:
    """Set these objects' counts to what their rows say; returns how many were wrong.

    Call in the transaction that changed whose rows count (a deactivation, a deletion),
    after the change: the recount reads it, and commits or rolls back with it.
    """
    wrong = 0
    for name, object_ids in (
        (PHOTO_LIKES, objects.photo_ids),
        (PHOTO_COMMENTS, objects.photo_ids),
        (USER_FOLLOWERS, objects.user_ids),
        (USER_FOLLOWING, objects.user_ids),
    ):
        wrong += counter_correct(name, exact_sql=EXACT_COUNTS[name], object_ids=object_ids)
    return wrong


def counts_reconcile() -> dict[str, int]:
    """Repair every like, comment, follower and following count from the rows; returns
    how many of each were wrong. Safe while people click: see counter_correct."""
    fixed = {name: counter_correct(name, exact_sql=exact) for name, exact in EXACT_COUNTS.items()}
    counts_snapshot(since=None)
    return fixed


# Counts copied onto the rows they count, for lists and exports (a minute old at most).
SNAPSHOT_COLUMNS = {
    PHOTO_LIKES: ("photos_photo", "like_count"),
    PHOTO_COMMENTS: ("photos_photo", "comment_count"),
    USER_FOLLOWERS: ("accounts_user", "follower_count"),
    USER_FOLLOWING: ("accounts_user", "following_count"),
}
SNAPSHOT_OVERLAP = timedelta(minutes=2)  # the job runs every minute; a late run still sees every change


def counts_snapshot(*, since: datetime | None) -> int:
    """Copy counts that moved since `since` (None: all of them) onto Photo and User.

    One short UPDATE per count and batch, writing only rows whose copy differs: a photo
    liked a thousand times in a minute has its wide row rewritten once, not a thousand times.
    """
    copied = 0
    targets: dict[str, list[int] | None] = dict.fromkeys(SNAPSHOT_COLUMNS)
    if since is not None:
        targets.update(counter_names_changed_since(SNAPSHOT_COLUMNS, since))
    for name, object_ids in targets.items():
        table, column = SNAPSHOT_COLUMNS[name]
        batches: list[list[int] | None] = (
            [None] if object_ids is None else [object_ids[i : i + 1000] for i in range(0, len(object_ids), 1000)]
        )
        for batch in batches:
            scope, params = "", []
            if batch is not None:
                scope, params = f"AND t.id IN ({', '.join(['%s'] * len(batch))})", batch
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    f"""UPDATE {table} AS t SET {column} = coalesce(
                            (SELECT SUM(c.value) FROM photosite_counter c WHERE c.name = %s AND c.object_id = t.id), 0)
                        WHERE {column} <> coalesce(
                            (SELECT SUM(c.value) FROM photosite_counter c WHERE c.name = %s AND c.object_id = t.id), 0)
                        {scope}""",  # noqa: S608 (table, column and placeholders are ours)
                    [name, name, *params],
                )
                copied += cursor.rowcount
    return copied


# --- Popular, materialized ---------------------------------------------------------------

POPULAR_SIZE = 1000  # photos on the Popular page, at most (about 20 pages)


@transaction.atomic
def popular_refresh(*, now: datetime | None = None) -> int:
    """Rebuild Popular: the public photos most liked by active people in the last seven
    days (from the hour, as the live listing counts). Runs every ten minutes from the
    scheduler; returns how many photos it ranked.

    One aggregate over the week's likes per run, instead of one per Popular cache miss
    and per `?from=popular` neighbour link. Readers see the old ranking until this commits.
    """
    now = now or timezone.now()
    since = now.replace(minute=0, second=0, microsecond=0) - timedelta(days=POPULAR_DAYS)
    top = (
        Like.objects.filter(
            created_at__gte=since,
            user__is_active=True,
            photo__visibility=Visibility.PUBLIC,
            photo__status=PhotoStatus.READY,
            photo__hidden_at__isnull=True,
            photo__owner__is_active=True,
        )
        .values("photo_id")
        .annotate(likes=Count("pk"))
        .order_by("-likes", "-photo_id")[:POPULAR_SIZE]
    )
    ranked = [PopularPhoto(photo_id=row["photo_id"], likes=row["likes"], computed_at=now) for row in top]
    PopularPhoto.objects.all().delete()
    PopularPhoto.objects.bulk_create(ranked)
    popular_snapshot_taken_on_commit(taken_at=now.timestamp())
    return len(ranked)
