"""In Chromium: Bea likes Ann's photo; Ann sees the unread count in the header, opens her
notifications, and the count is gone: the page's script marks what it showed read by a POST
(fetching the page alone marks nothing: tests/notifications/test_views.py)."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from tests.browser import chromium  # noqa: F401  (fixture)
from tests.conftest import WorkerProcess
from tests.factories import UserFactory, ready_photo
from tests.photos.browser_pages import DESKTOP, browser_page, session_cookie, session_for


@pytest.fixture
def people(site_server_factory, bucket, broker_redis, tmp_path):
    """Made before the browser starts (Django refuses database work while Playwright runs)."""
    ann = UserFactory(username="ann", display_name="Ann Lee")
    bea = UserFactory(username="bea", display_name="Bea Cho")
    photo = ready_photo(ann, title="Morning fog")
    worker = WorkerProcess(tmp_path / "worker.log")
    worker.start()
    yield site_server_factory().url, photo.pk, session_for(ann), session_for(bea)
    worker.stop()


def test_a_like_shows_as_an_unread_count_that_clears_on_the_notifications_page(
    people,
    chromium,  # noqa: F811
) -> None:
    url, photo_id, ann_session, bea_session = people

    with browser_page(chromium, viewport=DESKTOP) as bea:
        bea.context.add_cookies([session_cookie(bea_session, url)])
        bea.goto(f"{url}/photos/{photo_id}/")
        bea.get_by_role("button", name="Like").click()
        expect(bea.locator("[data-like-count]")).to_have_text("1")

    with browser_page(chromium, viewport=DESKTOP) as ann:
        ann.context.add_cookies([session_cookie(ann_session, url)])
        badge = ann.locator("[data-unread-count]")
        deadline = time.monotonic() + 60
        ann.goto(f"{url}/")
        while badge.count() == 0 and time.monotonic() < deadline:  # the worker tells her within moments
            time.sleep(0.5)
            ann.reload()
        expect(badge).to_have_text("1 unread")

        ann.get_by_role("link", name="Notifications").click()
        expect(ann.locator("h1")).to_have_text("Notifications")
        item = ann.locator(".notification")
        expect(item).to_have_count(1)
        expect(item).to_have_class("notification unread")  # shown as new this once
        expect(item).to_contain_text("Bea Cho liked your photo “Morning fog”")
        expect(badge).to_have_count(0)  # and, once on screen, marked read
        expect(ann.get_by_role("button", name="Mark all read")).to_have_count(0)
        ann.reload()
        expect(item).to_have_class("notification")

        item.get_by_role("link", name="Bea Cho liked your photo “Morning fog”").click()
        expect(ann.locator("h1")).to_contain_text("Morning fog")
        expect(badge).to_have_count(0)
