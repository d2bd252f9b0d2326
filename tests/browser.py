"""Headless Chromium (Debian's) driven by Playwright, for tests of what people see."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import ConsoleMessage

CHROMIUM_ARGS = [
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-quic",
    # Without these Chromium keeps dialling out, which this network refuses.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def chromium() -> Iterator[object]:
    """Per test, not per session: Playwright's sync API keeps an event loop running in
    this thread, and Django refuses database work (the test DB flush) while one runs."""
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    assert executable, "Chromium is missing: `make test` installs Debian's chromium package"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def csp_violation(message: ConsoleMessage) -> str | None:
    """The text of a console message that reports a Content-Security-Policy violation.

    Chromium logs each blocked resource, inline script, style or form target as a console
    error ("Refused to load ... because it violates the following Content Security Policy
    directive: ..."), report-only policies included.
    """
    if message.type in ("error", "warning") and "Content Security Policy" in message.text:
        return message.text
    return None


@pytest.fixture
def page(chromium) -> Iterator[object]:
    """A fresh browser tab. Every page test is also a CSP test: a violation reported in
    the console while the test ran fails it, with the messages."""
    from playwright.sync_api import expect

    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    violations: list[str] = []
    page.on(
        "console",
        lambda message: violations.append(f"{page.url}: {text}") if (text := csp_violation(message)) else None,
    )
    page.set_default_timeout(20_000)
    # expect() retries its check until this timeout: pages update after fetches and scrolls.
    expect.set_options(timeout=20_000)
    yield page
    context.close()
    if violations:
        pytest.fail("Content-Security-Policy violations in the console:\n" + "\n".join(violations), pytrace=False)
