"""Share links in Chromium: the owner makes a password-protected link on a private photo's
page, an anonymous browser opens it, is asked the password, is told a wrong one is wrong,
then sees the photo with its image loaded; the owner revokes it and the link says so."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from playwright.sync_api import expect

from apps.photos.models import Visibility
from tests.browser import chromium  # noqa: F401  (fixture)
from tests.factories import UserFactory, ready_photo
from tests.photos.browser_pages import DESKTOP, browser_page, session_cookie, session_for, wait_for_images


@dataclass
class Harbour:
    url: str
    photo_id: int
    owner_session: str


@pytest.fixture
def harbour(site_server_factory, bucket) -> Harbour:
    """Made before the browser starts (Django refuses database work while Playwright runs)."""
    owner = UserFactory(username="noor", display_name="Noor Harbour")
    photo = ready_photo(owner, title="Harbour lights", visibility=Visibility.PRIVATE)
    return Harbour(site_server_factory().url, photo.pk, session_for(owner))


def test_owner_makes_a_password_link_and_an_anonymous_browser_opens_it(
    harbour,
    chromium,  # noqa: F811
) -> None:
    site = harbour
    with browser_page(chromium, viewport=DESKTOP) as owner_tab:
        owner_tab.context.add_cookies([session_cookie(site.owner_session, site.url)])
        owner_tab.goto(f"{site.url}/photos/{site.photo_id}/")
        panel = owner_tab.locator("#share-links")
        panel.get_by_label("Expires").select_option(label="In 7 days")
        panel.get_by_label("Password (optional)").fill("lantern-42")
        panel.get_by_role("button", name="Make a share link").click()
        expect(owner_tab.locator(".message.success")).to_contain_text("Share link made")
        item = owner_tab.locator("[data-share-link]")
        expect(item).to_have_count(1)
        expect(item.locator("[data-share-facts]")).to_contain_text("With a password")
        expect(item.locator("[data-share-facts]")).to_contain_text("0 views")
        link = item.locator(".share-url").input_value()
        assert link.startswith(f"{site.url}/s/")

        with browser_page(chromium, viewport=DESKTOP) as visitor:
            response = visitor.goto(link)
            assert response is not None and response.status == 200
            assert response.headers["cache-control"] == "private, no-store"
            expect(visitor.locator("h1")).to_have_text("This link has a password")
            expect(visitor.get_by_text("Harbour lights")).to_have_count(0)
            visitor.get_by_label("Password").fill("lantern-41")
            visitor.get_by_role("button", name="Open").click()
            expect(visitor.locator(".error")).to_have_text("That is not this link's password.")
            visitor.get_by_label("Password").fill("lantern-42")
            visitor.get_by_role("button", name="Open").click()
            expect(visitor.locator("h1")).to_have_text("Harbour lights")
            opened = visitor.reload()  # unlocked for this browser's session
            assert opened is not None and opened.headers["referrer-policy"] == "no-referrer"
            expect(visitor.locator("h1")).to_have_text("Harbour lights")
            expect(visitor.locator(".byline")).to_contain_text("Shared with you by Noor Harbour")
            wait_for_images(visitor, "img.hero")  # the private photo's image loads, signed, for nobody signed in

            owner_tab.reload()
            expect(item.locator("[data-share-facts]")).to_contain_text("2 views")
            item.get_by_role("button", name="Revoke").click()
            expect(owner_tab.locator(".message.success")).to_contain_text("Link revoked")
            expect(owner_tab.locator("[data-share-link]")).to_have_count(0)

            gone = visitor.reload()
            assert gone is not None and gone.status == 410
            expect(visitor.locator("h1")).to_have_text("This link no longer works")
            expect(visitor.get_by_text("Harbour lights")).to_have_count(0)
