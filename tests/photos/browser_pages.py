"""Helpers for the page tests that look at the site at a desktop and a phone width."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.test import Client
from playwright.sync_api import Page, expect

from apps.accounts.models import User
from tests.browser import csp_violation

if TYPE_CHECKING:
    from playwright._impl._api_structures import SetCookieParam  # not re-exported by playwright.sync_api

SCREENSHOTS = Path(os.environ.get("PHOTOSITE_SCREENSHOT_DIR", "var/screenshots"))
DESKTOP, PHONE = {"width": 1280, "height": 900}, {"width": 390, "height": 844}


def session_for(user: User) -> str:
    """A signed-in session id for `user` (make it before the browser starts: Django refuses
    database work while Playwright's event loop runs in this thread)."""
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def session_cookie(session: str, url: str) -> SetCookieParam:
    return {"name": settings.SESSION_COOKIE_NAME, "value": session, "url": url}


@contextmanager
def browser_page(
    chromium: object,
    *,
    viewport: dict[str, int],
    color_scheme: str = "light",
    javascript: bool = True,
) -> Iterator[Page]:
    """A tab in a fresh context; a Content-Security-Policy violation fails the test."""
    # chromium is the fixture's Browser, typed object here so callers pass plain dicts for the
    # viewport and colour scheme (Playwright wants its TypedDict and Literal).
    context = chromium.new_context(  # type: ignore[attr-defined]
        viewport=viewport, color_scheme=color_scheme, java_script_enabled=javascript
    )
    page = context.new_page()
    page.set_default_timeout(20_000)
    expect.set_options(timeout=20_000)
    violations: list[str] = []
    page.on("console", lambda message: violations.append(text) if (text := csp_violation(message)) else None)
    try:
        yield page
    finally:
        context.close()
    assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)


def shoot(page: Page, name: str, *, full_page: bool = True) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=full_page)


def wait_for_images(page: Page, selector: str = ".card img") -> None:
    page.wait_for_function(
        "selector => [...document.querySelectorAll(selector)].every(img => img.complete && img.naturalWidth > 0)",
        arg=selector,
    )
