"""The page shell's header and footer, whose fixed stretches are kept per language and process
(`{% once %}`, apps/accounts/templatetags/shell_tags.py): each person still sees their own name,
badge and CSRF token, each page its own tab, search words and language, one after another in
the same process."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.template import Context, Template, TemplateSyntaxError
from django.test import Client
from django.urls import reverse
from django.utils import translation

from apps.accounts.models import User
from tests.factories import UserFactory


class _Shell(HTMLParser):
    """What the header and footer show: links by text, the current tab, form fields."""

    def __init__(self) -> None:
        super().__init__()
        self.current_tabs: list[str] = []
        self.hrefs: list[str] = []
        self.fields: dict[str, str] = {}
        self.text: list[str] = []
        self._in_current = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "a":
            self.hrefs.append(attributes.get("href", ""))
            self._in_current = attributes.get("aria-current") == "page"
        elif tag == "input" and "name" in attributes:
            self.fields.setdefault(attributes["name"], attributes.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._in_current = False

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.text.append(data.strip())
            if self._in_current:
                self.current_tabs.append(data.strip())


def shell_of(client: Client, path: str, language: str = "en") -> _Shell:
    response = client.get(path, headers={"accept-language": language})
    assert response.status_code == 200, path
    shell = _Shell()
    shell.feed(response.content.decode())
    return shell


def test_each_person_sees_their_own_header_and_a_token_of_their_own_session(db) -> None:
    ann = UserFactory(username="ann", display_name="Ann Example", unread_notification_count=3)
    bob = UserFactory(username="bob", display_name="Bob <b>Bold</b>", unread_notification_count=0)
    for _ in range(2):  # the second round reads what the first kept
        for person, badge in ((ann, "3"), (bob, None)):
            client = Client(enforce_csrf_checks=True)
            client.force_login(person)
            shell = shell_of(client, reverse("home"))
            assert person.shown_name in shell.text
            assert reverse("profile", args=[person.username]) in shell.hrefs
            assert ("3" in shell.text) == (badge == "3")
            other = bob if person == ann else ann
            assert other.shown_name not in shell.text
            assert reverse("profile", args=[other.username]) not in shell.hrefs
            # The log-out form's token is this session's: posting it signs this person out.
            token = shell.fields["csrfmiddlewaretoken"]
            assert client.post(reverse("logout"), {"csrfmiddlewaretoken": token}).status_code == 302
            assert "_auth_user_id" not in client.session


def test_visitors_get_the_visitors_header_between_signed_in_pages(client, db) -> None:
    person = UserFactory()
    signed_in = Client()
    signed_in.force_login(person)
    for _ in range(2):
        assert reverse("photo_upload") in shell_of(signed_in, reverse("home")).hrefs
        visitor = shell_of(client, reverse("home"))
        assert reverse("photo_upload") not in visitor.hrefs
        assert reverse("feed") not in visitor.hrefs
        assert {reverse("login"), reverse("signup")} <= set(visitor.hrefs)
        assert "csrfmiddlewaretoken" not in visitor.fields


def test_each_page_marks_its_own_tab(db) -> None:
    client = Client()
    client.force_login(UserFactory())
    for _ in range(2):
        assert shell_of(client, reverse("home")).current_tabs == ["Recent"]
        assert shell_of(client, reverse("explore")).current_tabs == ["Popular"]
        assert shell_of(client, reverse("feed")).current_tabs == ["Following"]
        assert shell_of(client, reverse("liked")).current_tabs == ["Liked"]
        assert shell_of(client, reverse("search")).current_tabs == []


def test_search_words_and_the_language_forms_next_page_are_each_requests_own(client, db) -> None:
    words = '<script>alert("x")</script>'
    searched = client.get(reverse("search"), {"q": words})
    assert words not in searched.content.decode()  # escaped
    shell = _Shell()
    shell.feed(searched.content.decode())
    assert shell.fields["q"] == words
    assert shell.fields["next"].startswith(reverse("search") + "?q=")
    explore = shell_of(client, reverse("explore"))
    assert explore.fields["q"] == ""
    assert explore.fields["next"] == reverse("explore")


def test_header_and_footer_follow_each_pages_language(client, db) -> None:
    for _ in range(2):
        english = shell_of(client, "/", "en").text
        german = shell_of(client, "/", "de").text
        assert {"Skip to content", "Log in", "Language"} <= set(english)
        assert {"Zum Inhalt springen", "Anmelden"} <= set(german)
        assert "Log in" not in german


def test_a_kept_stretch_sees_only_the_values_it_names(db) -> None:
    template = Template("{% load shell_tags %}{% once n=n %}[{{ n }}|{{ user.username }}]{% endonce %}")
    ann = User(username="ann")
    assert template.render(Context({"n": 1, "user": ann})) == "[1|]"  # the user never reaches it
    assert template.render(Context({"n": 2, "user": ann})) == "[2|]"
    assert template.render(Context({"n": 1, "user": ann})) == "[1|]"


def test_every_signed_in_page_carries_a_new_token_that_only_its_session_can_post(db) -> None:
    ann, bob = UserFactory(username="ann"), UserFactory(username="bob")
    clients = {}
    for person in (ann, bob):
        clients[person] = Client(enforce_csrf_checks=True)
        clients[person].force_login(person)
    tokens = [shell_of(clients[ann], reverse("home")).fields["csrfmiddlewaretoken"] for _ in range(3)]
    bobs = shell_of(clients[bob], reverse("home")).fields["csrfmiddlewaretoken"]
    assert len(set(tokens)) == 3 and bobs not in tokens  # masked afresh on each page (BREACH)
    assert all(len(token) == 64 and token.isalnum() for token in [*tokens, bobs])
    # Ann's token is no good with Bob's cookie, nor is a token altered by one character.
    assert clients[bob].post(reverse("logout"), {"csrfmiddlewaretoken": tokens[0]}).status_code == 403
    altered = tokens[1][:40] + ("a" if tokens[1][40] != "a" else "b") + tokens[1][41:]
    assert clients[ann].post(reverse("logout"), {"csrfmiddlewaretoken": altered}).status_code == 403
    assert "_auth_user_id" in clients[ann].session
    # Any of the pages' tokens signs Ann out.
    assert clients[ann].post(reverse("logout"), {"csrfmiddlewaretoken": tokens[0]}).status_code == 302
    assert "_auth_user_id" not in clients[ann].session


def test_a_signed_in_page_without_a_csrf_cookie_sets_one_its_form_can_post_with(db) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(UserFactory())
    assert "csrftoken" not in client.cookies
    response = client.get(reverse("home"))
    assert response.cookies["csrftoken"].value  # the page's token is of the secret in this new cookie
    shell = _Shell()
    shell.feed(response.content.decode())
    assert (
        client.post(reverse("logout"), {"csrfmiddlewaretoken": shell.fields["csrfmiddlewaretoken"]}).status_code == 302
    )
    assert "_auth_user_id" not in client.session


def test_a_kept_stretch_cannot_hold_a_block() -> None:
    with pytest.raises(TemplateSyntaxError, match="cannot hold a"):
        Template("{% load shell_tags %}{% once %}{% block title %}{% endblock %}{% endonce %}")


def test_a_kept_stretch_follows_a_language_changed_within_the_page(db) -> None:
    template = Template(
        "{% load i18n shell_tags %}{% once %}{% translate 'Log in' %}{% endonce %}|"
        "{% language other %}{% once %}{% translate 'Log in' %}{% endonce %}{% endlanguage %}"
    )
    with translation.override("en"):  # the page's language stays; the inner one changes
        assert template.render(Context({"other": "de"})) == "Log in|Anmelden"
        assert template.render(Context({"other": "en"})) == "Log in|Log in"
        assert template.render(Context({"other": "de"})) == "Log in|Anmelden"


def test_a_kept_stretch_is_made_again_when_a_setting_changes(db, settings) -> None:
    template = Template("{% load static shell_tags %}{% once %}{% static 'css/site.css' %}{% endonce %}")
    settings.STATIC_URL = "/first/"
    assert template.render(Context({})).startswith("/first/")
    settings.STATIC_URL = "/second/"
    assert template.render(Context({})).startswith("/second/")
