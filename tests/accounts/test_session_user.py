"""Who a signed-in request is (apps/accounts/authentication.py reads the session's user row without the
ORM's query building): the row is read on every request, so whatever changes it (deactivation,
a password change, a demotion, counters moved by UPDATE) shows at the person's next request, on
every web process."""

from __future__ import annotations

import requests
from django.contrib.auth import login
from django.contrib.sessions.middleware import SessionMiddleware
from django.db import connection
from django.db.models import F
from django.http import HttpResponse
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.accounts import context_processors
from apps.accounts.middleware import AuthenticationMiddleware
from apps.accounts.models import User
from apps.accounts.services import account_delete, users_deactivate
from tests.conftest import staff_login
from tests.factories import PASSWORD, UserFactory
from tests.pages import parse_page

NEW_PASSWORD = "a-new-long-passphrase-42"


def sign_in(browser: requests.Session, base: str, user: User) -> None:
    url = base + "/accounts/login/"
    token = parse_page(browser.get(url, timeout=10).text).csrf_token
    data = {"csrfmiddlewaretoken": token, "login": user.username, "password": PASSWORD}
    response = browser.post(url, data=data, headers={"Referer": url}, allow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text[:2000]


def signed_in(browser: requests.Session, base: str) -> bool:
    return "Log out" in browser.get(base + "/", timeout=10).text


def test_deactivation_and_a_password_change_sign_people_out_on_every_process_at_once(site_server_factory) -> None:
    first, second = site_server_factory(workers=1, threads=1), site_server_factory(workers=1, threads=1)
    servers = (first.url, second.url)
    admin, person, changer = UserFactory(is_staff=True, is_superuser=True), UserFactory(), UserFactory()

    browser = requests.Session()
    sign_in(browser, first.url, person)
    assert all(signed_in(browser, base) for base in servers)
    users_deactivate(actor=admin, user_ids=[person.pk])
    assert not any(signed_in(browser, base) for base in servers)

    # The person changes their password in one browser: the other is signed out on both
    # processes at its next request, the one that changed it stays signed in.
    laptop, phone = requests.Session(), requests.Session()
    sign_in(laptop, first.url, changer)
    sign_in(phone, second.url, changer)
    assert all(signed_in(browser, base) for browser in (laptop, phone) for base in servers)
    url = second.url + reverse("account_change_password")
    token = parse_page(laptop.get(url, timeout=10).text).csrf_token
    data = {"csrfmiddlewaretoken": token, "oldpassword": PASSWORD, "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    assert laptop.post(url, data=data, headers={"Referer": url}, allow_redirects=False, timeout=10).status_code == 302
    assert all(signed_in(laptop, base) for base in servers)
    assert not any(signed_in(phone, base) for base in servers)


def test_an_account_deleted_signs_its_sessions_out(client, user, bucket) -> None:
    client.force_login(user)
    assert "Log out" in client.get(reverse("home")).content.decode()
    account_delete(user_id=user.pk)
    assert "Log out" not in client.get(reverse("home")).content.decode()


def test_inactive_from_any_write_is_signed_out_at_the_next_request(client, user) -> None:
    client.force_login(user)
    assert "Log out" in client.get(reverse("home")).content.decode()
    User.objects.filter(pk=user.pk).update(is_active=False)  # no save(), no signal
    assert "Log out" not in client.get(reverse("home")).content.decode()


def test_demoted_staff_lose_the_admin_at_their_next_request(client, db) -> None:
    staff = UserFactory(is_staff=True, is_superuser=True)
    staff_login(client, staff)
    assert client.get(reverse("admin:index")).status_code == 200
    User.objects.filter(pk=staff.pk).update(is_staff=False, is_superuser=False)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_counters_moved_by_update_show_at_the_next_request(client, user) -> None:
    client.force_login(user)
    assert "data-unread-count" not in client.get(reverse("home")).content.decode()
    User.objects.filter(pk=user.pk).update(unread_notification_count=F("unread_notification_count") + 3)
    page = client.get(reverse("home")).content.decode()
    assert '<span class="badge" data-unread-count>3<' in page


def test_a_session_signed_under_a_retired_secret_key_stays_signed_in_and_moves_to_the_new_one(
    client, user, settings
) -> None:
    client.force_login(user)
    old_session = client.cookies["sessionid"].value
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40
    assert "Log out" in client.get(reverse("home")).content.decode()
    assert client.cookies["sessionid"].value != old_session  # cycled, its hash now under the new key
    settings.SECRET_KEY_FALLBACKS = []
    assert "Log out" in client.get(reverse("home")).content.decode()


def test_a_session_under_a_key_no_longer_trusted_is_signed_out(client, user, settings) -> None:
    client.force_login(user)
    settings.SECRET_KEY = "a-new-secret-key-" + "y" * 40  # and the old one not among the fallbacks
    assert "Log out" not in client.get(reverse("home")).content.decode()


def test_the_user_row_is_read_with_the_orms_own_query_from_the_database(client, user) -> None:
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        assert "Log out" in client.get(reverse("home")).content.decode()
    orm = str(User.objects.filter(pk=user.pk).query)
    assert [query["sql"] for query in queries.captured_queries if 'FROM "accounts_user"' in query["sql"]] == [orm]


def test_templates_see_the_requests_person_and_whoever_signs_in_during_the_request(rf, db) -> None:
    ann, bob = UserFactory(username="ann"), UserFactory(username="bob")
    request = rf.get("/")
    SessionMiddleware(lambda request: HttpResponse()).process_request(request)
    AuthenticationMiddleware(lambda request: HttpResponse()).process_request(request)
    assert context_processors.auth(request)["user"].is_anonymous  # no one in the session yet
    login(request, ann, backend="django.contrib.auth.backends.ModelBackend")
    assert context_processors.auth(request)["user"] == ann
    # A later request of that session: its person is read from the session, as request.user is.
    later = rf.get("/")
    later.session = request.session
    AuthenticationMiddleware(lambda request: HttpResponse()).process_request(later)
    assert context_processors.auth(later)["user"] == ann == later.user
    login(later, bob, backend="django.contrib.auth.backends.ModelBackend")
    assert context_processors.auth(later)["user"] == bob
