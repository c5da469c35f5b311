"""Browser fixtures: Debian's chromium driven by Playwright against `live_server`.

Browsers are never downloaded: without /usr/bin/chromium the browser tests are skipped,
except under CI (CI=true), where a missing browser is a failure.
"""

import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("CATALOG_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def pytest_configure(config):
    config.addinivalue_line("markers", "browser: drives chromium through Playwright")


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        message = f"chromium not found at {CHROMIUM} (apt-get install -y chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}: browser tests must run in CI")
        pytest.skip(message)
    # Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run
    # while one is running unless told that this (test-only) use is safe.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    try:
        with sync_playwright() as playwright:
            instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            yield instance
            instance.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 1440, "height": 900}, accept_downloads=True
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    yield page
    context.close()


@pytest.fixture
def signed_in(page, user, live_server):
    """`page` with a session for `user` (the login form itself has its own test)."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )
    return page


@pytest.fixture(scope="session")
def video_dir(tmp_path_factory):
    """Demo videos are written once per session and shared by the tests' manifests."""
    return tmp_path_factory.mktemp("demo-videos")


@pytest.fixture
def fleet(media_dir, video_dir, tmp_path, settings):
    from tests.frontend import demo

    # Five frames per camera are plenty for the pages; embedding is most of the setup.
    settings.CATALOG_EMBED_HZ = 0.25
    demos = demo.small_fleet()
    (tmp_path / "videos").symlink_to(video_dir, target_is_directory=True)
    demo.build(tmp_path, demos)
    return demos
