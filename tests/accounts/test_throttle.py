"""Login throttling on every login form, counted in Redis so every web process shares it."""

from __future__ import annotations

import json

import requests
from django.urls import reverse

from tests.factories import PASSWORD, UserFactory
from tests.pages import parse_page


def post_login(browser: requests.Session, base: str, login: str, password: str) -> requests.Response:
    url = base + "/accounts/login/"
    token = parse_page(browser.get(url, timeout=10).text).csrf_token
    return browser.post(
        url,
        data={"csrfmiddlewaretoken": token, "login": login, "password": password},
        headers={"Referer": url},
        allow_redirects=False,
        timeout=10,
    )


def test_wrong_passwords_are_throttled_across_two_web_processes(site_server_factory) -> None:
    """Today's finding: 40 wrong passwords all got 200 and the right one still worked.

    Two gunicorn workers, a new connection (and so, by chance, either worker) per attempt:
    the count lives in Redis, so the fifth wrong password for a name ends the guessing on
    both, and the right password then waits too.
    """
    victim = UserFactory()
    server = site_server_factory(workers=2, threads=1, LOG_FORMAT="json")
    statuses = []
    for _ in range(8):
        browser = requests.Session()  # one TCP connection each: the kernel spreads them over the workers
        statuses.append(post_login(browser, server.url, victim.username, "wrong guess").status_code)
    assert statuses[:5] == [400] * 5, statuses
    assert statuses[5:] == [429] * 3, statuses
    refused = post_login(requests.Session(), server.url, victim.username, PASSWORD)
    assert refused.status_code == 429 and "Too many failed login attempts" in refused.text

    # Someone else's name is not locked by it.
    assert post_login(requests.Session(), server.url, UserFactory().username, PASSWORD).status_code == 302

    # Both processes answered login attempts, so neither could have counted alone.
    attempts = [line for line in server.log_path.read_text().splitlines() if '"POST /accounts/login/' in line]
    assert len({json.loads(line)["process"]["pid"] for line in attempts}) == 2


def test_the_admin_login_sends_people_to_the_throttled_form(client, user) -> None:
    response = client.post(reverse("admin:login"), {"username": user.username, "password": "wrong"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login") + "?next=")
    response = client.post(reverse("admin:login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302 and "Log out" not in client.get(reverse("home")).content.decode()


def test_the_api_token_request_counts_against_the_same_limit(client, user) -> None:
    url = reverse("api_token")
    for _ in range(5):
        assert client.post(url, {"username": user.username, "password": "wrong"}).status_code == 400
    refused = client.post(url, {"username": user.username, "password": PASSWORD})
    assert refused.status_code == 429, refused.content
    assert client.post(reverse("login"), {"login": user.username, "password": PASSWORD}).status_code == 429
