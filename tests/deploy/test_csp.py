"""The Content-Security-Policy holds in a real browser: Chromium visits the site's pages
and the API docs, uploads a photo straight to S3, and no policy violation is reported."""

from __future__ import annotations

import pytest

from tests.browser import chromium, page  # noqa: F401  (fixtures)
from tests.factories import PASSWORD, UserFactory, ready_photo
from tests.images import jpeg_bytes

# Chromium reports a blocked resource or inline code both ways: the DOM event (with the
# directive) and a console error. Playwright's init script is not subject to the policy.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline code"}`);
});
"""


@pytest.fixture
def csp_site(site_server_factory, bucket):
    """Made before the browser starts: Django refuses database work while Playwright runs."""
    owner = UserFactory(username="cspowner")
    public = ready_photo(owner, title="Harbour at dusk")
    private = ready_photo(owner, title="Only mine", visibility="private")
    return site_server_factory(), public, private


def _visit(browser_page, url: str, violations: list[str]) -> None:
    response = browser_page.goto(url)
    assert response.status == 200, url
    assert "script-src 'self'" in response.headers["content-security-policy"], url
    browser_page.wait_for_load_state("networkidle")
    violations += [f"{url}: {text}" for text in browser_page.evaluate("window.__cspViolations")]


def _images_loaded(browser_page) -> None:
    """Every photo on the page really loaded: img-src lets the media origins through."""
    browser_page.wait_for_function(
        "() => [...document.images].every(img => img.complete && (img.naturalWidth > 0 || !img.currentSrc))"
    )
    assert browser_page.evaluate("[...document.images].filter(img => img.naturalWidth > 0).length") > 0


def test_pages_api_docs_and_a_direct_upload_raise_no_csp_violation(csp_site, page) -> None:  # noqa: F811
    site, public, private = csp_site
    violations: list[str] = []
    console: list[str] = []
    page.on(
        "console",
        lambda message: (
            console.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    page.context.add_init_script(RECORD_VIOLATIONS)

    _visit(page, site.url + "/", violations)
    _images_loaded(page)
    _visit(page, f"{site.url}/photos/{public.pk}/", violations)
    _images_loaded(page)

    # The API docs: Swagger UI's inline init script and style run (they carry the nonce)
    # and it renders the schema it fetched.
    _visit(page, site.url + "/api/docs/", violations)
    page.locator(".swagger-ui .info .title", has_text="photosite API").wait_for()
    page.locator(".opblock").first.wait_for()

    page.goto(site.url + "/accounts/login/")
    page.fill("#id_login", "cspowner")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(site.url + "/")
    violations += page.evaluate("window.__cspViolations")

    # A private photo: its image is a signed URL on the S3 server.
    _visit(page, f"{site.url}/photos/{private.pk}/", violations)
    _images_loaded(page)

    # Upload: the preview is a blob: URL, the file goes by XHR straight to the bucket.
    _visit(page, site.url + "/upload/", violations)
    page.set_input_files(
        "#uploader-files",
        files=[{"name": "pier.jpg", "mimeType": "image/jpeg", "buffer": jpeg_bytes(640, 480, seed=7)}],
    )
    page.wait_for_function("() => document.querySelector('.upload-preview').naturalWidth > 0")
    page.click("#uploader-start")
    page.locator(".upload-item").get_by_role("link", name="View photo").wait_for(timeout=30_000)
    violations += page.evaluate("window.__cspViolations")

    assert violations == [], violations
    assert console == [], console
