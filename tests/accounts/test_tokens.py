"""API tokens: several named ones per person, each expiring, read-only or read-write, kept
only as a hash, listed and revoked on a settings page."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import ApiToken
from apps.accounts.selectors import token_digest
from apps.accounts.services import api_token_create
from tests.factories import PASSWORD, UserFactory, ready_photo, totp_code, totp_enable


def with_token(key: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api


def test_the_token_request_gives_a_new_named_token_each_time(user) -> None:
    api = APIClient()
    first = api.post(reverse("api_token"), {"username": user.username, "password": PASSWORD}, format="json").json()
    second = api.post(
        reverse("api_token"),
        {"username": user.username, "password": PASSWORD, "name": "laptop", "scope": "read", "expires_in_days": 7},
        format="json",
    ).json()
    assert first["token"].startswith("pst_") and first["token"] != second["token"]
    assert first["scope"] == "write" and second["scope"] == "read" and second["name"] == "laptop"
    assert with_token(first["token"]).get(reverse("api_feed")).status_code == 200
    assert with_token(second["token"]).get(reverse("api_feed")).status_code == 200
    assert ApiToken.objects.filter(user=user).count() == 2


def test_only_a_hash_of_the_key_is_stored(user) -> None:
    token, key = api_token_create(user=user, name="script")
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_apitoken")
        stored = " ".join(str(value) for row in cursor.fetchall() for value in row)
    assert key not in stored and key[12:] not in stored
    assert token.hint == key[:8]


def test_a_read_only_token_reads_and_changes_nothing(user, other_user, bucket) -> None:
    photo = ready_photo(other_user)
    _, key = api_token_create(user=user, name="viewer", scope="read")
    api = with_token(key)
    assert api.get(reverse("api_photo", args=[photo.pk])).status_code == 200
    refused = api.post(reverse("api_like", args=[photo.pk]))
    assert refused.status_code == 403
    assert refused.json()["error"]["message"].startswith("This token is read-only.")
    assert api.post(reverse("api_comments", args=[photo.pk]), {"body": "hi"}, format="json").status_code == 403
    assert api.delete(reverse("api_token")).status_code == 204  # it may revoke itself
    assert api.get(reverse("api_feed")).status_code == 401


def test_a_read_write_token_writes(user, other_user, bucket) -> None:
    photo = ready_photo(other_user)
    _, key = api_token_create(user=user, name="app", scope="write")
    assert with_token(key).post(reverse("api_like", args=[photo.pk])).status_code == 200


def test_an_expired_token_is_refused(user) -> None:
    token, key = api_token_create(user=user, name="old", lifetime=timedelta(days=1))
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = with_token(key).get(reverse("api_feed"))
    assert response.status_code == 401 and "expired" in response.json()["error"]["message"]


def test_a_token_of_a_deactivated_person_is_refused(user) -> None:
    _, key = api_token_create(user=user, name="x")
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert with_token(key).get(reverse("api_feed")).status_code == 401


def test_with_two_factor_on_the_token_request_needs_a_code(user) -> None:
    secret = totp_enable(user)
    api = APIClient()
    url = reverse("api_token")
    without = api.post(url, {"username": user.username, "password": PASSWORD}, format="json")
    assert without.status_code == 400 and "otp" in without.json()["error"]["fields"]
    wrong = api.post(url, {"username": user.username, "password": PASSWORD, "otp": "12345x"}, format="json")
    assert wrong.status_code == 400
    right = api.post(url, {"username": user.username, "password": PASSWORD, "otp": totp_code(secret)}, format="json")
    assert right.status_code == 200 and right.json()["token"].startswith("pst_")


def test_tokens_are_made_listed_and_revoked_on_the_settings_page(client, user) -> None:
    client.force_login(user)
    made = client.post(reverse("api_tokens"), {"name": "backup script", "scope": "read", "lifetime_days": "30"})
    assert made.status_code == 201
    key = made.content.decode().split('id="new-token">')[1].split("<")[0]
    assert key.startswith("pst_") and made["Cache-Control"] == "no-store"
    token = ApiToken.objects.get(user=user)
    assert token.name == "backup script" and token.scope == "read"
    assert timedelta(days=29) < token.expires_at - timezone.now() <= timedelta(days=30)

    listing = client.get(reverse("api_tokens")).content.decode()
    assert "<td>backup script</td>" in listing and token.hint in listing and key not in listing  # shown once only
    assert with_token(key).get(reverse("api_feed")).status_code == 200

    # Someone else cannot revoke it; its owner can, and it stops working at once.
    stranger = UserFactory()
    client.force_login(stranger)
    client.post(reverse("api_token_revoke", args=[token.pk]))
    assert ApiToken.objects.filter(pk=token.pk).exists()
    client.force_login(user)
    assert client.post(reverse("api_token_revoke", args=[token.pk])).status_code == 302
    assert with_token(key).get(reverse("api_feed")).status_code == 401
    assert "<td>backup script</td>" not in client.get(reverse("api_tokens")).content.decode()


def test_the_admin_never_shows_a_key(client, user, db) -> None:
    from tests.conftest import staff_login

    _, key = api_token_create(user=user, name="secret-ish")
    admin = UserFactory(is_staff=True, is_superuser=True)
    staff_login(client, admin)
    page = client.get(reverse("admin:accounts_user_change", args=[user.pk])).content.decode()
    assert key not in page and token_digest(key) not in page
    tokens = client.get(reverse("admin:accounts_apitoken_changelist")).content.decode()
    assert "secret-ish" in tokens and key[:8] in tokens
    assert key not in tokens and token_digest(key) not in tokens


def test_old_plaintext_tokens_are_carried_over_hashed_and_keep_working(user) -> None:
    """Migration accounts.0004 on a database that still has rest_framework.authtoken's table."""
    import importlib

    from django.apps import apps

    carry_over = importlib.import_module("apps.accounts.migrations.0004_api_tokens_from_plaintext").carry_over
    old_key = "0123456789abcdef0123456789abcdef01234567"
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamptz, user_id bigint)"
        )
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, now(), %s)", [old_key, user.pk])
    with connection.schema_editor() as schema_editor:
        carry_over(apps, schema_editor)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM authtoken_token")
        assert cursor.fetchone()[0] == 0  # no plaintext key stays behind
    token = ApiToken.objects.get(user=user)
    assert token.scope == "write" and token.digest == token_digest(old_key)
    assert with_token(old_key).get(reverse("api_feed")).status_code == 200
