"""Unlisted photos open only by their link: ids are sequential, so `/photos/<id>/` and
`/api/v1/photos/<id>/` without the link's token are a 404 for everyone but the owner and
staff, and the token never shows where others could read it."""

from __future__ import annotations

import re
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse

from apps.photos.models import Visibility
from apps.photos.selectors import photo_share_path, photo_share_token
from apps.social.selectors import photo_counts
from tests.factories import UserFactory, ready_photo


@pytest.fixture
def unlisted(db, bucket):
    owner = UserFactory(username="sharer")
    photo = ready_photo(owner, title="Only by link", visibility=Visibility.UNLISTED)
    return owner, photo


def found(pattern: str, page: str) -> str:
    match = re.search(pattern, page)
    assert match, pattern
    return unescape(match.group(1))


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("viewer", ["anonymous", "stranger"])
def test_unlisted_photo_page_and_api_are_404_by_id_and_open_with_the_token(unlisted, viewer) -> None:
    _, photo = unlisted
    client = Client() if viewer == "anonymous" else signed_in(UserFactory())
    page, api = reverse("photo_detail", args=[photo.pk]), reverse("api_photo", args=[photo.pk])
    token = photo_share_token(photo=photo)
    wrong = ("0" if token[0] != "0" else "1") + token[1:]

    for url in (page, api, f"{page}?k={wrong}", f"{api}?k={wrong}", f"{page}?k=", f"{api}?k=x"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Only by link" not in response.content.decode()

    assert "Only by link" in client.get(f"{page}?k={token}").content.decode()
    shown = client.get(f"{api}?k={token}")
    assert shown.status_code == 200 and shown.json()["title"] == "Only by link"
    assert shown.json()["share_url"] is None  # the link is the owner's to hand out
    # The photo's comments by the API need the link too.
    comments = reverse("api_comments", args=[photo.pk])
    assert client.get(comments).status_code == 404
    assert client.get(f"{comments}?k={token}").status_code == 200


def test_owner_and_staff_open_it_by_id_and_the_owner_is_shown_the_link(unlisted) -> None:
    owner, photo = unlisted
    owner_client = signed_in(owner)
    page = owner_client.get(reverse("photo_detail", args=[photo.pk]))
    assert page.status_code == 200
    shown = re.search(r'id="share-url"[^>]* value="([^"]+)"', page.content.decode())
    assert shown and unescape(shown.group(1)) == "http://testserver" + photo_share_path(photo=photo)
    api = owner_client.get(reverse("api_photo", args=[photo.pk])).json()
    assert api["share_url"] == photo_share_path(photo=photo)
    # The link from the owner's page works for anyone.
    assert "Only by link" in Client().get(photo_share_path(photo=photo)).content.decode()

    staff = signed_in(UserFactory(is_staff=True))
    assert staff.get(reverse("photo_detail", args=[photo.pk])).status_code == 200
    assert staff.get(reverse("api_photo", args=[photo.pk])).status_code == 200


def test_a_visitor_with_the_link_likes_comments_and_reports_through_the_page(unlisted) -> None:
    _, photo = unlisted
    visitor = signed_in(UserFactory())
    page = visitor.get(photo_share_path(photo=photo)).content.decode()
    like_action = found(r'<form method="post" action="([^"]+)" class="inline" data-like>', page)
    comment_action = found(r'action="([^"]+)" class="comment-form"', page)
    report_link = found(r'href="([^"]+)" class="report-link"', page)

    assert visitor.post(like_action, {"liked": "1"}).status_code == 302
    commented = visitor.post(comment_action, {"body": "Lovely"})
    assert commented.status_code == 302 and f"?k={photo_share_token(photo=photo)}#comment-" in commented["Location"]
    assert visitor.get(commented["Location"]).status_code == 200  # back on the page, by the link
    assert visitor.get(report_link).status_code == 200
    counts = photo_counts(photo_id=photo.pk)
    assert (counts.likes, counts.comments) == (1, 1)

    # Without the token the same writes find no photo.
    stranger = signed_in(UserFactory())
    assert stranger.post(reverse("photo_like", args=[photo.pk]), {"liked": "1"}).status_code == 404
    assert stranger.post(reverse("comment_create", args=[photo.pk]), {"body": "Found it"}).status_code == 404
    assert stranger.get(reverse("photo_report", args=[photo.pk])).status_code == 404
    assert stranger.post(reverse("api_like", args=[photo.pk])).status_code == 404
    counts = photo_counts(photo_id=photo.pk)
    assert (counts.likes, counts.comments) == (1, 1)


def test_the_token_is_in_no_listing_others_see(unlisted) -> None:
    owner, photo = unlisted
    public = ready_photo(owner, title="Out in the open")
    token = photo_share_token(photo=photo)
    stranger = signed_in(UserFactory())
    for url in (
        reverse("home"),
        reverse("profile", args=[owner.username]),
        reverse("photo_detail", args=[public.pk]),
        reverse("api_photos") + f"?user={owner.username}",
        reverse("api_photo", args=[public.pk]),
    ):
        body = stranger.get(url).content.decode()
        assert "Out in the open" in body, url
        assert token not in body and "Only by link" not in body, url
    # A public photo's API body names no share link, even for its owner.
    assert signed_in(owner).get(reverse("api_photo", args=[public.pk])).json()["share_url"] is None
