"""Finding photos in Chromium: a person's timeline with its jumps, search filters, the Liked
page, and the uploader naming a file already uploaded; at a desktop and a phone width.

Screenshots go to var/screenshots/ (PHOTOSITE_SCREENSHOT_DIR) for a person to look at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from playwright.sync_api import FilePayload, Page, expect

from apps.photos.models import Photo
from apps.social.services import like_set
from tests.browser import chromium  # noqa: F401  (fixture)
from tests.factories import UserFactory, camera_photo, uploaded_photo
from tests.images import jpeg_bytes
from tests.photos.browser_pages import DESKTOP, PHONE, browser_page, session_cookie, session_for, shoot

# Oldest first; two in March 2021 and three in July 2022, so a three-photo page ends inside a month.
TAKEN = ["2021:03:02", "2021:03:20", "2022:07:01", "2022:07:09", "2022:07:30", "2023:11:11"]


@dataclass
class DiscoverySite:
    url: str
    session: str  # Finn's: he liked two of Erin's photos
    existing: Photo  # Finn's own photo, whose file he picks again
    existing_bytes: bytes


@pytest.fixture
def discovery_site(site_server_factory, bucket) -> DiscoverySite:
    erin = UserFactory(username="erin", display_name="Erin Lens")
    photos = [
        camera_photo(
            erin, title=f"Taken {taken[:7]}", make="TestCam", model="TC-1", lens="Wide 23mm", taken=f"{taken} 10:00:00"
        )
        for taken in TAKEN
    ]
    finn = UserFactory(username="finn", display_name="Finn Likes")
    like_set(user=finn, photo=photos[0], liked=True)
    like_set(user=finn, photo=photos[4], liked=True)
    data = jpeg_bytes(600, 400, seed=5)
    existing = uploaded_photo(owner=finn, data=data, title="Already here")
    session = session_for(finn)
    server = site_server_factory(PHOTOS_PAGE_SIZE="3")
    return DiscoverySite(url=server.url, session=session, existing=existing, existing_bytes=data)


def expect_month_headings(page: Page, months: list[str]) -> None:
    expect(page.locator(".grid-month h2")).to_have_text(months)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_timeline_search_filters_liked_and_a_duplicate_upload(discovery_site, chromium, viewport) -> None:  # noqa: F811
    site, width = discovery_site, viewport["width"]
    with browser_page(chromium, viewport=viewport) as page:
        page.context.add_cookies([session_cookie(site.session, site.url)])
        # The timeline, from Erin's profile: months as headings, newest first.
        page.goto(site.url + "/accounts/people/erin/")
        page.get_by_role("link", name="By date taken").click()
        expect(page).to_have_url(re.compile(r"/accounts/people/erin/timeline/$"))
        expect(page.locator(".card")).to_have_count(6)  # infinite scroll brought the second page
        # The second page began inside July 2022: its heading is not repeated.
        expect_month_headings(page, ["November 2023", "July 2022", "March 2021"])
        widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], f"the page scrolls sideways: {widths}"
        shoot(page, f"timeline-{width}.png")
        # A month jump starts the grid at that month.
        jumps = page.get_by_role("navigation", name="Jump to a year or month")
        jumps.get_by_role("link", name="Mar 2").click()
        expect(page).to_have_url(re.compile(r"\?month=2021-03$"))
        expect(page.locator(".card")).to_have_count(2)
        expect_month_headings(page, ["March 2021"])

        # Search filters: open them, pick a camera, and the results keep the filter.
        page.goto(site.url + "/search/")
        page.get_by_text("Filters").click()
        page.get_by_label("Camera").fill("testcam tc-1")
        page.get_by_label("Taken from").fill("2022-07-01")
        page.get_by_label("Taken until").fill("2022-07-31")
        page.get_by_role("button", name="Search").click()
        expect(page).to_have_url(re.compile(r"camera=testcam\+tc-1.*date_from=2022-07-01"))
        expect(page.locator(".card")).to_have_count(3)
        expect(page.get_by_label("Camera")).to_have_value("testcam tc-1")
        shoot(page, f"search-filters-{width}.png")

        # Liked, from the header: the newest like first.
        page.get_by_role("navigation", name="Sections").get_by_role("link", name="Liked").click()
        expect(page.locator(".card-title")).to_have_text(["Taken 2022:07", "Taken 2021:03"])
        shoot(page, f"liked-{width}.png")
        if viewport != DESKTOP:
            return

        # The uploader names a file already uploaded, with a link to it; the other file goes in.
        page.goto(site.url + "/upload/")
        files: list[FilePayload] = [
            {"name": "again.jpg", "mimeType": "image/jpeg", "buffer": site.existing_bytes},
            {"name": "new.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes(600, 400, seed=6)},
        ]
        page.set_input_files("#uploader-files", files=files)
        page.locator("#uploader-start").click()
        items = page.locator(".upload-item")
        expect(items.nth(1).get_by_role("link", name="View photo")).to_be_visible(timeout=30_000)
        again = items.nth(0)
        expect(again).to_contain_text("You have already uploaded this file, as “Already here”.")
        expect(again.get_by_role("link", name="See that photo")).to_have_attribute(
            "href", f"/photos/{site.existing.pk}/"
        )
        shoot(page, "upload-duplicate-1280.png")
