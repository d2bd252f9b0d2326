"""Deactivated and deleted people: their photos and comments leave every page, search and
API answer, and what they liked, commented and followed stops counting."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse

from apps.accounts.models import User
from apps.accounts.services import users_deactivate
from apps.photos.selectors import photo_count_for_profile, tag_photo_count
from apps.social.selectors import PersonCounts, PhotoCounts, person_counts, photo_counts
from apps.social.services import comment_create, follow_set, like_set
from tests.factories import UserFactory, ready_photo


@pytest.fixture
def world(db, bucket):
    """`gone` (about to be deactivated or deleted) and `friend`, who each did things to the other."""
    gone = UserFactory(username="gone", display_name="Gone Person")
    friend = UserFactory(username="friend")
    gone_photo = ready_photo(gone, title="Farewell lighthouse", tags="farewell")
    friend_photo = ready_photo(friend, title="Staying lighthouse", tags="farewell")
    like_set(user=gone, photo=friend_photo, liked=True)
    like_set(user=friend, photo=gone_photo, liked=True)
    comment_create(author=gone, photo=friend_photo, body="Gone comment")
    comment_create(author=friend, photo=friend_photo, body="Friend comment")
    follow_set(follower=gone, followee=friend, following=True)
    follow_set(follower=friend, followee=gone, following=True)
    return gone, friend, gone_photo, friend_photo


def pages_and_answers(client, friend: User, gone_photo, friend_photo) -> dict[str, str]:
    """Every listing, search and API answer the gone person's things could appear in."""
    client.force_login(friend)  # a follower of theirs: the feed too
    answers = {
        "home": client.get(reverse("home")),
        "popular": client.get(reverse("explore")),
        "feed": client.get(reverse("feed")),
        "tag": client.get(reverse("tag", args=["farewell"])),
        "search": client.get(reverse("search") + "?q=lighthouse"),
        "search people": client.get(reverse("search") + "?q=gone"),
        "friend's photo": client.get(reverse("photo_detail", args=[friend_photo.pk])),
        "api list": client.get("/api/v1/photos/"),
        "api search": client.get("/api/v1/photos/?q=lighthouse"),
        "api tag": client.get("/api/v1/photos/?tag=farewell"),
        "api feed": client.get("/api/v1/feed/"),
        "api popular": client.get("/api/v1/popular/"),
        "api comments": client.get(f"/api/v1/photos/{friend_photo.pk}/comments/"),
    }
    for name, response in answers.items():
        assert response.status_code == 200, name
    return {name: response.content.decode() for name, response in answers.items()}


def test_deactivated_people_vanish_from_every_listing_search_and_api_answer(
    client, world, django_capture_on_commit_callbacks
) -> None:
    gone, friend, gone_photo, friend_photo = world
    before = pages_and_answers(client, friend, gone_photo, friend_photo)  # and warm every cache
    assert "Farewell lighthouse" in before["home"] and "Gone comment" in before["friend's photo"]
    assert "Farewell lighthouse" in before["api feed"] and "Gone comment" in before["api comments"]

    with django_capture_on_commit_callbacks(execute=True):
        assert users_deactivate(actor=UserFactory(is_staff=True, is_superuser=True), user_ids=[gone.pk]) == 1

    after = pages_and_answers(client, friend, gone_photo, friend_photo)
    for name, body in after.items():
        assert "Farewell lighthouse" not in body, name
        assert "Gone comment" not in body, name
        assert "@gone" not in body, name
    assert "Staying lighthouse" in after["tag"] and "Friend comment" in after["api comments"]
    assert client.get(reverse("photo_detail", args=[gone_photo.pk])).status_code == 404
    assert client.get(f"/api/v1/photos/{gone_photo.pk}/").status_code == 404
    assert client.get(reverse("profile", args=["gone"])).status_code == 404

    # Their like, comment and follow no longer count; their photo leaves the tag's count.
    assert photo_counts(photo_id=friend_photo.pk).likes == 0
    assert photo_counts(photo_id=friend_photo.pk).comments == 1
    assert person_counts(user_id=friend.pk).followers == 0
    assert person_counts(user_id=friend.pk).following == 0
    assert tag_photo_count(name="farewell") == 1
    assert 'class="lede">1 public photo<' in after["tag"]


def test_admin_bulk_delete_takes_what_they_did_off_everyone_elses_counts(world, django_capture_on_commit_callbacks):
    gone, friend, _, friend_photo = world
    other = UserFactory()
    follow_set(follower=other, followee=friend, following=True)
    user_admin = admin.site._registry[User]
    request = RequestFactory().post("/admin/accounts/user/")
    with django_capture_on_commit_callbacks(execute=True):
        user_admin.delete_queryset(request, User.objects.filter(pk__in=[gone.pk]))
    assert not User.objects.filter(pk=gone.pk).exists()
    assert photo_counts(photo_id=friend_photo.pk).likes == 0
    assert photo_counts(photo_id=friend_photo.pk).comments == 1
    assert person_counts(user_id=friend.pk).followers == 1  # `other` still follows
    assert person_counts(user_id=friend.pk).following == 0
    assert tag_photo_count(name="farewell") == 1
    assert photo_count_for_profile(owner=friend, viewer=friend) == 1


def test_deleting_someone_already_deactivated_takes_nothing_off_twice(world, django_capture_on_commit_callbacks):
    gone, friend, _, friend_photo = world
    users_deactivate(actor=UserFactory(is_staff=True, is_superuser=True), user_ids=[gone.pk])
    with django_capture_on_commit_callbacks(execute=True):
        admin.site._registry[User].delete_model(RequestFactory().post("/"), gone)
    assert photo_counts(photo_id=friend_photo.pk) == PhotoCounts(likes=0, comments=1)
    assert person_counts(user_id=friend.pk) == PersonCounts(followers=0, following=0)
