"""Headless Chromium (Debian's) driven by Playwright, for tests of what people see."""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page

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
        watch = AccessibilityWatch()
        watch.install(browser)
        yield browser
        browser.close()
    if watch.violations:
        pytest.fail(
            "WCAG 2.1 A/AA violations found by axe-core:\n" + "\n".join(sorted(watch.violations)), pytrace=False
        )


# Every page the browser tests open is also an accessibility test: axe-core (vendored,
# tests/vendor/axe-core) is injected into each document before the site's own scripts, runs
# once the page has loaded and again on the final state of each tab when its context
# closes, and any WCAG 2.0/2.1 level A or AA violation fails the test. Only the site's own
# pages are checked (http URLs; set_content pages are checked only on request).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# Pages that are not the site's own work: drf-spectacular's Swagger UI (its <html> has no
# lang and Swagger's styles are its own).
AXE_SKIP = ["/api/docs/"]
AXE_SOURCE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
AXE_RUNNER = """
(() => {
  if (window.top !== window) return;
  const options = { runOnly: { type: "tag", values: AXE_TAGS }, resultTypes: ["violations"] };
  let last = Promise.resolve([]);
  // One run at a time (axe refuses to overlap); each returns its violations, and the run at
  // load also logs them to the console, so a page left before the test ends is reported.
  window.__photositeAxe = (log) =>
    (last = last.catch(() => []).then(() => window.axe.run(document, options)).then((result) => {
      const found = result.violations.map((violation) => ({
        page: location.pathname + location.search,
        id: violation.id,
        impact: violation.impact,
        help: violation.help,
        nodes: violation.nodes.slice(0, 5).map((node) => node.target.join(" ") + " " + (node.failureSummary || "")),
      }));
      if (log) found.forEach((violation) => console.debug("axe-violation " + JSON.stringify(violation)));
      return found;
    }));
  // At load, once per page, theme and width in a test: the same page seen again in the
  // same setting is the same markup, and axe takes a few hundred milliseconds a run.
  window.addEventListener("load", async () => {
    if (!location.protocol.startsWith("http") || AXE_SKIP.some((path) => location.pathname.startsWith(path))) return;
    const system = matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
    const setting = [location.pathname, document.documentElement.dataset.theme || system, innerWidth];
    if (await window.__photositeAxeWanted(setting.join(" "))) window.__photositeAxe(true);
  });
})();
""".replace("AXE_TAGS", json.dumps(AXE_TAGS)).replace("AXE_SKIP", json.dumps(AXE_SKIP))


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Run axe-core on the page as it is now and return what it found (also recorded by the watch)."""
    found: list[dict[str, Any]] = page.evaluate("() => window.__photositeAxe ? window.__photositeAxe() : []")
    return found


def _describe(violation: dict[str, Any]) -> str:
    nodes = "\n      ".join(violation["nodes"])
    return f"{violation['page']}: {violation['id']} ({violation['impact']}): {violation['help']}\n      {nodes}"


class AccessibilityWatch:
    """Injects axe-core into every context the browser makes and gathers what it reports."""

    def __init__(self) -> None:
        self.script = AXE_SOURCE.read_text() + AXE_RUNNER
        self.violations: set[str] = set()
        self.watched: set[int] = set()
        self.checked: set[str] = set()  # page, theme and width already checked at load

    def install(self, browser: Browser) -> None:
        new_context = browser.new_context

        def watched_new_context(**kwargs: Any) -> BrowserContext:
            context = new_context(**kwargs)
            if kwargs.get("java_script_enabled", True):  # axe is a script: without scripts nothing runs it
                self.watch_context(context)
            return context

        # Wrapped in place: every test's contexts are watched, however the test makes them.
        browser.new_context = watched_new_context  # type: ignore[method-assign]

    def watch_context(self, context: BrowserContext) -> None:
        context.expose_binding("__photositeAxeWanted", self.wanted)
        context.add_init_script(script=self.script)
        context.on("page", self.watch_page)
        new_page, close = context.new_page, context.close

        def watched_new_page() -> Page:
            page = new_page()
            self.watch_page(page)
            return page

        def checked_close(**kwargs: Any) -> None:
            for page in context.pages:
                skipped = any(urlsplit(page.url).path.startswith(path) for path in AXE_SKIP)
                if not page.is_closed() and page.url.startswith("http") and not skipped:
                    # A page mid-navigation or crashed cannot be checked now; its load run reported.
                    with contextlib.suppress(Exception):
                        self.record(axe_violations(page))
            close(**kwargs)

        # As with new_context above: wrapped in place so no page escapes the check.
        context.new_page = watched_new_page  # type: ignore[method-assign]
        context.close = checked_close  # type: ignore[method-assign]

    def wanted(self, source: object, setting: str) -> bool:
        if setting in self.checked:
            return False
        self.checked.add(setting)
        return True

    def watch_page(self, page: Page) -> None:
        if id(page) in self.watched:
            return
        self.watched.add(id(page))
        page.on("console", self.on_console)

    def on_console(self, message: ConsoleMessage) -> None:
        if message.text.startswith("axe-violation "):
            self.record([json.loads(message.text.removeprefix("axe-violation "))])

    def record(self, found: list[dict[str, Any]]) -> None:
        self.violations.update(_describe(violation) for violation in found)


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
