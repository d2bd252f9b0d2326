"""Likes, comments and follows: idempotent toggles, permissions, and counts that stay right under concurrency."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from apps.accounts.models import User
from apps.photos.models import Photo
from apps.social import services
from apps.social.models import Comment, Follow, Like
from apps.social.selectors import person_counts, photo_counts
from tests.factories import PhotoRowFactory, UserFactory


def test_liking_twice_counts_once_and_unliking_twice_is_harmless(user, other_user) -> None:
    photo = PhotoRowFactory(owner=other_user)
    assert services.like_set(user=user, photo=photo, liked=True) == 1
    assert services.like_set(user=user, photo=photo, liked=True) == 1
    assert services.like_set(user=user, photo=photo, liked=False) == 0
    assert services.like_set(user=user, photo=photo, liked=False) == 0
    assert not Like.objects.exists()


def test_a_blank_or_overlong_comment_is_refused_and_nothing_changes(user, other_user) -> None:
    photo = PhotoRowFactory(owner=other_user)
    for body in ("   ", "x" * 2001):
        with pytest.raises(services.SocialRefused):
            services.comment_create(author=user, photo=photo, body=body)
    assert photo_counts(photo_id=photo.pk).comments == 0 and not Comment.objects.exists()


def test_comment_count_follows_create_hide_unhide_and_delete(user, other_user) -> None:
    photo = PhotoRowFactory(owner=other_user)
    first = services.comment_create(author=user, photo=photo, body="Nice")
    services.comment_create(author=other_user, photo=photo, body="Thanks")
    moderator = UserFactory(is_staff=True)
    services.comment_hide(comment_id=first.pk, moderator=moderator)
    services.comment_hide(comment_id=first.pk, moderator=moderator)  # twice: counted once
    assert photo_counts(photo_id=photo.pk).comments == 1
    services.comment_unhide(comment_id=first.pk)
    assert photo_counts(photo_id=photo.pk).comments == 2
    services.comment_delete(comment_id=first.pk)
    services.comment_delete(comment_id=first.pk)  # already gone: no error, no second decrement
    assert photo_counts(photo_id=photo.pk).comments == 1


def test_who_may_delete_a_comment(user, other_user) -> None:
    photo_owner = UserFactory()
    comment = services.comment_create(author=user, photo=PhotoRowFactory(owner=photo_owner), body="Hi")
    assert services.comment_may_delete(comment=comment, user=user)  # its author
    assert services.comment_may_delete(comment=comment, user=photo_owner)  # the photo's owner
    assert not services.comment_may_delete(comment=comment, user=other_user)
    assert not services.comment_may_delete(comment=comment, user=UserFactory(is_staff=True))  # staff alone
    assert services.comment_may_delete(comment=comment, user=UserFactory(is_staff=True, is_superuser=True))


def test_follow_counts_on_both_sides_and_self_follow_refused(user, other_user) -> None:
    assert services.follow_set(follower=user, followee=other_user, following=True) == 1
    services.follow_set(follower=user, followee=other_user, following=True)
    assert (person_counts(user_id=user.pk).following, person_counts(user_id=other_user.pk).followers) == (1, 1)
    with pytest.raises(services.SocialRefused):
        services.follow_set(follower=user, followee=user, following=True)
    services.follow_set(follower=user, followee=other_user, following=False)
    assert (person_counts(user_id=user.pk).following, person_counts(user_id=other_user.pk).followers) == (0, 0)
    assert not Follow.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_likes_and_unlikes_keep_the_count_equal_to_the_rows() -> None:
    """Forty people click at once, half of them twice (like then unlike) and each like twice
    over: PostgreSQL sees the clicks interleave on separate connections."""
    owner = UserFactory()
    photo = PhotoRowFactory(owner=owner)
    likers = [UserFactory() for _ in range(40)]

    def click(liker: User) -> None:
        try:
            target = Photo.objects.get(pk=photo.pk)
            services.like_set(user=liker, photo=target, liked=True)
            services.like_set(user=liker, photo=target, liked=True)
            if liker.pk % 2:
                services.like_set(user=liker, photo=target, liked=False)
        finally:
            connection.close()  # each thread has its own connection; give it back

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(click, likers))
    rows = Like.objects.filter(photo=photo).count()
    assert rows == sum(1 for liker in likers if not liker.pk % 2)
    assert photo_counts(photo_id=photo.pk).likes == rows


@pytest.mark.django_db(transaction=True)
def test_concurrent_comments_and_follows_are_all_counted() -> None:
    owner = UserFactory()
    photo = PhotoRowFactory(owner=owner)
    people = [UserFactory() for _ in range(30)]

    def act(person: User) -> None:
        try:
            services.comment_create(author=person, photo=Photo.objects.get(pk=photo.pk), body="Wow")
            services.follow_set(follower=person, followee=owner, following=True)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(act, people))
    assert photo_counts(photo_id=photo.pk).comments == Comment.objects.filter(photo=photo).count() == 30
    assert person_counts(user_id=owner.pk).followers == Follow.objects.filter(followee=owner).count() == 30
