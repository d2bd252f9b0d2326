"""The Content-Security-Policy headers built once per process (photosite/csp.py): each
response still gets its own nonce, the policy is django-csp's, and a change of the setting
shows on the next response."""

from __future__ import annotations

import re
from collections.abc import Callable

from csp.decorators import csp_update
from csp.utils import build_policy
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse

from photosite.csp import CSPMiddleware
from tests.factories import UserFactory

HEADER = "Content-Security-Policy"


def directives(header: str) -> dict[str, list[str]]:
    parts = (part.split() for part in header.split(";") if part.strip())
    return {name: sources for name, *sources in parts}


def signed_in_client() -> Client:
    """Signed-in pages are never kept whole for visitors: each response is this process's."""
    client = Client()
    client.force_login(UserFactory())
    return client


def test_each_api_docs_response_has_its_own_nonce_in_its_header_and_on_its_inline_code(client, db) -> None:
    nonces = []
    for _ in range(3):
        response = client.get(reverse("api_docs"))
        assert response.status_code == 200
        on_inline_code = set(re.findall(r'<(?:script|style) nonce="([^"]+)"', response.content.decode()))
        assert len(on_inline_code) == 1  # the inline <style> and <script> carry the same one
        nonce = on_inline_code.pop()
        policy = directives(response[HEADER])
        assert f"'nonce-{nonce}'" in policy["script-src"] and f"'nonce-{nonce}'" in policy["style-src"]
        assert policy["script-src"].count(f"'nonce-{nonce}'") == 1
        nonces.append(nonce)
    assert len(set(nonces)) == 3


def test_a_page_without_inline_code_gets_django_csps_policy_without_a_nonce(db) -> None:
    client = signed_in_client()
    for _ in range(2):  # the second response reads what the first built
        header = client.get(reverse("home"))[HEADER]
        assert directives(header) == directives(build_policy())
        assert "nonce" not in header


def test_a_change_of_the_policy_shows_on_the_next_response_and_its_end_too(db) -> None:
    client = signed_in_client()
    before = directives(client.get(reverse("home"))[HEADER])  # built and kept
    assert "https://cdn.example" not in before["img-src"]
    changed = {"DIRECTIVES": {"default-src": ["'self'"], "img-src": ["https://cdn.example"]}}
    with override_settings(CONTENT_SECURITY_POLICY=changed):
        assert directives(client.get(reverse("home"))[HEADER]) == {
            "default-src": ["'self'"],
            "img-src": ["https://cdn.example"],
        }
        with override_settings(CONTENT_SECURITY_POLICY_REPORT_ONLY={"DIRECTIVES": {"default-src": ["'none'"]}}):
            assert client.get(reverse("home"))["Content-Security-Policy-Report-Only"] == "default-src 'none'"
        assert "Content-Security-Policy-Report-Only" not in client.get(reverse("home"))
    assert directives(client.get(reverse("home"))[HEADER]) == before


def answer(view: Callable[[HttpRequest], HttpResponseBase], path: str) -> HttpResponseBase:
    """The site's CSP middleware around `view`, for a GET of `path`."""
    response = CSPMiddleware(view)(RequestFactory().get(path))
    assert isinstance(response, HttpResponseBase)
    return response


def test_excluded_prefixes_and_a_views_own_policy_are_honoured(settings, db) -> None:
    @csp_update({"img-src": "https://extra.example"})
    def view_with_its_own_policy(request: HttpRequest) -> HttpResponse:
        return HttpResponse("ok")

    def plain_view(request: HttpRequest) -> HttpResponse:
        return HttpResponse("ok")

    images = directives(build_policy())["img-src"]
    assert directives(answer(view_with_its_own_policy, "/somewhere/")[HEADER])["img-src"] == [
        *images,
        "https://extra.example",
    ]
    assert directives(answer(plain_view, "/somewhere/")[HEADER])["img-src"] == images
    settings.CONTENT_SECURITY_POLICY = {**settings.CONTENT_SECURITY_POLICY, "EXCLUDE_URL_PREFIXES": ["/somewhere/"]}
    assert HEADER not in answer(plain_view, "/somewhere/")
    assert HEADER in answer(plain_view, "/elsewhere/")
