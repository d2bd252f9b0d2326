"""Writes for follows, likes and comments.

Counters on Photo and User move with F() in the same transaction as the row that
justifies them, and only when that row really appeared or went away, so concurrent
clicks (or two tabs) can never push a count away from the number of rows.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from apps.accounts.models import User
from apps.photos.caching import photo_cards_forget_on_commit
from apps.photos.models import Photo
from apps.social.models import Comment, Follow, Like

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
        Photo.objects.filter(pk=photo.pk).update(like_count=F("like_count") + changed)
        photo_cards_forget_on_commit(photo_ids=[photo.pk])
    return Photo.objects.values_list("like_count", flat=True).get(pk=photo.pk)


def comment_create(*, author: User, photo: Photo, body: str) -> Comment:
    body = body.strip()
    if not body:
        raise SocialRefused("Write something first.")
    if len(body) > COMMENT_MAX_LENGTH:
        raise SocialRefused(f"Comments are at most {COMMENT_MAX_LENGTH} characters.")
    with transaction.atomic():
        comment = Comment.objects.create(author=author, photo=photo, body=body)
        Photo.objects.filter(pk=photo.pk).update(comment_count=F("comment_count") + 1)
        photo_cards_forget_on_commit(photo_ids=[photo.pk])
    return comment


def comment_may_delete(*, comment: Comment, user: User) -> bool:
    """Its author, the owner of the photo it is on, or a moderator. Callers pass a signed-in user."""
    return comment.author_id == user.pk or comment.photo.owner_id == user.pk or user.is_staff


@transaction.atomic
def comment_delete(*, comment_id: int) -> None:
    comment = Comment.objects.select_for_update().filter(pk=comment_id).first()
    if comment is None:
        return  # already gone: deleting twice is not an error
    comment.delete()
    if comment.hidden_at is None:  # hidden comments were already taken off the count
        Photo.objects.filter(pk=comment.photo_id).update(comment_count=F("comment_count") - 1)
    photo_cards_forget_on_commit(photo_ids=[comment.photo_id])


@transaction.atomic
def comment_hide(*, comment_id: int, moderator: User) -> None:
    comment = Comment.objects.select_for_update().get(pk=comment_id)
    if comment.hidden_at is not None:
        return
    comment.hidden_at = timezone.now()
    comment.hidden_by = moderator
    comment.save(update_fields=["hidden_at", "hidden_by"])
    Photo.objects.filter(pk=comment.photo_id).update(comment_count=F("comment_count") - 1)
    photo_cards_forget_on_commit(photo_ids=[comment.photo_id])


@transaction.atomic
def comment_unhide(*, comment_id: int) -> None:
    comment = Comment.objects.select_for_update().get(pk=comment_id)
    if comment.hidden_at is None:
        return
    comment.hidden_at = None
    comment.hidden_by = None
    comment.save(update_fields=["hidden_at", "hidden_by"])
    Photo.objects.filter(pk=comment.photo_id).update(comment_count=F("comment_count") + 1)
    photo_cards_forget_on_commit(photo_ids=[comment.photo_id])


@transaction.atomic
def follow_set(*, follower: User, followee: User, following: bool) -> int:
    """Follow or unfollow; saying the same twice changes nothing. Returns the followee's follower count."""
    if follower.pk == followee.pk:
        raise SocialRefused("You cannot follow yourself.")
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
        User.objects.filter(pk=followee.pk).update(follower_count=F("follower_count") + changed)
        User.objects.filter(pk=follower.pk).update(following_count=F("following_count") + changed)
    return User.objects.values_list("follower_count", flat=True).get(pk=followee.pk)
