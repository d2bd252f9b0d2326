"""/api/v1/me/: one's own account, read and changed; bad input is a 400 that changes nothing."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from rest_framework.test import APIClient

from apps.accounts.models import TokenScope, User
from apps.accounts.services import api_token_create
from tests.factories import UserFactory


@pytest.fixture
def api() -> APIClient:
    return APIClient()


def signed_in(user: User) -> APIClient:
    api = APIClient()
    api.force_authenticate(user)
    return api


def confirm_email(user: User) -> None:
    """The digest goes to confirmed addresses only."""
    EmailAddress.objects.update_or_create(user=user, email=user.email, defaults={"primary": True, "verified": True})


def account_of(user: User) -> tuple[str, str, str, str]:
    user.refresh_from_db()
    return (user.display_name, user.bio, user.default_licence, user.notification_digest)


def test_anonymous_visitor_is_refused(api) -> None:
    # 401 with the scheme to use (a 403 would say "you, signed in, may not"); nobody's account shows.
    for response in (api.get("/api/v1/me/"), api.patch("/api/v1/me/", {"bio": "x"}, format="json")):
        assert response.status_code == 401 and response["WWW-Authenticate"] == 'Token realm="api"'
        assert "email" not in response.json()


def test_person_reads_their_own_account_with_their_email_and_unread_count(user) -> None:
    User.objects.filter(pk=user.pk).update(unread_notification_count=3)
    user.refresh_from_db()
    answer = signed_in(user).get("/api/v1/me/")
    assert answer.status_code == 200
    assert answer["Cache-Control"] == "private, no-cache"
    body = answer.json()
    assert body["username"] == user.username
    assert body["email"] == user.email
    assert body["unread_notification_count"] == 3
    assert body["default_licence"] == "all-rights-reserved"
    assert body["notification_digest"] == "off"
    assert body["url"] == f"/accounts/people/{user.username}/"


def test_someone_elses_profile_never_shows_their_email(user, other_user) -> None:
    body = signed_in(user).get(f"/api/v1/users/{other_user.username}/").json()
    assert other_user.email and other_user.email not in str(body)


def test_patch_changes_name_bio_licence_and_digest_together(user) -> None:
    confirm_email(user)
    answer = signed_in(user).patch(
        "/api/v1/me/",
        {
            "display_name": "  Ann Example ",
            "bio": "Lakes.",
            "default_licence": "cc-by-sa",
            "notification_digest": "daily",
        },
        format="json",
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["display_name"] == "Ann Example"
    assert account_of(user) == ("Ann Example", "Lakes.", "cc-by-sa", "daily")


def test_patch_of_one_field_leaves_the_others(user) -> None:
    User.objects.filter(pk=user.pk).update(display_name="Ann", bio="Lakes.", default_licence="cc0")
    user.refresh_from_db()
    confirm_email(user)
    answer = signed_in(user).patch("/api/v1/me/", {"notification_digest": "daily"}, format="json")
    assert answer.status_code == 200
    assert account_of(user) == ("Ann", "Lakes.", "cc0", "daily")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"default_licence": "cc-by-9"}, "default_licence"),
        ({"notification_digest": "hourly"}, "notification_digest"),
        ({"display_name": "x" * 81}, "display_name"),
        ({"bio": "x" * 1001}, "bio"),
        ({"display_name": None}, "display_name"),
        ({"username": "someone-else"}, "username"),
        ({"email": "new@example.com"}, "email"),
        ({"unread_notification_count": 0}, "unread_notification_count"),
    ],
)
def test_bad_input_is_a_clear_400_and_changes_nothing(user, change, field) -> None:
    before = (user.username, user.email, *account_of(user))
    # A good change beside the bad one: neither is made.
    answer = signed_in(user).patch("/api/v1/me/", {"bio": "Changed.", **change}, format="json")
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert field in error["fields"] and error["fields"][field][0]
    user.refresh_from_db()
    assert (user.username, user.email, *account_of(user)) == before


def test_a_body_that_is_not_an_object_is_a_400(user) -> None:
    answer = signed_in(user).patch("/api/v1/me/", ["bio"], format="json")
    assert answer.status_code == 400


def test_read_only_token_may_read_but_not_change(api, user) -> None:
    _, key = api_token_create(user=user, name="reader", scope=TokenScope.READ)
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get("/api/v1/me/").json()["username"] == user.username
    assert api.patch("/api/v1/me/", {"bio": "Changed."}, format="json").status_code == 403
    assert account_of(user)[1] == ""


def test_each_person_sees_only_their_own_account(user) -> None:
    stranger = UserFactory()
    assert signed_in(stranger).get("/api/v1/me/").json()["username"] == stranger.username
    signed_in(stranger).patch("/api/v1/me/", {"bio": "Mine."}, format="json")
    assert account_of(user)[1] == ""


def test_a_daily_digest_without_a_confirmed_address_is_refused_with_the_rest_of_the_patch(user) -> None:
    answer = signed_in(user).patch("/api/v1/me/", {"bio": "Changed.", "notification_digest": "daily"}, format="json")
    assert answer.status_code == 400
    assert "Confirm your email address" in answer.json()["error"]["fields"]["notification_digest"][0]
    assert account_of(user)[1:] == ("", "all-rights-reserved", "off")
