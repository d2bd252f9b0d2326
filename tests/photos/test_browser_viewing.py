"""Looking at photos in Chromium: the justified grid, the fullscreen viewer, dark mode,
badges on the owner's grids and empty states, at a desktop and a phone width.

Screenshots go to var/screenshots/ (PHOTOSITE_SCREENSHOT_DIR) for a person to look at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import Page, expect

from apps.accounts.models import User
from apps.photos.models import Visibility
from apps.photos.services import photo_create, rendition_make_all
from tests.browser import chromium  # noqa: F401  (fixture)
from tests.factories import UserFactory
from tests.images import jpeg_bytes
from tests.photos.browser_pages import (
    DESKTOP,
    PHONE,
    browser_page,
    session_cookie,
    session_for,
    shoot,
    wait_for_images,
)

# (width, height, visibility), oldest first: portraits, landscapes, a square, a panorama.
SHAPES = [
    (300, 200, Visibility.PUBLIC),
    (200, 300, Visibility.PRIVATE),
    (400, 100, Visibility.UNLISTED),
    (250, 250, Visibility.PUBLIC),
    (320, 240, Visibility.PUBLIC),
    (180, 320, Visibility.PUBLIC),
    (300, 225, Visibility.PUBLIC),
    (360, 160, Visibility.PUBLIC),
    (240, 300, Visibility.PUBLIC),
    (2400, 1600, Visibility.PUBLIC),  # the newest: bigger than the screen, so it can zoom
]
PUBLIC_TITLES = [f"Shape {index}" for index in reversed(range(len(SHAPES))) if SHAPES[index][2] == Visibility.PUBLIC]


@dataclass
class ViewingSite:
    url: str
    owner: User
    cookies: dict[str, str]  # username -> session id

    def login(self, page: Page, username: str) -> None:
        page.context.add_cookies([session_cookie(self.cookies[username], self.url)])


@pytest.fixture
def viewing_site(site_server_factory, bucket) -> ViewingSite:
    """Carol's ten photos of different shapes (two not public) and Dora, who has none and
    follows nobody; made before the browser starts (no database work while it runs)."""
    owner = UserFactory(username="carol", display_name="Carol Frames")
    for index, (width, height, visibility) in enumerate(SHAPES):
        upload = SimpleUploadedFile(f"shape{index}.jpg", jpeg_bytes(width, height, seed=index), "image/jpeg")
        photo = photo_create(owner=owner, upload=upload, title=f"Shape {index}", visibility=visibility)
        rendition_make_all(photo_id=photo.pk)
    newcomer = UserFactory(username="dora", display_name="Dora Newcomer")
    cookies = {"carol": session_for(owner), "dora": session_for(newcomer)}
    # Six to a page: the viewer steps past the first page into the next.
    server = site_server_factory(PHOTOS_PAGE_SIZE="6")
    return ViewingSite(url=server.url, owner=owner, cookies=cookies)


CARD_BOXES = """() => [...document.querySelectorAll('.card')].map(card => {
    const box = card.querySelector('a').getBoundingClientRect();
    const img = card.querySelector('img');
    return {x: box.x, y: box.y + window.scrollY, width: box.width, height: box.height,
            ratio: parseFloat(card.style.getPropertyValue('--ratio')),
            natural: img && img.naturalWidth ? img.naturalWidth / img.naturalHeight : null};
})"""


# --- The justified grid ------------------------------------------------------------------


def grid_layout(chromium, url: str, viewport: dict[str, int], *, javascript: bool, images: bool, shot: str = ""):  # noqa: F811
    """Where each card sits, and the grid's box, once the page (and maybe its images) loaded."""
    with browser_page(chromium, viewport=viewport, javascript=javascript) as page:
        if not images:
            page.route(re.compile(r".*\.(jpg|webp|avif)(\?.*)?$"), lambda route: route.abort())
        page.goto(url)
        # With scripts, infinite scroll brings the second page at once (its link is in reach).
        expect(page.locator(".card")).to_have_count(8 if javascript else 6)
        if images:
            wait_for_images(page)
        else:
            assert page.evaluate("[...document.querySelectorAll('.card img')].every(img => img.naturalWidth === 0)")
        if shot:
            shoot(page, shot)
        return page.evaluate(CARD_BOXES), page.locator(".grid").bounding_box()


