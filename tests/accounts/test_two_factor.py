"""Two-factor authentication (TOTP with recovery codes): optional for people, required for
staff at /admin/ and /ops/."""

from __future__ import annotations

import subprocess
import sys

from allauth.mfa.models import Authenticator
from django.urls import reverse

from tests.conftest import ROOT, staff_login, subprocess_env_for_test_database
from tests.factories import PASSWORD, UserFactory, recovery_code_unused, totp_code, totp_enable


def log_in(client, user) -> str:
    """The password step; returns where the site sends the browser next."""
    response = client.post(reverse("login"), {"login": user.username, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()
    return str(response["Location"])


def test_with_totp_on_the_password_alone_does_not_sign_in(client, db) -> None:
    user = UserFactory()
    secret = totp_enable(user)
    assert log_in(client, user) == reverse("mfa_authenticate")
    assert "Log out" not in client.get(reverse("home")).content.decode()

    wrong = client.post(reverse("mfa_authenticate"), {"code": "000000" if totp_code(secret) != "000000" else "111111"})
    assert wrong.status_code == 200 and "Incorrect code." in wrong.content.decode()
    assert client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)}).status_code == 302
    assert "Log out" in client.get(reverse("home")).content.decode()


def test_a_recovery_code_signs_in_once(client, db) -> None:
    user = UserFactory()
    totp_enable(user)
    code = recovery_code_unused(user)
    log_in(client, user)
    assert client.post(reverse("mfa_authenticate"), {"code": code}).status_code == 302
    client.post(reverse("logout"))
    log_in(client, user)
    assert client.post(reverse("mfa_authenticate"), {"code": code}).status_code == 200  # spent


def test_people_without_totp_sign_in_with_the_password(client, user) -> None:
    assert log_in(client, user) == reverse("home")


def test_staff_without_totp_are_sent_to_set_it_up_before_the_admin_and_ops(client, db) -> None:
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    for url in (reverse("admin:index"), reverse("admin:accounts_user_changelist"), reverse("ops_dashboard")):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("mfa_activate_totp")), url
    page = client.get(reverse("mfa_activate_totp"), follow=True).content.decode()
    assert "Staff need two-factor authentication" in page
    assert client.get(reverse("home")).status_code == 200  # the rest of the site is open to them


def test_staff_with_totp_confirm_a_code_in_a_session_that_has_not_used_one(client, db) -> None:
    staff = UserFactory(is_staff=True)
    secret = totp_enable(staff)
    client.force_login(staff)  # an older session, from before TOTP was on
    response = client.get(reverse("ops_dashboard"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("mfa_reauthenticate"))
    assert client.post(response["Location"], {"code": totp_code(secret)})["Location"] == reverse("ops_dashboard")
    assert client.get(reverse("ops_dashboard")).status_code == 200


def test_staff_who_signed_in_with_their_code_reach_the_admin(client, db) -> None:
    staff = UserFactory(is_staff=True, is_superuser=True)
    secret = totp_enable(staff)
    assert log_in(client, staff) == reverse("mfa_authenticate")
    client.post(reverse("mfa_authenticate"), {"code": totp_code(secret)})
    assert client.get(reverse("admin:index")).status_code == 200


def test_the_staff_requirement_can_be_relaxed_in_settings(client, db, settings) -> None:
    settings.STAFF_MFA_REQUIRED = False
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    assert client.get(reverse("admin:index")).status_code == 200
    assert not Authenticator.objects.filter(user=staff).exists()


def test_only_embedded_mode_may_relax_it() -> None:
    def check(**env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
        )

    base = {name: value for name, value in subprocess_env_for_test_database().items()}
    production = check(**base, STAFF_MFA_REQUIRED="false")
    assert production.returncode != 0 and "STAFF_MFA_REQUIRED=false is for embedded mode only" in production.stderr
    embedded = {name: value for name, value in base.items() if name != "DATABASE_URL"}
    assert check(**embedded, STAFF_MFA_REQUIRED="false").returncode == 0


def test_the_staff_login_helper_really_uses_a_second_factor(client, db) -> None:
    staff = UserFactory(is_staff=True)
    staff_login(client, staff)
    assert client.get(reverse("ops_dashboard")).status_code == 200
