"""What a link shows when pasted elsewhere: OpenGraph and Twitter card tags on photo, album and
profile pages, and the oEmbed endpoint. Who may see what through them is in the visibility
matrix (tests/photos/test_visibility_matrix.py); this is what they say."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from django.urls import reverse

from apps.photos.models import Visibility
from apps.photos.selectors import photo_share_path
from tests.factories import UserFactory, ready_photo


def meta(body: str) -> dict[str, str]:
    """The page's <meta property|name=... content=...> tags."""
    return dict(re.findall(r'<meta (?:property|name)="([^"]+)" content="([^"]*)"', body))


def oembed(client, url: str, **params: str):
    return client.get(reverse("oembed") + "?" + urlencode({"url": url, "format": "json", **params}))


@pytest.fixture
def photo(db, bucket):
    owner = UserFactory(username="ann", display_name="Ann Example")
    shot = ready_photo(owner, title="Harbour at dusk")
    shot.alt_text = "Boats in a harbour"
    shot.save(update_fields=["alt_text"])
    return shot


def test_a_public_photo_page_has_absolute_preview_tags_and_an_oembed_link(client, photo) -> None:
    body = client.get(reverse("photo_detail", args=[photo.pk])).content.decode()
    tags = meta(body)
    page_url = f"http://testserver/photos/{photo.pk}/"
    assert tags["og:title"] == "Harbour at dusk" and tags["og:url"] == page_url
    assert tags["og:image"].startswith("http") and tags["og:image"].endswith(".jpg")
    shown = next(r for r in photo.renditions.all() if tags["og:image"].endswith(r.file.name))
    assert (tags["og:image:width"], tags["og:image:height"]) == (str(shown.width), str(shown.height))
    assert tags["twitter:card"] == "summary_large_image" and tags["twitter:image"] == tags["og:image"]
    assert tags["og:image:alt"] == "Boats in a harbour"
    assert "robots" not in tags
    discovery = re.search(r'<link rel="alternate" type="application/json\+oembed" href="([^"]+)"', body)
    assert discovery, "no oEmbed discovery link"
    answer = client.get(discovery.group(1).replace("&amp;", "&"))
    assert answer.status_code == 200
    embed = answer.json()
    assert embed["type"] == "photo" and embed["version"] == "1.0"
    assert embed["title"] == "Harbour at dusk" and embed["author_name"] == "Ann Example"
    assert embed["author_url"] == "http://testserver/accounts/people/ann/"
    assert embed["url"] == tags["og:image"] and (embed["width"], embed["height"]) == (shown.width, shown.height)


def test_oembed_honours_maxwidth_and_refuses_what_it_cannot_answer(client, photo) -> None:
    page_url = f"http://testserver/photos/{photo.pk}/"
    smallest = min((r for r in photo.renditions.all() if r.format == "jpg"), key=lambda r: r.width)
    embed = oembed(client, page_url, maxwidth=str(smallest.width)).json()
    assert embed["width"] <= smallest.width
    assert oembed(client, page_url, maxwidth="wide").status_code == 400
    assert oembed(client, page_url, format="xml").status_code == 501
    assert client.get(reverse("oembed")).status_code == 400  # no url
    assert oembed(client, f"http://elsewhere.example/photos/{photo.pk}/").status_code == 404
    assert oembed(client, "http://testserver/explore/").status_code == 404  # not a photo page
    assert oembed(client, "http://testserver/photos/999999999/").status_code == 404
    assert oembed(client, "javascript:alert(1)").status_code == 404


def test_unlisted_previews_only_on_their_link_and_never_indexed(client, photo) -> None:
    owner = photo.owner
    unlisted = ready_photo(owner, title="Quiet cove", visibility=Visibility.UNLISTED)
    link = photo_share_path(photo=unlisted)
    tags = meta(client.get(link).content.decode())
    assert tags["og:url"] == f"http://testserver{link}" and tags["robots"] == "noindex"
    assert "og:image" in tags
    client.force_login(owner)  # the owner, without the token: the page shows, the preview does not
    body = client.get(reverse("photo_detail", args=[unlisted.pk])).content.decode()
    assert "Quiet cove" in body and "og:title" not in body and "oembed" not in body


def test_profile_pages_preview_the_person(client, photo) -> None:
    tags = meta(client.get(reverse("profile", args=["ann"])).content.decode())
    assert tags["og:type"] == "profile" and tags["og:title"] == "Ann Example"
    assert tags["og:url"] == "http://testserver/accounts/people/ann/"
    assert tags["og:description"] == "Photos by Ann Example"  # no bio yet
    assert tags["twitter:card"] == "summary"