def assert_justified(cards: list[dict[str, float]], grid: dict[str, float]) -> None:
    """Every photo in its own shape; each row one height and, but for the last, edge to edge."""
    rows: dict[int, list[dict[str, float]]] = {}
    for card in cards:
        assert card["width"] / card["height"] == pytest.approx(card["ratio"], rel=0.02)
        rows.setdefault(round(card["y"]), []).append(card)
    assert len(rows) >= 2, "these shapes need more than one row"
    ordered = [rows[top] for top in sorted(rows)]
    for row in ordered:
        heights = [card["height"] for card in row]
        assert max(heights) - min(heights) <= 1, f"one row, one height: {heights}"
    for row in ordered[:-1]:
        assert row[0]["x"] == pytest.approx(grid["x"], abs=1)
        assert row[-1]["x"] + row[-1]["width"] == pytest.approx(grid["x"] + grid["width"], abs=1.5)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_grid_rows_keep_each_shape_fill_the_width_and_never_move(viewing_site, chromium, viewport) -> None:  # noqa: F811
    url = viewing_site.url + "/"
    for javascript in (True, False):
        loaded, grid = grid_layout(
            chromium,
            url,
            viewport,
            javascript=javascript,
            images=True,
            shot=f"grid-{viewport['width']}.png" if javascript else "",
        )
        assert grid is not None
        assert_justified(loaded, grid)
        for card in loaded:  # the shape is the file's: nothing cropped to 4:3
            assert card["natural"] == pytest.approx(card["ratio"], rel=0.02)
        # With no image loaded at all, every card is already where it ends up.
        unloaded, _ = grid_layout(chromium, url, viewport, javascript=javascript, images=False)
        for before, after in zip(unloaded, loaded, strict=True):
            for edge in ("x", "y", "width", "height"):
                assert before[edge] == pytest.approx(after[edge], abs=0.5), (edge, before, after)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_owner_sees_private_and_unlisted_badges_others_see_neither_photo(viewing_site, chromium, viewport) -> None:  # noqa: F811
    site = viewing_site
    with browser_page(chromium, viewport=viewport) as page:
        site.login(page, "carol")
        page.goto(site.url + "/accounts/people/carol/")
        page.mouse.wheel(0, 5000)
        expect(page.locator(".card")).to_have_count(10)
        expect(page.locator(".card", has_text="Shape 1").locator(".card-badge")).to_have_text("Private")
        expect(page.locator(".card", has_text="Shape 2").locator(".card-badge")).to_have_text("Unlisted")
        expect(page.locator(".card-badge")).to_have_count(2)
        wait_for_images(page)
        shoot(page, f"profile-badges-{viewport['width']}.png")
    with browser_page(chromium, viewport=viewport) as page:
        page.goto(site.url + "/accounts/people/carol/")
        page.mouse.wheel(0, 5000)
        expect(page.locator(".card")).to_have_count(8)
        expect(page.locator(".card-badge")).to_have_count(0)
        expect(page.locator(".card", has_text="Shape 1")).to_have_count(0)


# --- The fullscreen viewer ---------------------------------------------------------------


def viewer_transform(page: Page) -> list[float]:
    """The viewer frame's [scale, x, y], once its transition (.2 s) has finished: a frame
    decoding a big image can hold the transition's start back, so waiting a fixed time is not enough."""
    page.wait_for_function("() => document.querySelector('.viewer-frame').getAnimations().length === 0")
    matrix = page.evaluate("getComputedStyle(document.querySelector('.viewer-frame')).transform")
    if matrix == "none":
        return [1.0, 0.0, 0.0]
    a, _, _, _, e, f = (float(part) for part in re.findall(r"-?[\d.]+(?:e-?\d+)?", matrix))
    return [a, e, f]


