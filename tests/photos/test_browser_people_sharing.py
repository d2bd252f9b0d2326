"""Issue 18's remaining flows in Chromium, against real services: uploading into an album with
shared tags, a person's default licence and a photo's own, and what a pasted link previews."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest
from playwright.sync_api import Page, expect

from apps.albums.services import album_create
from apps.photos.models import Licence, Visibility
from tests.browser import chromium  # noqa: F401  (fixture)
from tests.factories import UserFactory, ready_photo
from tests.images import jpeg_bytes
from tests.photos.browser_pages import DESKTOP, browser_page, session_cookie, session_for, wait_for_images

# A photo page refreshes itself until the worker has rendered it; a loaded box can take a while.
RENDERED = 90_000
CC_BY_SA = "CC BY-SA 4.0 (Attribution-ShareAlike)"
CC0 = "Public domain (CC0 1.0)"
# Load an image as another page would show it; its naturalWidth once drawn (0 if it failed).
DRAW = """url => new Promise(resolve => {
  const img = new Image();
  img.onload = () => resolve(img.naturalWidth);
  img.onerror = () => resolve(0);
  img.src = url;
})"""


def image_files(directory: Path, *names: str) -> list[Path]:
    """A distinct JPEG file per name (the site refuses one person's second upload of the same bytes)."""
    files = []
    for seed, name in enumerate(names, start=41):
        path = directory / f"{name}.jpg"
        path.write_bytes(jpeg_bytes(900, 600, seed=seed))
        files.append(path)
    return files


def upload(page: Page, files: list[Path]) -> list[str]:
    """Send the files from the upload page as it stands; the addresses of the new photos' pages."""
    page.set_input_files("#uploader-files", files=files)
    items = page.locator(".upload-item")
    expect(items).to_have_count(len(files))
    page.locator("#uploader-start").click()
    expect(page.locator(".upload-status.ok")).to_have_count(len(files), timeout=RENDERED)
    links = [items.nth(index).get_by_role("link", name="View photo") for index in range(len(files))]
    return [urljoin(page.url, str(link.get_attribute("href"))) for link in links]


def open_rendered(page: Page, url: str) -> None:
    """Open a photo page and wait for its picture: it reloads itself while the worker renders it."""
    page.goto(url)
    hero = page.locator("img.hero")
    expect(hero).to_be_visible(timeout=RENDERED)
    wait_for_images(page, "img.hero")


@dataclass
class Person:
    url: str
    session: str
    album_id: int = 0
    old_photo_id: int = 0


@pytest.fixture
def album_owner(site_server, worker, bucket) -> Person:
    """Made before the browser starts (Django refuses database work while Playwright runs)."""
    owner = UserFactory(username="noor", display_name="Noor Field")
    album = album_create(owner=owner, title="Coast walk")
    album_create(owner=owner, title="Other trip")
    return Person(site_server.url, session_for(owner), album_id=album.pk)


def test_upload_puts_both_files_into_the_album_with_the_shared_tags(
    album_owner,
    chromium,  # noqa: F811
    tmp_path: Path,
) -> None:
    site = album_owner
    with browser_page(chromium, viewport=DESKTOP) as page:
        page.context.add_cookies([session_cookie(site.session, site.url)])
        page.goto(site.url + "/upload/")
        page.get_by_label("Add them to").select_option(label="Coast walk")
        page.get_by_label("Tags for every photo").fill("coast spring2026")
        photo_urls = upload(page, image_files(tmp_path, "cliffs", "dunes"))

        for url in photo_urls:
            open_rendered(page, url)
            expect(page.locator("ul.tags a")).to_have_text(["#coast", "#spring2026"])
            expect(page.locator(".in-albums")).to_contain_text("Coast walk")
            expect(page.locator(".in-albums")).not_to_contain_text("Other trip")

        page.goto(site.url + f"/albums/{site.album_id}/")
        expect(page.locator("h1")).to_have_text("Coast walk")
        cards = page.locator(".card")
        expect(cards).to_have_count(2)
        for title in ("cliffs", "dunes"):
            expect(cards.filter(has=page.locator(".card-title", has_text=title))).to_have_count(1)
        wait_for_images(page, ".card img")


@pytest.fixture
def licence_owner(site_server, worker, bucket) -> Person:
    """Lena has one photo from before she chose a licence (all rights reserved)."""
    owner = UserFactory(username="lena", display_name="Lena Sand")
    old = ready_photo(owner, title="Old pier", tags="pier")
    return Person(site_server.url, session_for(owner), old_photo_id=old.pk)


def test_a_default_licence_goes_on_new_uploads_and_one_photo_can_change_its_own(
    licence_owner,
    chromium,  # noqa: F811
    tmp_path: Path,
) -> None:
    site = licence_owner
    with browser_page(chromium, viewport=DESKTOP) as page:
        page.context.add_cookies([session_cookie(site.session, site.url)])
        page.goto(site.url + "/accounts/settings/")
        page.get_by_role("link", name="Profile", exact=True).click()
        page.get_by_label("Licence for new photos").select_option(label=CC_BY_SA)
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("Profile saved.")).to_be_visible()

        page.goto(site.url + "/upload/")
        page.get_by_label("Tags for every photo").fill("pier")
        (new_url,) = upload(page, image_files(tmp_path, "new-pier"))
        open_rendered(page, new_url)
        expect(page.locator("h1")).to_have_text("new pier")
        deed = page.locator(".licence a[rel=license]")
        expect(deed).to_have_text(CC_BY_SA)
        expect(deed).to_have_attribute("href", "https://creativecommons.org/licenses/by-sa/4.0/")

        # The default changed no photo already up; the old one's own edit form does.
        old_url = site.url + f"/photos/{site.old_photo_id}/"
        page.goto(old_url)
        expect(page.locator(".licence")).to_have_text("© Lena Sand, all rights reserved")
        expect(page.locator(".licence a")).to_have_count(0)
        page.get_by_role("link", name="Edit", exact=True).click()
        expect(page.get_by_label("Licence", exact=True)).to_have_value(Licence.ALL_RIGHTS_RESERVED)
        page.get_by_label("Licence", exact=True).select_option(label=CC0)
        page.get_by_role("button", name="Save").click()
        page.wait_for_url(old_url)
        deed = page.locator(".licence a[rel=license]")
        expect(deed).to_have_text(CC0)
        expect(deed).to_have_attribute("href", "https://creativecommons.org/publicdomain/zero/1.0/")

        # The search page's licence filter: each licence finds its photo and not the other.
        for licence, found in ((CC_BY_SA, "new pier"), (CC0, "Old pier")):
            page.goto(site.url + "/search/")
            page.locator("details.filters summary").click()
            page.get_by_label("Licence", exact=True).select_option(label=licence)
            page.locator("form.search-filters").get_by_role("button", name="Search").click()
            page.wait_for_url("**/search/?*licence=*")
            expect(page.locator(".card-title")).to_have_text([found])
            wait_for_images(page, ".card img")
            expect(page.get_by_label("Licence", exact=True)).to_have_value(
                Licence.CC_BY_SA if licence == CC_BY_SA else Licence.CC0
            )


