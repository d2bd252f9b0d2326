"""Keyset cursors (photosite/pagination.py): whatever a client sends as a cursor, a grid
page and an API list answer 400 with a way back, never a 500."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from django.test import Client
from django.urls import reverse

from photosite.pagination import BadCursor, cursor_decode, cursor_encode
from tests.factories import PhotoRowFactory

TIME = '{"t":"2026-01-01T00:00:00+00:00"}'
HOSTILE_JSON = {
    "infinity": f"[{TIME},Infinity]",  # json.loads takes it; int(inf) raised OverflowError
    "minus infinity": f"[{TIME},-Infinity]",
    "not a number": f"[{TIME},NaN]",
    "a float that overflows to infinity": f"[{TIME},1e999]",
    "nesting past the recursion limit": "[" * 1100,  # RecursionError inside json.loads
    "a long list": "[" + ",".join(["1"] * 5000) + "]",
    "a time with no UTC equivalent": '[{"t":"0001-01-01T00:00:00+14:00"},1]',  # OverflowError on SQLite
}


def raw_cursor(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize("text", HOSTILE_JSON.values(), ids=HOSTILE_JSON.keys())
def test_a_hostile_cursor_is_refused_as_broken(text: str) -> None:
    with pytest.raises(BadCursor):
        cursor_decode(raw_cursor(text), length=2)


def test_a_cursor_we_made_reads_back() -> None:
    moment = datetime(2026, 1, 1, 12, 30, tzinfo=UTC)
    assert cursor_decode(cursor_encode([moment, 7]), length=2) == [moment, 7]
    assert cursor_decode(cursor_encode([0.25, 7]), length=2) == [0.25, 7]  # a search rank


@pytest.mark.django_db
@pytest.mark.parametrize("text", HOSTILE_JSON.values(), ids=HOSTILE_JSON.keys())
def test_a_hostile_cursor_is_a_400_on_grids_and_in_the_api(text: str) -> None:
    PhotoRowFactory()
    client = Client(raise_request_exception=False)
    cursor = raw_cursor(text)
    api = client.get("/api/v1/photos/", {"cursor": cursor})
    assert api.status_code == 400
    assert api.json()["error"]["message"] == "This page link is broken; go back to the first page."
    page = client.get(reverse("home"), {"after": cursor})
    assert page.status_code == 400 and "This page link is broken" in page.content.decode()
    partial = client.get(reverse("home"), {"after": cursor, "partial": "1"})
    assert partial.status_code == 400 and "broken" in partial.json()["error"]
