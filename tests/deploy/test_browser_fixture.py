"""The `page` fixture (tests/browser.py) fails a page test on any Content-Security-Policy
violation; this shows that its detector recognises the messages Chromium really logs."""

from __future__ import annotations

from tests.browser import axe_violations, chromium, csp_violation  # noqa: F401  (fixture)

# A policy like the site's (scripts from this origin only, no inline code, images from
# nowhere else) and a page that breaks it three ways.
BROKEN_PAGE = """<!doctype html>
<meta http-equiv="Content-Security-Policy" content="default-src 'self'; img-src 'self'">
<title>breaks the policy</title>
<script>document.title = "inline ran";</script>
<img src="https://media.invalid/x.jpg" alt="">
<div onclick="alert(1)">clickable</div>
"""

KEPT_PAGE = """<!doctype html>
<meta http-equiv="Content-Security-Policy" content="default-src 'self'">
<title>keeps the policy</title>
<p>nothing inline, nothing from elsewhere</p>
"""


def _violations(chromium, html: str) -> list[str]:  # noqa: F811
    context = chromium.new_context()
    page = context.new_page()
    found: list[str] = []
    page.on("console", lambda message: found.append(text) if (text := csp_violation(message)) else None)
    page.set_content(html)
    page.wait_for_timeout(300)  # console events arrive asynchronously
    title = page.title()
    context.close()
    assert title != "inline ran", "the policy did not block the inline script"
    return found


def test_inline_script_and_foreign_image_are_reported_as_violations(chromium) -> None:  # noqa: F811
    found = _violations(chromium, BROKEN_PAGE)
    assert any("script-src" in text or "default-src" in text for text in found), found
    assert any("img-src" in text for text in found), found


def test_a_page_within_its_policy_reports_nothing(chromium) -> None:  # noqa: F811
    assert _violations(chromium, KEPT_PAGE) == []


# A page with two WCAG A/AA failures axe-core must name: an image without alt text and
# grey text on grey (about 1.6:1).
INACCESSIBLE_PAGE = """<!doctype html>
<html lang="en"><title>hard to use</title>
<main><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" width="10" height="10">
<p style="color:#aaa;background:#ccc">faint</p></main>
"""


def test_axe_names_the_wcag_failures_of_a_page(chromium) -> None:  # noqa: F811
    context = chromium.new_context()
    page = context.new_page()
    page.set_content(INACCESSIBLE_PAGE)
    found = {violation["id"] for violation in axe_violations(page)}
    context.close()
    assert {"image-alt", "color-contrast"} <= found, found
    page_kept = chromium.new_context().new_page()
    page_kept.set_content('<!doctype html><html lang="en"><title>fine</title><main><p>plain text</p></main>')
    assert axe_violations(page_kept) == []
    page_kept.context.close()
