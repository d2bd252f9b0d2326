"""A new person signs up and uploads a photo in a real browser, against real services."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image, ImageStat
from playwright.sync_api import expect

from tests.browser import chromium, page  # noqa: F401  (fixtures)
from tests.factories import PASSWORD, UserFactory, ready_photo
from tests.images import jpeg_bytes

SCREENSHOTS = Path(os.environ.get("PHOTOSITE_SCREENSHOT_DIR", "var/screenshots"))


def looks_like_a_picture(png: bytes) -> bool:
    """Not blank: the screenshot has real variation in colour, not one flat fill."""
    with Image.open(io.BytesIO(png)) as shot:
        stats = ImageStat.Stat(shot.convert("RGB"))
        return max(stats.stddev) > 20 and len(shot.convert("RGB").getcolors(1_000_000) or []) > 500


def test_new_person_signs_up_uploads_and_sees_their_photo(site_server, worker, bucket, page) -> None:  # noqa: F811
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(site_server.url + "/")
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Sign up").click()
    page.fill("#id_username", "ada")
    page.fill("#id_email", "ada@example.com")
    page.fill("#id_display_name", "Ada Browser")
    page.fill("#id_password1", "a long browser password")
    page.fill("#id_password2", "a long browser password")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_text("Ada Browser")).to_be_visible()
    # The stylesheet (hashed name, served by WhiteNoise) applies.
    expect(page.locator(".topbar")).to_have_css("position", "sticky")

    page.get_by_role("navigation", name="Account").get_by_role("link", name="Upload").click()
    # Two files at once, straight to S3: a wrong one and a photo. Each gets its own verdict.
    page.set_input_files(
        "#uploader-files",
        files=[
            {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not a photo at all"},
            {"name": "lake.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes(2000, 1300, seed=2)},
        ],
    )
    items = page.locator(".upload-item")
    expect(items).to_have_count(2)
    items.nth(1).locator(".upload-title").fill("Mountain lake")
    items.nth(1).locator(".upload-alt").fill("A lake below green hills")
    page.click("#uploader-start")
    expect(items.nth(1).get_by_role("link", name="View photo")).to_be_visible(timeout=30_000)
    expect(items.nth(1).locator("progress")).to_have_js_property("value", 100)
    expect(items.nth(0)).to_contain_text("This file is not a JPEG, PNG, WebP, HEIC, AVIF or GIF image.")
    expect(items.nth(0).locator(".upload-retry")).to_be_hidden()  # retrying cannot help a wrong file
    assert bucket.keys("private/incoming/") == [], "the refused and the accepted upload both left incoming/"
    page.screenshot(path=str(SCREENSHOTS / "upload-page.png"), full_page=True)
    items.nth(1).get_by_role("link", name="View photo").click()

    # The page refreshes itself until the worker has made the renditions.
    hero = page.locator("img.hero")
    expect(hero).to_be_visible(timeout=60_000)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=hero.element_handle())
    expect(hero).to_have_attribute("alt", "A lake below green hills")
    assert hero.evaluate("img => img.currentSrc").startswith(os.environ["S3_ENDPOINT_URL"])
    page.screenshot(path=str(SCREENSHOTS / "photo-page.png"))

    page.goto(site_server.url + "/")
    card = page.locator(".card img").first
    expect(card).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=card.element_handle())
    shot = page.screenshot(path=str(SCREENSHOTS / "home-grid.png"), full_page=True)
    assert looks_like_a_picture(shot), "the home grid screenshot is blank"


TITLES = [f"Alice photo {index}" for index in range(5)]


@pytest.fixture
def community_site(site_server_factory, bucket):
    """Alice's five photos and Bob's account, made before the browser starts: Django refuses
    database work while Playwright's event loop runs in this thread."""
    alice = UserFactory(username="alice", display_name="Alice Lens")
    for title in TITLES:
        ready_photo(alice, title=title, tags="browsertest")
    UserFactory(username="bob", display_name="Bob Viewer")
    return site_server_factory(PHOTOS_PAGE_SIZE="2")  # five photos: three pages to scroll through


def test_a_visitor_follows_scrolls_steps_likes_and_comments(community_site, page) -> None:  # noqa: F811
    """Everything after the upload, in Chromium: each toggle happens without a page load."""
    site, titles = community_site, TITLES
    page.goto(site.url + "/accounts/login/")
    page.fill("#id_login", "bob")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(site.url + "/")

    # Infinite scroll: pages come two cards at a time as the end of the grid comes near.
    expect(page.locator(".card").first).to_be_visible()
    page.mouse.wheel(0, 5000)
    expect(page.locator(".card")).to_have_count(5)
    expect(page.locator(".card-title")).to_have_text(list(reversed(titles)))
    expect(page.locator("a[data-more]")).to_have_count(0)  # the More link goes once the last page is in

    # Step through the grid with the keyboard. A card opens the fullscreen viewer over the
    # grid; its title leads on to the photo page.
    page.locator(".card a").first.click()
    page.locator("dialog.viewer .viewer-title").click()
    page.wait_for_url("**/photos/*/?from=recent")
    expect(page.locator("h1")).to_have_text(titles[-1])
    page.keyboard.press("ArrowRight")
    expect(page.locator("h1")).to_have_text(titles[-2])

    # Like and follow toggle in place: a marker set on the page survives, so nothing reloaded.
    page.evaluate("window.stillTheSamePage = true")
    page.get_by_role("button", name="Like").click()
    expect(page.locator("[data-like-count]")).to_have_text("1")
    expect(page.locator("button.like")).to_have_attribute("aria-pressed", "true")
    page.get_by_role("button", name="Follow").click()
    expect(page.get_by_role("button", name="Following")).to_be_visible()
    assert page.evaluate("window.stillTheSamePage") is True

    page.fill("#comment-body", "What a view!")
    page.get_by_role("button", name="Post").click()
    expect(page.locator(".comment", has_text="What a view!")).to_be_visible()
    expect(page.locator(".reactions")).to_contain_text("1 comment")

    page.get_by_role("navigation", name="Sections").get_by_role("link", name="Following").click()
    page.wait_for_url("**/following/")
    expect(page.locator(".card")).to_have_count(5)  # all of alice's, scrolled in
    page.goto(site.url + "/tags/browsertest/")
    expect(page.locator(".lede")).to_contain_text("5 public photos")
