"""An unlisted album in Chromium: a visitor opens it by its link only, sees its public photos
and plays the slideshow to the last photo; its owner uploads two more straight into it (shared
tags on both), makes it private, and the link stops working."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from playwright.sync_api import FilePayload, expect

from apps.albums.selectors import album_share_path
from apps.albums.services import album_create
from apps.photos.models import Visibility
from tests.browser import chromium  # noqa: F401  (fixture)
from tests.factories import UserFactory, ready_photo
from tests.images import jpeg_bytes
from tests.photos.browser_pages import DESKTOP, browser_page, session_cookie, session_for


@dataclass
class RoadTrip:
    url: str
    album_id: int
    link: str
    owner_session: str


@pytest.fixture
def road_trip(site_server_factory, bucket) -> RoadTrip:
    """Made before the browser starts (Django refuses database work while Playwright runs)."""
    owner = UserFactory(username="ivy", display_name="Ivy Roads")
    photos = [ready_photo(owner, title=f"Stop {number}") for number in (1, 2, 3)]
    secret = ready_photo(owner, title="Motel receipt", visibility=Visibility.PRIVATE)
    album = album_create(
        owner=owner,
        title="Road trip",
        photo_ids=[*(photo.pk for photo in photos), secret.pk],
        visibility=Visibility.UNLISTED,
    )
    return RoadTrip(site_server_factory().url, album.pk, album_share_path(album=album), session_for(owner))


def test_unlisted_album_opens_by_link_plays_a_slideshow_and_closes_when_made_private(
    road_trip,
    chromium,  # noqa: F811
) -> None:
    site, link, bare = road_trip, road_trip.link, f"/albums/{road_trip.album_id}/"

    with browser_page(chromium, viewport=DESKTOP) as page:
        response = page.goto(site.url + bare)
        assert response is not None and response.status == 404  # the id alone opens nothing
        page.goto(site.url + link)
        expect(page.locator("h1")).to_have_text("Road trip")
        expect(page.locator(".card-title")).to_have_text(["Stop 1", "Stop 2", "Stop 3"])  # not the receipt
        assert page.locator('meta[name="robots"]').get_attribute("content") == "noindex"

        # The slideshow: the viewer on the first photo, then on by itself to the last, where it stops.
        page.locator("[data-slideshow]").evaluate("button => { button.dataset.slideshowInterval = '300'; }")
        page.get_by_role("button", name="Play slideshow").click()
        viewer = page.locator("dialog.viewer")
        expect(viewer).to_be_visible()
        title = viewer.locator(".viewer-title")
        expect(title).to_have_text("Stop 1")
        expect(title).to_have_text("Stop 2")
        expect(title).to_have_text("Stop 3")
        toggle = viewer.locator("[data-slideshow-toggle]")
        expect(toggle).to_have_text("Resume slideshow")  # the last photo stays up
        page.keyboard.press("Escape")
        expect(viewer).to_be_hidden()

    with browser_page(chromium, viewport=DESKTOP) as page:
        page.context.add_cookies([session_cookie(site.owner_session, site.url)])
        # The upload page puts new photos straight into the album, with the shared tags on each.
        page.goto(site.url + "/upload/")
        page.locator("#uploader-album").select_option(label="Road trip")
        page.locator("#uploader-tags").fill("roadtrip")
        files: list[FilePayload] = [
            {"name": f"{name}.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes(120, 80, seed=seed)}
            for seed, name in ((31, "gas"), (32, "diner"))
        ]
        page.set_input_files("#uploader-files", files=files)
        items = page.locator(".upload-item")
        expect(items).to_have_count(2)
        items.nth(1).locator(".upload-tags").fill("food")
        page.locator("#uploader-start").click()
        expect(page.locator(".upload-status.ok")).to_have_count(2)
        items.nth(1).get_by_role("link", name="View photo").click()
        expect(page.locator("ul.tags a")).to_have_text(["#food", "#roadtrip"])
        page.goto(site.url + f"/albums/{site.album_id}/edit/")
        expect(page.locator(".arrange-title")).to_have_count(6)  # still processing ones too, for the owner
        expect(page.locator("#album-share-url")).to_have_value(site.url + link)
        page.get_by_label("Who can see it").select_option("private")
        page.get_by_role("button", name="Save", exact=True).click()
        expect(page.locator("#album-share-url")).to_have_count(0)
        page.goto(site.url + bare)
        expect(page.locator("h1")).to_have_text("Road trip")  # still the owner's
        expect(page.locator(".card-title")).to_have_count(4)

    with browser_page(chromium, viewport=DESKTOP) as page:
        response = page.goto(site.url + link)
        assert response is not None and response.status == 404  # the link no longer opens it
