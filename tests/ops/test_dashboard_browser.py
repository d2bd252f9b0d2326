"""The operators' dashboard on a phone: it never scrolls sideways, and the charts' labels
stay readable (as SVG text they shrank with the drawing to ~6 px)."""

from __future__ import annotations

import itertools

import pytest
from django.conf import settings
from playwright.sync_api import expect

from apps.social.services import like_set
from tests.browser import chromium  # noqa: F401  (fixture)
from tests.conftest import staff_login
from tests.factories import UserFactory, ready_photo
from tests.photos.browser_pages import DESKTOP, PHONE, browser_page, session_cookie, shoot


@pytest.fixture
def operator_session(client, site_server, bucket) -> str:
    """A staff member's session, with a photo liked today; made before the browser starts."""
    operator = UserFactory(is_staff=True, display_name="Olive Operator")
    like_set(user=operator, photo=ready_photo(operator, title="Counted"), liked=True)
    staff_login(client, operator)  # with the second factor /ops/ asks staff for
    return str(client.cookies[settings.SESSION_COOKIE_NAME].value)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_dashboard_fits_the_screen_with_readable_chart_labels(
    operator_session,
    site_server,
    chromium,  # noqa: F811
    viewport,
) -> None:
    session = operator_session
    with browser_page(chromium, viewport=viewport) as page:
        page.context.add_cookies([session_cookie(session, site_server.url)])
        page.goto(site_server.url + "/ops/")
        expect(page.get_by_role("heading", name="Operations")).to_be_visible()
        expect(page.get_by_role("heading", name="Likes per day · 1 today")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
        ticks = page.locator(".chart-ticks .tick")
        expect(ticks.first).to_be_visible()
        sizes = ticks.evaluate_all("ticks => ticks.map(tick => parseFloat(getComputedStyle(tick).fontSize))")
        assert min(sizes) >= 12, sizes
        # The labels of one chart do not run into each other.
        boxes = page.locator(".ops-card.wide .chart-ticks .tick").evaluate_all(
            "ticks => ticks.map(tick => tick.getBoundingClientRect()).map(box => [box.left, box.right])"
        )
        for (_, right), (left, _) in itertools.pairwise(boxes):
            assert right <= left, boxes
        shoot(page, f"ops-{viewport['width']}.png")
