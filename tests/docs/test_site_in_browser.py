"""The built site in a real browser: Debian's Chromium, headless, driven by Playwright.

Playwright drives ``/usr/bin/chromium`` over the DevTools protocol; it never downloads a
browser of its own here (no ``playwright install``). The site is served from the build
folder on 127.0.0.1, and each page must show its heading, the navigation and the
search box without a console error, a page error or a failed request.
"""

from __future__ import annotations

import functools
import os
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.browser


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site_url(built_site: Path) -> Iterator[str]:
    handler = functools.partial(_QuietHandler, directory=str(built_site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    profile = tmp_path_factory.mktemp("chromium-profile")  # --user-data-dir, new each run
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,  # --headless
            args=FLAGS,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


def open_page(context: BrowserContext, url: str) -> tuple[Page, list[str]]:
    """The page loaded, and every console error, page error and failed request so far."""
    page = context.new_page()
    problems: list[str] = []
    page.on(
        "console",
        lambda m: problems.append(f"console {m.text}") if m.type == "error" else None,
    )
    page.on("pageerror", lambda error: problems.append(f"page error {error}"))
    page.on("requestfailed", lambda r: problems.append(f"failed {r.url} {r.failure}"))
    page.on(
        "response",
        lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    page.goto(url, wait_until="networkidle")
    return page, problems


@pytest.mark.parametrize(
    ("path", "heading"),
    [
        ("", "cryptopay-async"),
        ("guides/errors/", "Errors and retries"),
        ("reference/client/", "cryptopay_async"),
    ],
)
def test_the_page_renders_with_heading_navigation_and_search(
    browser: BrowserContext, site_url: str, path: str, heading: str, tmp_path: Path
) -> None:
    page, problems = open_page(browser, site_url + path)
    try:
        title = page.locator("article h1").first
        assert title.is_visible()
        assert title.inner_text().strip().rstrip("¶").strip() == heading
        navigation = page.locator("nav.md-nav--primary")
        assert navigation.is_visible()
        for entry in ("Getting started", "Guides", "API reference", "Architecture"):
            assert navigation.get_by_text(entry, exact=True).first.is_visible(), entry
        search = page.locator("input.md-search__input")
        assert search.count() == 1
        assert search.get_attribute("placeholder") == "Search"
        page.screenshot(path=str(tmp_path / "page.png"), full_page=False)
        assert problems == []
    finally:
        page.close()


def test_the_search_box_finds_a_public_name(browser: BrowserContext, site_url: str) -> None:
    page, problems = open_page(browser, site_url)
    try:
        search = page.locator("input.md-search__input")
        search.click()
        search.press_sequentially("RetryPolicy", delay=20)  # key by key, as a reader types
        results = page.locator(".md-search-result__item")
        results.first.wait_for(state="visible", timeout=15_000)
        assert "RetryPolicy" in page.locator(".md-search-result").inner_text()
        assert problems == []
    finally:
        page.close()


def test_a_broken_page_is_noticed(browser: BrowserContext, site_url: str) -> None:
    """The checks above can fail: a missing page answers 404 and is reported."""
    page, problems = open_page(browser, site_url + "no-such-page/")
    page.close()
    assert any(problem.startswith("404 ") for problem in problems)
