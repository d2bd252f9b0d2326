"""Switching the language in Chromium: the footer's menu, remembered across pages, and the
scripts' own words following it. Screenshots go to var/screenshots/ (PHOTOSITE_SCREENSHOT_DIR)."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser import chromium  # noqa: F401  (fixture)
from tests.photos.browser_pages import DESKTOP, PHONE, browser_page, shoot


def test_the_footer_menu_switches_to_german_and_back_and_is_remembered(site_server, chromium) -> None:  # noqa: F811
    with browser_page(chromium, viewport=PHONE) as page:
        page.goto(site_server.url + "/explore/")
        expect(page.locator("h1")).to_have_text("Popular this week")
        page.get_by_label("Language").select_option("de")
        page.get_by_role("button", name="Change").click()

        # Back on the page it was switched on, in German, and so is every next page.
        page.wait_for_url(site_server.url + "/explore/")
        expect(page.locator("html")).to_have_attribute("lang", "de")
        expect(page.locator("h1")).to_have_text("Beliebt diese Woche")
        page.get_by_role("link", name="Neu", exact=True).click()
        expect(page.locator("h1")).to_have_text("Neueste Fotos")
        # The scripts' words too: site.js titles the dark-mode toggle.
        expect(page.locator("[data-theme-toggle]")).to_have_attribute(
            "title", "Dunkler Modus ist aus: zu dunkel wechseln"
        )
        shoot(page, "language-de-390.png")

        page.get_by_label("Sprache").select_option("en")
        page.get_by_role("button", name="Wechseln").click()
        expect(page.locator("h1")).to_have_text("Latest photos")
        expect(page.locator("html")).to_have_attribute("lang", "en")

    # A new tab with the browser's language set to German and no choice made yet.
    context = chromium.new_context(locale="de-DE", viewport=DESKTOP)
    try:
        page = context.new_page()
        page.goto(site_server.url + "/")
        expect(page.locator("h1")).to_have_text("Neueste Fotos")
        shoot(page, "language-de-1280.png")
    finally:
        context.close()
