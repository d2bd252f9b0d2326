from django.urls import reverse

from apps.accounts.models import User
from tests.factories import PASSWORD


def test_sign_up_logs_the_new_person_in(client, db) -> None:
    response = client.post(
        reverse("signup"),
        {
            "username": "newbie",
            "email": "n@example.com",
            "display_name": "New Bie",
            "password1": "correct horse battery",
            "password2": "correct horse battery",
        },
    )
    assert response.status_code == 302
    assert User.objects.get(username="newbie").display_name == "New Bie"
    assert "New Bie" in client.get(reverse("home")).content.decode()


def test_sign_up_with_mismatched_passwords_is_refused(client, db) -> None:
    response = client.post(
        reverse("signup"),
        {
            "username": "newbie",
            "email": "n@example.com",
            "password1": "correct horse battery",
            "password2": "wrong horse battery",
        },
    )
    assert response.status_code == 400
    assert "You must type the same password each time." in response.content.decode()
    assert not User.objects.filter(username="newbie").exists()


def test_log_in_and_out_with_user_name_or_email(client, user) -> None:
    for login in (user.username, user.email):
        response = client.post(reverse("login"), {"login": login, "password": PASSWORD})
        assert response.status_code == 302, response.content.decode()
        assert "Log out" in client.get(reverse("home")).content.decode()
        client.post(reverse("logout"))
        assert "Log in" in client.get(reverse("home")).content.decode()


def test_wrong_password_is_refused_with_a_message(client, user) -> None:
    response = client.post(reverse("login"), {"login": user.username, "password": "nope"})
    assert response.status_code == 400
    assert "The username and/or password you specified are not correct." in response.content.decode()


def test_account_pages_are_in_the_site_layout(client, user) -> None:
    client.force_login(user)
    for name in ("account_settings", "account_email", "account_change_password", "mfa_index", "api_tokens"):
        page = client.get(reverse(name)).content.decode()
        assert 'class="topbar"' in page and "panel narrow" in page, name
    assert 'class="topbar"' in client.get(reverse("account_reset_password")).content.decode()
