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
        {"username": "newbie", "password1": "correct horse battery", "password2": "wrong horse battery"},
    )
    assert response.status_code == 400
    assert "password fields didn’t match" in response.content.decode()
    assert not User.objects.filter(username="newbie").exists()


def test_log_in_and_out(client, user) -> None:
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    assert "Log out" in client.get(reverse("home")).content.decode()
    client.post(reverse("logout"))
    assert "Log in" in client.get(reverse("home")).content.decode()


def test_wrong_password_is_refused_with_a_message(client, user) -> None:
    response = client.post(reverse("login"), {"username": user.username, "password": "nope"})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