def test_viewer_opens_zooms_pans_steps_and_keeps_the_address(viewing_site, chromium) -> None:  # noqa: F811
    site = viewing_site
    with browser_page(chromium, viewport=DESKTOP) as page:
        page.goto(site.url + "/")
        cards = page.locator(".card a")
        first_href = cards.first.get_attribute("href")
        history_length = page.evaluate("history.length")

        # Enter on a focused card opens it over the grid, at the photo's own address.
        cards.first.focus()
        page.keyboard.press("Enter")
        viewer = page.locator("dialog.viewer")
        expect(viewer).to_be_visible()
        expect(page).to_have_url(site.url + first_href)
        expect(viewer.locator(".viewer-title")).to_have_text(PUBLIC_TITLES[0])
        expect(viewer.locator(".viewer-owner")).to_have_text("by Carol Frames")
        expect(page.locator(".grid")).to_be_attached()  # over the page, not a new page
        image = viewer.locator(".viewer-image")
        wait_for_images(page, ".viewer-image")
        # The best size for the screen: as big as fits, from a file at least that wide.
        shown = image.bounding_box()
        assert shown is not None
        assert shown["width"] <= 1280 and shown["height"] <= 900
        assert shown["width"] == pytest.approx(1280, abs=1) or shown["height"] == pytest.approx(900, abs=1)
        assert image.evaluate("img => img.naturalWidth") >= shown["width"] - 1
        shoot(page, "viewer-1280.png", full_page=False)

        # Zoom to full resolution: the largest rendition, one image pixel per CSS pixel.
        page.keyboard.press("+")
        expect(viewer.locator("[data-viewer-zoom]")).to_have_attribute("aria-pressed", "true")
        page.wait_for_function("() => document.querySelector('.viewer-image').currentSrc.includes('-2048.')")
        wait_for_images(page, ".viewer-image")
        scale, x, y = viewer_transform(page)
        assert shown["width"] * scale == pytest.approx(2048, abs=2)
        # Pan by dragging; the picture follows the pointer.
        page.mouse.move(640, 450)
        page.mouse.down()
        page.mouse.move(440, 350, steps=5)
        page.mouse.up()
        _, panned_x, panned_y = viewer_transform(page)
        assert panned_x - x == pytest.approx(-200, abs=1)
        assert panned_y - y == pytest.approx(-100, abs=1)
        shoot(page, "viewer-zoomed-1280.png", full_page=False)
        page.keyboard.press("-")
        expect(viewer.locator("[data-viewer-zoom]")).to_have_attribute("aria-pressed", "false")

        # The arrow keys step; the address follows without adding history entries.
        page.keyboard.press("ArrowRight")
        expect(viewer.locator(".viewer-title")).to_have_text(PUBLIC_TITLES[1])
        expect(page).to_have_url(site.url + cards.nth(1).get_attribute("href"))
        page.keyboard.press("ArrowLeft")
        expect(viewer.locator(".viewer-title")).to_have_text(PUBLIC_TITLES[0])
        # Past the last card on the page, the next page of the grid is fetched.
        for _ in range(6):
            page.keyboard.press("ArrowRight")
        expect(viewer.locator(".viewer-title")).to_have_text(PUBLIC_TITLES[6])
        expect(page.locator(".card")).to_have_count(8)
        assert page.evaluate("history.length") == history_length + 1

        # Escape closes: back at the grid's address, focus on the photo last shown.
        page.keyboard.press("Escape")
        expect(viewer).to_be_hidden()
        expect(page).to_have_url(site.url + "/")
        expect(page.locator(".card a").nth(6)).to_be_focused()

        # Back closes it too.
        page.locator(".card a").nth(2).click()
        expect(viewer).to_be_visible()
        page.go_back()
        expect(viewer).to_be_hidden()
        expect(page).to_have_url(site.url + "/")


