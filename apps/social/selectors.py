"""Reads for follows, likes and comments, with the same visibility rules as everything else."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from django.db.models import Exists, OuterRef, Q
from django.http import Http404

from apps.accounts.models import User
from apps.photos.models import Photo, PhotoStatus, Visibility
from apps.photos.selectors import photo_get_for_viewer
from apps.social.models import PHOTO_COMMENTS, PHOTO_LIKES, USER_FOLLOWERS, USER_FOLLOWING, Comment, Follow, Like
from photosite.counters import counters_totals

COMMENTS_SHOWN = 200


@dataclass(frozen=True)
class PhotoCounts:
    likes: int
    comments: int


@dataclass(frozen=True)
class PersonCounts:
    followers: int
    following: int


def photo_counts(*, photo_id: int) -> PhotoCounts:
    """A photo's live like and comment counts (one query over their counter shards).

    Read apart from the cached card, so a like never has to forget the card.
    """
    totals = counters_totals([PHOTO_LIKES, PHOTO_COMMENTS], photo_id)
    return PhotoCounts(likes=totals[PHOTO_LIKES], comments=totals[PHOTO_COMMENTS])


def person_counts(*, user_id: int) -> PersonCounts:
    """A person's live follower and following counts (one query)."""
    totals = counters_totals([USER_FOLLOWERS, USER_FOLLOWING], user_id)
    return PersonCounts(followers=totals[USER_FOLLOWERS], following=totals[USER_FOLLOWING])


def photo_liked_by(*, photo: Photo, viewer: User | AnonymousUser) -> bool:
    return viewer.is_authenticated and Like.objects.filter(photo=photo, user=viewer).exists()


def user_is_followed_by(*, person: User, viewer: User | AnonymousUser) -> bool:
    return viewer.is_authenticated and Follow.objects.filter(follower=viewer, followee=person).exists()


def comment_list_for_photo(*, photo: Photo, viewer: User | AnonymousUser) -> list[Comment]:
    """Oldest first. Hidden comments show only to their author (marked) and to moderators;
    a deactivated person's comments show to nobody (the admin still lists them)."""
    comments = Comment.objects.filter(photo=photo, author__is_active=True).select_related("author")
    if viewer.is_authenticated and viewer.is_staff:
        pass
    elif viewer.is_authenticated:
        comments = comments.filter(Q(hidden_at__isnull=True) | Q(author=viewer))
    else:
        comments = comments.filter(hidden_at__isnull=True)
    return list(comments.order_by("created_at", "id")[:COMMENTS_SHOWN])


def comment_get_for_viewer(*, comment_id: int, viewer: User | AnonymousUser, share_token: str = "") -> Comment:
    """A comment whose photo this viewer may see (404 otherwise, like the photo itself;
    `share_token` is the unlisted photo's link token, as for photo_get_for_viewer)."""
    comment = Comment.objects.select_related("photo", "author").filter(pk=comment_id, author__is_active=True).first()
    if comment is None:
        raise Http404("No such comment.")
    photo_get_for_viewer(photo_id=comment.photo_id, viewer=viewer, share_token=share_token)
    if comment.hidden_at is not None and not (
        viewer.is_authenticated and (viewer.is_staff or viewer.pk == comment.author_id)
    ):
        raise Http404("No such comment.")
    return comment


def people_followed_by(*, person: User, limit: int = 200) -> list[User]:
    return list(
        User.objects.filter(follower_set__follower=person, is_active=True).order_by("-follower_set__created_at")[:limit]
    )


def people_following(*, person: User, limit: int = 200) -> list[User]:
    return list(
        User.objects.filter(following_set__followee=person, is_active=True).order_by("-following_set__created_at")[
            :limit
        ]
    )


def people_to_follow(*, viewer: User, limit: int = 6) -> list[User]:
    """Whom an empty Following page suggests: people with a photo anyone may see, whom the
    viewer does not follow yet, the most followed first. One query."""
    shows_a_photo = Photo.objects.filter(
        owner=OuterRef("pk"), visibility=Visibility.PUBLIC, status=PhotoStatus.READY, hidden_at__isnull=True
    )
    people = User.objects.filter(Exists(shows_a_photo), is_active=True).exclude(pk=viewer.pk)
    return list(people.exclude(follower_set__follower=viewer).order_by("-follower_count", "-date_joined")[:limit])
