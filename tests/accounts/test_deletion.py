"""Deleting an account: the password again, content gone at once, files removed by jobs,
counts elsewhere right, and the user name held back for a cooling-off period."""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import RetiredUsername, User
from apps.accounts.services import account_delete, api_token_create, retired_usernames_release
from apps.albums.services import album_add_photos, album_create
from apps.photos.models import Photo
from apps.social.models import Comment
from apps.social.services import comment_create, comment_hide, follow_set, like_set
from tests.conftest import wait_for
from tests.factories import PASSWORD, UserFactory, ready_photo, uploaded_photo
from tests.locks import race_with_a_rendition_job


def test_deleting_needs_the_password(client, user) -> None:
    client.force_login(user)
    response = client.post(reverse("account_delete"), {"password": "not it"})
    assert response.status_code == 400 and "That is not your password." in response.content.decode()
    assert User.objects.filter(pk=user.pk).exists()


def test_the_person_and_their_content_go_at_once_and_counts_elsewhere_stay_right(
    client, bucket, worker, django_capture_on_commit_callbacks
) -> None:
    leaver, friend, fan = UserFactory(), UserFactory(), UserFactory()
    own = ready_photo(leaver, title="Leaver's lake", tags="leaverlake")
    friends = ready_photo(friend, title="Friend's hill")
    album_add_photos(album=album_create(owner=leaver, title="Trips"), photo_ids=[own.pk])
    follow_set(follower=leaver, followee=friend, following=True)
    follow_set(follower=fan, followee=leaver, following=True)
    like_set(user=leaver, photo=friends, liked=True)
    like_set(user=fan, photo=friends, liked=True)
    like_set(user=fan, photo=own, liked=True)
    comment_create(author=leaver, photo=friends, body="Lovely")
    hidden = comment_create(author=leaver, photo=friends, body="Spam")
    comment_hide(comment_id=hidden.pk, moderator=fan)
    comment_create(author=fan, photo=friends, body="Agreed")
    comment_create(author=fan, photo=own, body="Nice lake")
    _, key = api_token_create(user=leaver, name="script")
    leaver_files = [own.original.name, *own.renditions.values_list("file", flat=True)]
    assert all(name in bucket.keys() for name in leaver_files)

    client.get(reverse("home"))  # warm the cached grids
    client.force_login(leaver)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("account_delete"), {"password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("home")

    # Gone at once, for everyone: the person, their photo, page, tag, API; they are logged out.
    assert not User.objects.filter(pk=leaver.pk).exists()
    assert not Photo.objects.filter(pk=own.pk).exists()
    assert "Log out" not in client.get(reverse("home")).content.decode()
    assert "Leaver&#x27;s lake" not in client.get(reverse("home")).content.decode()
    assert client.get(reverse("photo_detail", args=[own.pk])).status_code == 404
    assert client.get(reverse("profile", args=[leaver.username])).status_code == 404
    assert "Leaver" not in client.get(reverse("tag", args=["leaverlake"])).content.decode()
    assert client.get(reverse("api_feed"), HTTP_AUTHORIZATION=f"Token {key}").status_code == 401

    # Counts on other people's rows, as the API shows them: what the leaver added is taken off, nothing else.
    shown = client.get(reverse("api_photo", args=[friends.pk])).json()
    assert (shown["like_count"], shown["comment_count"]) == (1, 1)
    assert shown["comment_count"] == Comment.objects.filter(photo=friends, hidden_at__isnull=True).count()
    assert client.get(reverse("api_person", args=[friend.username])).json()["follower_count"] == 0
    assert client.get(reverse("api_person", args=[fan.username])).json()["following_count"] == 0
    assert "Friend&#x27;s hill" in client.get(reverse("home")).content.decode()

    # The files go by job.
    wait_for(lambda: not set(leaver_files) & set(bucket.keys()), timeout=60, what=f"cleanup; {worker.log()}")


def test_the_user_name_is_not_reusable_until_the_cooling_off_period_ends(client, user, settings) -> None:
    client.force_login(user)
    client.post(reverse("account_delete"), {"password": PASSWORD})
    signup = {"email": "someone@example.com", "password1": PASSWORD, "password2": PASSWORD}
    for name in (user.username, user.username.upper()):
        response = client.post(reverse("signup"), {"username": name, **signup})
        assert response.status_code == 400 and "A user with that username already exists." in response.content.decode()

    RetiredUsername.objects.update(retired_at=timezone.now() - timedelta(days=settings.USERNAME_COOLING_OFF_DAYS + 1))
    assert client.post(reverse("signup"), {"username": user.username, **signup}).status_code == 302
    assert retired_usernames_release() == 1


def test_deleting_an_account_while_its_upload_finishes_rendering_does_not_deadlock(transactional_db, bucket) -> None:
    """A rendition job locks its photo, then its owner's row (the unfinished count); deleting the
    account took the row first and the photos later, so the two waited on each other until
    PostgreSQL killed one. The deletion now takes the photos first."""
    owner = UserFactory()
    photo = uploaded_photo(owner=owner, title="Last upload")
    errors = race_with_a_rendition_job(
        photo_id=photo.pk, owner_id=owner.pk, other=lambda: account_delete(user_id=owner.pk)
    )
    assert not errors, errors
    assert not User.objects.filter(pk=owner.pk).exists()
    assert not Photo.objects.filter(pk=photo.pk).exists()
