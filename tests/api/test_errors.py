"""The API's one error format (apps/api/errors.py), for crafted input and for our own bugs."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.photos import selectors
from tests.factories import PhotoRowFactory


@pytest.fixture
def anonymous() -> Client:
    return Client(raise_request_exception=False)  # as a real client sees a 500


def test_an_unexpected_error_in_the_api_is_a_500_in_the_api_error_format(anonymous, db, monkeypatch) -> None:
    def broken() -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(selectors, "listing_recent", broken)
    response = anonymous.get("/api/v1/photos/")
    assert response.status_code == 500 and response["Content-Type"] == "application/json"
    assert response.json() == {
        "error": {
            "status": 500,
            "message": "Something went wrong on our side. It has been logged; please try again later.",
            "fields": {},
        }
    }
    assert "a bug" not in response.content.decode()
    page = anonymous.get("/")  # the site's pages keep their HTML error page
    assert page.status_code == 500 and page["Content-Type"].startswith("text/html")


def test_a_tag_filter_that_cannot_be_a_tag_is_a_400(anonymous, db) -> None:
    response = anonymous.get("/api/v1/photos/", {"tag": "a/b"})
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "“a/b” is not a tag: use letters, digits, “-” and “_”."


@pytest.mark.parametrize("parameter", ["album", "limit"])
@pytest.mark.parametrize("value", ["²", "٣x", "9" * 5000, "-1", "1.5"])
def test_a_number_parameter_that_is_not_a_plain_number_is_a_400(anonymous, db, parameter, value) -> None:
    PhotoRowFactory()
    response = anonymous.get("/api/v1/photos/", {parameter: value})
    assert response.status_code == 400 and response.json()["error"]["message"].startswith(f"{parameter}: ")


def test_a_route_the_api_does_not_have_is_a_404_in_the_api_error_format(anonymous, db) -> None:
    response = anonymous.get("/api/v1/no-such-thing/")
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    assert response.json()["error"]["status"] == 404
    assert anonymous.get("/no-such-page/")["Content-Type"].startswith("text/html")