@dataclass
class Previewed:
    url: str
    public_id: int
    private_id: int
    private_files: list[str]  # the private photo's renditions in storage


@pytest.fixture
def previewed(site_server, bucket) -> Previewed:
    owner = UserFactory(username="omar", display_name="Omar Quay")
    public = ready_photo(owner, title="Harbour lights")
    private = ready_photo(owner, title="Locked diary", visibility=Visibility.PRIVATE)
    files = [str(rendition.file.name) for rendition in private.renditions.all()]
    assert files
    return Previewed(site_server.url, public.pk, private.pk, files)


def test_a_pasted_link_previews_a_public_photo_and_nothing_of_a_private_one(
    previewed,
    chromium,  # noqa: F811
) -> None:
    site = previewed
    with browser_page(chromium, viewport=DESKTOP) as page:
        public_url = site.url + f"/photos/{site.public_id}/"
        page.goto(public_url)
        expect(page.locator("h1")).to_have_text("Harbour lights")
        wait_for_images(page, "img.hero")
        image_url = page.locator('meta[property="og:image"]').get_attribute("content")
        oembed_url = page.locator('link[rel="alternate"][type="application/json+oembed"]').get_attribute("href")
        assert image_url and oembed_url
        assert parse_qs(urlsplit(oembed_url).query)["url"] == [public_url]

        image = page.request.get(image_url)
        assert image.status == 200 and image.headers["content-type"] == "image/jpeg"
        # What another site would show: the preview image, drawn.
        drawn = page.evaluate(DRAW, image_url)
        assert drawn > 0, "the preview image did not draw"

        embed = page.request.get(oembed_url)
        assert embed.status == 200
        answer = embed.json()
        assert (answer["type"], answer["title"], answer["author_name"]) == ("photo", "Harbour lights", "Omar Quay")
        assert answer["url"] == image_url

    with browser_page(chromium, viewport=DESKTOP) as page:
        private_url = site.url + f"/photos/{site.private_id}/"
        response = page.goto(private_url)
        assert response is not None and response.status == 404
        expect(page.locator("body")).not_to_contain_text("Locked diary")
        expect(page.locator('meta[property="og:image"]')).to_have_count(0)
        refused = page.request.get(site.url + "/oembed?" + urlencode({"url": private_url, "format": "json"}))
        assert refused.status == 404
        body = refused.text()  # the site's "not found" page: neither title nor picture
        assert "Locked diary" not in body and "og:image" not in body
        assert not [name for name in site.private_files if name in body]
