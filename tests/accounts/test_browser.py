"""In Chromium, against the site under gunicorn mailing through a real SMTP server: sign up,
confirm the address from the mail, log out and in, turn two-factor on, and log in with it."""

from __future__ import annotations

import os
import time
from pathlib import Path

from playwright.sync_api import expect

from tests.accounts.conftest import link_in
from tests.browser import chromium, page  # noqa: F401  (fixtures)
from tests.factories import totp_code

SCREENSHOTS = Path(os.environ.get("PHOTOSITE_SCREENSHOT_DIR", "var/screenshots"))
PASSWORD = "a long browser password"


def fresh_code(secret: str, used: set[str]) -> str:
    """The current code, waiting for the next 30 s step if this one was already typed (codes work once)."""
    while (code := totp_code(secret)) in used:
        time.sleep(1)
    used.add(code)
    return code


def log_in(page, base: str) -> None:  # noqa: F811
    page.goto(base + "/accounts/login/")
    page.fill("#id_login", "grace")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_sign_up_verify_log_in_and_turn_on_two_factor(site_server_factory, smtp_server, page) -> None:  # noqa: F811
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    site = site_server_factory(**smtp_server.env())
    page.goto(site.url + "/")
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Sign up").click()
    page.fill("#id_username", "grace")
    page.fill("#id_email", "grace@example.com")
    page.fill("#id_display_name", "Grace Browser")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("navigation", name="Account").get_by_text("Grace Browser")).to_be_visible()

    # The mail came over SMTP; its link opens a page whose button confirms the address.
    mail = smtp_server.mailbox.wait_for(to="grace@example.com", subject="Please Confirm Your Email Address")
    page.goto(site.url + link_in(mail))
    expect(page.locator(".topbar")).to_have_css("position", "sticky")  # the site's own layout and styles
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text("You have confirmed grace@example.com.")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    log_in(page, site.url)
    expect(page.get_by_role("navigation", name="Account").get_by_text("Grace Browser")).to_be_visible()

    # Two-factor, from the account page: scan (here: read) the secret, type a code.
    page.get_by_role("navigation", name="Account").get_by_role("link", name="Account").click()
    page.get_by_role("link", name="Two-factor authentication").click()
    page.get_by_role("link", name="Activate").click()
    page.fill("#id_password", PASSWORD)  # changing how one signs in asks for the password again
    page.get_by_role("button", name="Confirm").click()
    secret = page.locator("#authenticator_secret").input_value()
    page.screenshot(path=str(SCREENSHOTS / "two-factor-activate.png"), full_page=True)
    used: set[str] = set()
    page.fill("#id_code", fresh_code(secret, used))
    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_text("Recovery Codes").first).to_be_visible()

    # From now on the password alone is not enough.
    page.get_by_role("button", name="Log out").click()
    log_in(page, site.url)
    expect(page.locator("#id_code")).to_be_visible()
    expect(page.get_by_role("navigation", name="Account").get_by_text("Grace Browser")).to_have_count(0)
    page.fill("#id_code", fresh_code(secret, used))
    page.get_by_role("button", name="Sign In").click()
    expect(page.get_by_role("navigation", name="Account").get_by_text("Grace Browser")).to_be_visible()
    smtp_server.mailbox.wait_for(to="grace@example.com", subject="Authenticator App Activated")