def test_viewer_on_a_phone_swipes_between_photos_and_down_to_close(viewing_site, chromium) -> None:  # noqa: F811
    site = viewing_site
    with browser_page(chromium, viewport=PHONE) as page:
        page.goto(site.url + "/")
        page.locator(".card a").first.click()
        viewer = page.locator("dialog.viewer")
        expect(viewer.locator(".viewer-title")).to_have_text(PUBLIC_TITLES[0])
        wait_for_images(page, ".viewer-image")
        shown = viewer.locator(".viewer-image").bounding_box()
        assert shown is not None and shown["width"] == pytest.approx(390, abs=1)

        def swipe(dx: int, dy: int) -> None:
            page.mouse.move(195, 420)
            page.mouse.down()
            page.mouse.move(195 + dx, 420 + dy, steps=6)
            page.mouse.up()

        swipe(-150, 10)
        expect(viewer.locator(".viewer-title")).to_have_text(PUBLIC_TITLES[1])
        wait_for_images(page, ".viewer-image")
        shoot(page, "viewer-390.png", full_page=False)
        swipe(150, -10)
        expect(viewer.locator(".viewer-title")).to_have_text(PUBLIC_TITLES[0])
        swipe(5, 200)
        expect(viewer).to_be_hidden()
        expect(page).to_have_url(site.url + "/")


def test_viewer_on_a_phone_zooms_with_two_fingers_and_back(viewing_site, chromium) -> None:  # noqa: F811
    """A pinch (two real touch points, sent as Chromium's own touch events) zooms about the
    fingers' midpoint and pinching in fits the photo again; neither steps to another photo."""
    context = chromium.new_context(viewport=PHONE, has_touch=True, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(viewing_site.url + "/")
        page.locator(".card a").first.click()
        viewer = page.locator("dialog.viewer")
        expect(viewer.locator(".viewer-title")).to_have_text(PUBLIC_TITLES[0])
        wait_for_images(page, ".viewer-image")
        touch = context.new_cdp_session(page)

        def pinch(start: int, end: int) -> None:
            steps = [start + (end - start) * i // 6 for i in range(7)]
            touch.send(
                "Input.dispatchTouchEvent",
                {
                    "type": "touchStart",
                    "touchPoints": [{"x": 195 - steps[0], "y": 420, "id": 1}, {"x": 195 + steps[0], "y": 420, "id": 2}],
                },
            )
            for half in steps[1:]:
                touch.send(
                    "Input.dispatchTouchEvent",
                    {
                        "type": "touchMove",
                        "touchPoints": [{"x": 195 - half, "y": 420, "id": 1}, {"x": 195 + half, "y": 420, "id": 2}],
                    },
                )
            touch.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})

        pinch(40, 150)
        expect(viewer).to_have_class(re.compile(r"\bzoomed\b"))
        scale = page.evaluate("new DOMMatrix(getComputedStyle(document.querySelector('.viewer-frame')).transform).a")
        assert scale > 1.5, scale
        pinch(150, 20)
        expect(viewer).not_to_have_class(re.compile(r"\bzoomed\b"))
        expect(viewer.locator(".viewer-title")).to_have_text(PUBLIC_TITLES[0])
    finally:
        context.close()


def test_photo_page_image_opens_the_viewer_and_a_reload_keeps_it_open(viewing_site, chromium) -> None:  # noqa: F811
    site = viewing_site
    with browser_page(chromium, viewport=DESKTOP) as page:
        page.goto(site.url + "/")
        photo_url = site.url + (page.locator(".card a").first.get_attribute("href") or "").split("?")[0]
        page.goto(photo_url)
        page.locator("img.hero").click()
        viewer = page.locator("dialog.viewer")
        expect(viewer).to_be_visible()
        expect(page).to_have_url(photo_url + "#view")
        page.reload()
        expect(viewer).to_be_visible()
        page.keyboard.press("Escape")
        expect(viewer).to_be_hidden()
        expect(page).to_have_url(photo_url)
        expect(page.locator("h1")).to_have_text(PUBLIC_TITLES[0])

    # Without JavaScript a card is a link to the photo page, and the image a link to its largest size.
    with browser_page(chromium, viewport=DESKTOP, javascript=False) as page:
        page.goto(site.url + "/")
        page.locator(".card a").first.click()
        expect(page.locator("h1")).to_have_text(PUBLIC_TITLES[0])
        assert re.search(r"-2048\.jpg", page.locator("a.hero-link").get_attribute("href") or "")


