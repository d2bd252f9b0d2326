"""The account page: the email digest choice is there too, as well as on the notifications page."""

from __future__ import annotations

from allauth.account.models import EmailAddress
from django.urls import reverse

from apps.accounts.models import User


def test_account_page_shows_the_digest_choice_as_it_is(client, user) -> None:
    User.objects.filter(pk=user.pk).update(notification_digest="daily")
    client.force_login(user)
    page = client.get(reverse("account_settings")).content.decode()
    assert 'name="notification_digest"' in page
    assert '<option value="daily" selected>' in page


def test_digest_choice_saved_from_the_account_page(client, user) -> None:
    # The digest goes to confirmed addresses only.
    EmailAddress.objects.update_or_create(user=user, email=user.email, defaults={"primary": True, "verified": True})
    client.force_login(user)
    answer = client.post(reverse("account_settings"), {"notification_digest": "daily"}, follow=True)
    assert answer.redirect_chain[-1][0] == reverse("account_settings")
    assert "Email digest saved." in answer.content.decode()
    user.refresh_from_db()
    assert user.notification_digest == "daily"
    # The notifications page shows the same choice.
    assert '<option value="daily" selected>' in client.get(reverse("notifications")).content.decode()


def test_a_digest_choice_out_of_range_is_a_400_that_changes_nothing(client, user) -> None:
    client.force_login(user)
    answer = client.post(reverse("account_settings"), {"notification_digest": "hourly"})
    assert answer.status_code == 400
    assert 'class="error"' in answer.content.decode()
    user.refresh_from_db()
    assert user.notification_digest == "off"


def test_signed_out_visitor_is_sent_to_sign_in(client, db) -> None:
    answer = client.post(reverse("account_settings"), {"notification_digest": "daily"})
    assert answer.status_code == 302 and reverse("account_login") in answer["Location"]


def test_a_daily_digest_without_a_confirmed_address_is_refused_beside_the_choice(client, user) -> None:
    client.force_login(user)
    answer = client.post(reverse("account_settings"), {"notification_digest": "daily"})
    assert answer.status_code == 400
    assert "Confirm your email address first" in answer.content.decode()
    user.refresh_from_db()
    assert user.notification_digest == "off"
