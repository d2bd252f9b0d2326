"""Account mail over a real SMTP server (aiosmtpd): verification, password reset, email
change, followed by their links as a person would."""

from __future__ import annotations

import re

from allauth.account.models import EmailAddress
from django.urls import reverse

from apps.accounts.models import User
from tests.accounts.conftest import Mailbox, body_of, link_in
from tests.factories import PASSWORD, UserFactory

NEW_PASSWORD = "a-brand-new-password-42"


def confirm_by_link(client, message) -> None:
    """Open the mailed link, then press the page's Confirm button (a GET alone confirms nothing)."""
    link = link_in(message)
    page = client.get(link)
    assert page.status_code == 200
    assert "Confirm" in page.content.decode()
    assert client.post(link).status_code == 302


def test_sign_up_mails_a_link_that_verifies_the_address(client, db, mail: Mailbox) -> None:
    response = client.post(
        reverse("signup"),
        {"username": "newbie", "email": "newbie@example.com", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    address = EmailAddress.objects.get(email="newbie@example.com")
    assert not address.verified

    message = mail.wait_for(to="newbie@example.com", subject="Please Confirm Your Email Address")
    assert str(message["Subject"]).startswith("[photosite] ")
    confirm_by_link(client, message)
    confirmed = EmailAddress.objects.get(pk=address.pk)
    assert confirmed.verified and confirmed.primary


def test_a_forgotten_password_is_reset_through_the_mailed_link(client, db, mail: Mailbox) -> None:
    user = UserFactory(email="forgetful@example.com")
    response = client.post(reverse("account_reset_password"), {"email": "forgetful@example.com"})
    assert response.status_code == 302

    message = mail.wait_for(to="forgetful@example.com", subject="Password Reset")
    assert user.username in body_of(message)
    link = link_in(message)
    form_page = client.get(link, follow=True)  # allauth moves the key out of the URL first
    assert form_page.status_code == 200
    assert (
        client.post(form_page.redirect_chain[-1][0], {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD}).status_code
        == 302
    )

    client.logout()
    assert client.post(reverse("login"), {"login": user.username, "password": PASSWORD}).status_code == 400
    assert client.post(reverse("login"), {"login": user.username, "password": NEW_PASSWORD}).status_code == 302
    # A reset link works once.
    assert "invalid" in client.get(link, follow=True).content.decode().lower()


def test_a_reset_for_an_unknown_address_looks_the_same_and_tells_that_address_only(client, db, mail) -> None:
    response = client.post(reverse("account_reset_password"), {"email": "nobody@example.com"})
    assert response.status_code == 302  # the same answer as for a known address
    message = mail.wait_for(to="nobody@example.com", subject="Unknown Account")
    assert not re.search(r"/accounts/password/reset/key/", body_of(message))


def test_a_new_email_address_takes_over_once_its_link_is_followed(client, db, mail: Mailbox) -> None:
    user = UserFactory(email="old@example.com")
    EmailAddress.objects.create(user=user, email="old@example.com", verified=True, primary=True)
    client.force_login(user)
    response = client.post(reverse("account_email"), {"email": "new@example.com", "action_add": ""})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.email == "old@example.com"  # not before the new address is confirmed

    confirm_by_link(client, mail.wait_for(to="new@example.com", subject="Please Confirm Your Email Address"))
    user.refresh_from_db()
    assert user.email == "new@example.com"
    assert list(EmailAddress.objects.filter(user=user).values_list("email", "primary", "verified")) == [
        ("new@example.com", True, True)
    ]


def test_changing_the_password_needs_the_old_one(client, db, mail: Mailbox) -> None:
    user = UserFactory()
    client.force_login(user)
    url = reverse("account_change_password")
    wrong = client.post(url, {"oldpassword": "guess", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert wrong.status_code == 200 and "Please type your current password." in wrong.content.decode()
    right = client.post(url, {"oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD})
    assert right.status_code == 302
    assert User.objects.get(pk=user.pk).check_password(NEW_PASSWORD)
    assert "Log out" in client.get(reverse("home")).content.decode()  # this session stays signed in
    mail.wait_for(to=user.email, subject="Password Changed")


def test_people_from_before_get_their_address_to_confirm(client, db, mail: Mailbox) -> None:
    """Migration accounts.0005: an address on the user row becomes an unconfirmed primary EmailAddress."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("apps.accounts.migrations.0005_email_addresses_of_existing_people")
    old_timer, no_email = UserFactory(email="old.timer@example.com"), UserFactory(email="")
    migration.addresses_for_existing_people(apps, None)
    address = EmailAddress.objects.get(user=old_timer)
    assert (address.email, address.primary, address.verified) == ("old.timer@example.com", True, False)
    assert not EmailAddress.objects.filter(user=no_email).exists()

    client.force_login(old_timer)
    assert client.post(reverse("account_email"), {"action_send": "", "email": address.email}).status_code == 302
    confirm_by_link(client, mail.wait_for(to="old.timer@example.com", subject="Please Confirm Your Email Address"))
    assert EmailAddress.objects.get(pk=address.pk).verified