# --- Dark mode ---------------------------------------------------------------------------


def expect_background(page: Page, colour: str) -> None:
    """Waits for it: the toggle's script changes the page's class after the click returns."""
    expect(page.locator("body")).to_have_css("background-color", colour)


LIGHT_BACKGROUND, DARK_BACKGROUND = "rgb(250, 250, 250)", "rgb(15, 17, 21)"


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_dark_mode_follows_the_system_and_the_toggle_is_remembered(viewing_site, chromium, viewport) -> None:  # noqa: F811
    site = viewing_site
    width = viewport["width"]
    with browser_page(chromium, viewport=viewport, color_scheme="dark") as page:
        site.login(page, "carol")
        page.goto(site.url + "/")
        expect_background(page, DARK_BACKGROUND)
        toggle = page.get_by_role("button", name="Dark mode")
        expect(toggle).to_have_attribute("aria-pressed", "true")
        wait_for_images(page)
        shoot(page, f"home-dark-{width}.png")
        page.goto(site.url + page.locator(".card a").first.get_attribute("href"))
        shoot(page, f"photo-dark-{width}.png")
        page.goto(site.url + "/upload/")
        shoot(page, f"upload-dark-{width}.png")

        toggle.click()
        expect(toggle).to_have_attribute("aria-pressed", "false")
        expect_background(page, LIGHT_BACKGROUND)
        page.goto(site.url + "/explore/")  # another page, and a reload: still light
        expect_background(page, LIGHT_BACKGROUND)
        page.reload()
        expect_background(page, LIGHT_BACKGROUND)
        expect(page.get_by_role("button", name="Dark mode")).to_have_attribute("aria-pressed", "false")

    with browser_page(chromium, viewport=viewport, color_scheme="light") as page:
        page.goto(site.url + "/")
        expect_background(page, LIGHT_BACKGROUND)
        page.get_by_role("button", name="Dark mode").click()
        expect_background(page, DARK_BACKGROUND)
        page.reload()
        expect_background(page, DARK_BACKGROUND)

    # Without JavaScript the system's choice still holds, and there is no dead toggle.
    with browser_page(chromium, viewport=viewport, color_scheme="dark", javascript=False) as page:
        page.goto(site.url + "/")
        expect_background(page, DARK_BACKGROUND)
        expect(page.get_by_role("button", name="Dark mode")).to_be_hidden()


# --- Empty states ------------------------------------------------------------------------


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_empty_pages_say_what_to_do_next(viewing_site, chromium, viewport) -> None:  # noqa: F811
    site = viewing_site
    width = viewport["width"]
    with browser_page(chromium, viewport=viewport) as page:
        site.login(page, "dora")
        page.goto(site.url + "/accounts/people/dora/")
        expect(page.locator(".empty")).to_contain_text("You have not uploaded any photos yet.")
        shoot(page, f"empty-profile-{width}.png")
        page.get_by_role("link", name="Upload your first photo").click()
        expect(page).to_have_url(site.url + "/upload/")

        page.goto(site.url + "/following/")
        suggestions = page.get_by_role("region", name="People to follow")
        expect(suggestions.get_by_role("link", name=re.compile("Carol Frames"))).to_be_visible()
        shoot(page, f"empty-following-{width}.png")
        page.evaluate("window.stillTheSamePage = true")
        suggestions.get_by_role("button", name="Follow").click()
        expect(suggestions.get_by_role("button", name="Following")).to_be_visible()
        assert page.evaluate("window.stillTheSamePage") is True
        page.reload()
        expect(page.locator(".card-title").first).to_have_text(PUBLIC_TITLES[0])  # Carol's, now followed
        expect(page.get_by_role("region", name="People to follow")).to_have_count(0)
