"""Real-browser tests: a live daphne server (HTTP and WebSocket) and Debian's Chromium driven by Playwright.

Chromium comes from Debian (`apt-get install chromium fonts-wqy-microhei`), never from `playwright install`.
Without it these tests skip with the reason — except where QK_REQUIRE_BROWSER is set (CI), where they fail.
"""

import os
from pathlib import Path

import pytest

from tests.live_server import daphne_server

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


def pytest_collection_modifyitems(config, items):
    reason = None
    if not Path(CHROMIUM).exists():
        reason = f"{CHROMIUM} is missing: apt-get install chromium fonts-wqy-microhei"
    else:
        try:
            import playwright  # noqa: F401
        except ImportError:
            reason = "Playwright for Python is not installed (make test installs it)"
    browser_items = [item for item in items if "tests/browser/" in str(item.path)]
    for item in browser_items:
        item.add_marker(pytest.mark.browser)
        # Where the browser is required (CI), a missing one fails the test instead of skipping it.
        if reason and not os.environ.get("QK_REQUIRE_BROWSER"):
            item.add_marker(pytest.mark.skip(reason=reason))
    # Last, so that Playwright's event loop never shares the process with the other tests' database calls.
    items[:] = [item for item in items if item not in browser_items] + browser_items


@pytest.fixture
def live_server_url(transactional_db, settings):
    """A daphne process serving this test's database over HTTP and WebSocket, like `make run` does."""
    with daphne_server() as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the test's own database calls are still
    # synchronous and safe, so Django's guard is lifted for the browser tests only.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import expect

    # A loaded 2-core machine (CI, or benchmarks beside the tests) can take seconds to start a worker thread.
    expect.set_options(timeout=15_000)
    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(executable_path=CHROMIUM)
    try:
        yield chromium
    finally:
        chromium.close()
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
}
DESKTOP = {"viewport": {"width": 1366, "height": 900}}


@pytest.fixture
def phone(browser):
    context = browser.new_context(**PHONE, locale="zh-CN")
    yield context.new_page()
    context.close()


@pytest.fixture
def desktop(browser):
    context = browser.new_context(**DESKTOP, locale="zh-CN")
    yield context.new_page()
    context.close()


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture
def shot():
    return screenshot
