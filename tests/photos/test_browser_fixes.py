"""Bugs seen by hand, checked in Chromium at a desktop and a phone width: the comment
divider over "Log in to comment", the uploader's previews, its Upload button and its
details fields once a file is on its way, and the contrast of error text and focus rings.

Screenshots go to var/screenshots/ (PHOTOSITE_SCREENSHOT_DIR).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import FilePayload, Page, expect

from apps.photos.models import Photo
from apps.social.services import comment_create
from tests.browser import chromium  # noqa: F401  (fixture)
from tests.factories import UserFactory, ready_photo
from tests.images import jpeg_bytes
from tests.photos.browser_pages import DESKTOP, PHONE, browser_page, session_cookie, session_for, shoot


@pytest.fixture
def commented_photo(site_server, bucket) -> Photo:
    photo = ready_photo(UserFactory(display_name="Eve Owner"), title="Talked about")
    comment_create(author=UserFactory(display_name="Finn Friend"), photo=photo, body="Lovely light.")
    return photo


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_the_comment_divider_never_crosses_log_in_to_comment(commented_photo, site_server, chromium, viewport) -> None:  # noqa: F811
    photo = commented_photo
    with browser_page(chromium, viewport=viewport) as page:
        page.goto(f"{site_server.url}/photos/{photo.pk}/")
        divider = page.locator(".comment").last.bounding_box()
        prompt = page.locator(".comments p.muted", has_text="to comment.").bounding_box()
        assert divider is not None and prompt is not None
        assert prompt["y"] >= divider["y"] + divider["height"], (divider, prompt)
        page.locator("#comments").scroll_into_view_if_needed()
        shoot(page, f"comments-logged-out-{viewport['width']}.png", full_page=False)


@pytest.fixture
def uploader_session(site_server, bucket) -> str:
    return session_for(UserFactory(username="gil"))


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_uploader_previews_disabled_button_and_fields_once_sent(
    uploader_session,
    site_server,
    chromium,  # noqa: F811
    viewport,
) -> None:
    session = uploader_session
    with browser_page(chromium, viewport=viewport) as page:
        page.context.add_cookies([session_cookie(session, site_server.url)])
        page.goto(site_server.url + "/upload/")
        start = page.locator("#uploader-start")
        # Nothing to send yet: the button is disabled and looks it.
        expect(start).to_be_disabled()
        expect(start).to_have_css("opacity", "0.45")

        files: list[FilePayload] = [
            {"name": "phone.heic", "mimeType": "image/heic", "buffer": b"\x00\x00\x00\x18ftypheic" + b"\x00" * 64},
            {"name": "broken.jpg", "mimeType": "image/jpeg", "buffer": b"not really a jpeg"},
            {"name": "lake.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes(900, 600, seed=4)},
        ]
        page.set_input_files("#uploader-files", files=files)
        items = page.locator(".upload-item")
        expect(items).to_have_count(3)
        expect(start).to_be_enabled()
        expect(start).to_have_css("opacity", "1")
        # A file the browser cannot draw gets a tile with its type, never a broken image.
        expect(items.nth(0).locator(".no-preview")).to_have_text("HEIC")
        expect(items.nth(1).locator(".no-preview")).to_have_text("JPG")
        lake_preview = items.nth(2).locator("img.upload-preview")
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=lake_preview.element_handle())
        assert page.evaluate("[...document.querySelectorAll('.upload-item img')].every(img => img.naturalWidth > 0)"), (
            "a broken-image preview"
        )

        items.nth(2).locator(".upload-title").fill("Still lake")
        start.click()
        lake = items.nth(2)
        expect(lake.get_by_role("link", name="View photo")).to_be_visible(timeout=30_000)
        expect(items.nth(1)).to_contain_text("not a JPEG")
        # Sent: the details went with the file; the fields say they can no longer change here.
        for field in (".upload-title", ".upload-alt", ".upload-tags", ".upload-caption"):
            expect(lake.locator(field)).to_be_disabled()
        expect(lake.locator(".upload-title")).to_have_value("Still lake")
        expect(lake.get_by_role("link", name="Edit details")).to_have_attribute(
            "href", re.compile(r"/photos/\d+/edit/$")
        )
        expect(start).to_be_disabled()  # nothing left to send
        shoot(page, f"upload-fixes-{viewport['width']}.png")


def test_uploader_refuses_a_file_over_the_limit_before_sending_it_in_the_sites_words(
    uploader_session,
    site_server_factory,
    chromium,  # noqa: F811
) -> None:
    server = site_server_factory(PHOTO_MAX_UPLOAD_BYTES=str(100 * 1024))
    with browser_page(chromium, viewport=DESKTOP) as page:
        page.context.add_cookies([session_cookie(uploader_session, server.url)])
        page.goto(server.url + "/upload/")
        big = jpeg_bytes(3000, 2000, seed=7)
        assert len(big) > 100 * 1024
        payload: FilePayload = {"name": "big.jpg", "mimeType": "image/jpeg", "buffer": big}
        page.set_input_files("#uploader-files", files=[payload])
        # The server's own wording (apps/photos/uploads.py), with the file's size and the limit.
        expect(page.locator(".upload-item")).to_contain_text(
            re.compile(r"The file is too big \(1\d\d\.\d KB\); the limit is 100\.0 KB\.")
        )
        expect(page.locator("#uploader-start")).to_be_disabled()  # nothing left that could be sent
        page.goto(server.url + "/people/gil/")
        expect(page.locator(".card")).to_have_count(0)


# --- Contrast (WCAG 2.1 AA) -------------------------------------------------------------


def luminance(rgb: tuple[float, ...]) -> float:
    def channel(value: float) -> float:
        value /= 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(value) for value in rgb[:3])
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(first: str, second: str) -> float:
    """The WCAG contrast ratio of two CSS rgb() colours."""
    lighter, darker = sorted(
        (luminance(tuple(float(part) for part in re.findall(r"[\d.]+", colour)[:3])) for colour in (first, second)),
        reverse=True,
    )
    return (lighter + 0.05) / (darker + 0.05)


def colours(page: Page, script: str) -> tuple[str, str]:
    first, second = page.evaluate(script)
    return str(first), str(second)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_error_text_and_focus_ring_meet_wcag_aa(site_server, chromium, scheme) -> None:  # noqa: F811
    """Error text 4.5:1 on the error box (it was 4.41:1) and on a form; the focus ring 3:1
    against the page (it was 1.73:1), in both themes."""
    with browser_page(chromium, viewport=DESKTOP, color_scheme=scheme) as page:
        page.goto(site_server.url + "/")
        # The site's own error message box and a form's error line, as pages render them.
        page.evaluate(
            """() => {
              const box = document.createElement('div'); box.className = 'messages';
              box.innerHTML = '<p class="message error">That did not work.</p>';
              document.querySelector('main').before(box);
              const panel = document.createElement('section'); panel.className = 'panel';
              panel.innerHTML = '<p class="error">This field is required.</p>';
              document.querySelector('main').append(panel);
            }"""
        )
        text, box = colours(
            page,
            "(() => { const m = getComputedStyle(document.querySelector('.message.error'));"
            " return [m.color, m.backgroundColor]; })()",
        )
        assert contrast(text, box) >= 4.5, (text, box, contrast(text, box))
        text, panel = colours(
            page,
            "[getComputedStyle(document.querySelector('.panel .error')).color,"
            " getComputedStyle(document.querySelector('.panel')).backgroundColor]",
        )
        assert contrast(text, panel) >= 4.5, (text, panel, contrast(text, panel))

        page.keyboard.press("Tab")  # the skip link
        page.keyboard.press("Tab")  # the brand: a link on the page's background
        ring, page_background = colours(
            page,
            "[getComputedStyle(document.activeElement).outlineColor, getComputedStyle(document.body).backgroundColor]",
        )
        assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"
        assert contrast(ring, page_background) >= 3, (ring, page_background, contrast(ring, page_background))


@pytest.fixture
def token_session(site_server) -> str:
    return session_for(UserFactory())  # before the browser: no database work once Playwright runs


def test_dark_mode_reaches_the_new_token_box(site_server, token_session, chromium) -> None:  # noqa: F811
    """The box showing a new API token stayed light green in dark mode; axe checks the rest
    of the page's contrast as it loads."""
    session = token_session
    with browser_page(chromium, viewport=DESKTOP, color_scheme="dark") as page:
        page.context.add_cookies([session_cookie(session, site_server.url)])
        page.goto(site_server.url + "/accounts/tokens/")
        page.get_by_label("Name").fill("backup script")
        page.get_by_role("button", name="Make token").click()
        expect(page.locator(".new-token")).to_be_visible()
        text, box = colours(
            page,
            "(() => { const m = getComputedStyle(document.querySelector('.new-token'));"
            " return [m.color, m.backgroundColor]; })()",
        )
        page_background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        assert contrast(box, page_background) < 1.5, (box, page_background)  # a dark box on the dark page
        assert contrast(text, box) >= 4.5, (text, box)
        shoot(page, "token-dark-1280.png", full_page=False)
