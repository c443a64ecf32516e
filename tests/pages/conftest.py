"""Fixtures of the browser tests: Debian's Chromium under Playwright, and the demo desk served on a local port.

Playwright's sync API keeps an event loop marked as running in the thread that started it, and while it does,
``asyncio.run`` fails in that thread; so the browser lives for one test module (all of a module's tests run in a
row on one xdist worker) and is stopped before other modules run, while the served desk, a process of its own,
lives for the worker's session."""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING

import pytest

from tests.conftest import _missing, require_modules
from tests.pages.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    TIMEOUT_MS,
    LiveDesk,
    Shots,
    artifact_name,
    artifacts,
    give_passwords,
    serving,
)
from tests.tickets.service_fixtures import migrated_desk

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Route

OUTSIDE = re.compile(r"^(?!https?://127\.0\.0\.1[:/])")  # any request not to this machine's loopback address
FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[FAILED] = report.failed
    return report


@pytest.fixture(scope="session")
def browser_present() -> None:
    """Skip (or, under TESSERA_REQUIRE_ALL=1, fail) before anything is built when there is nothing to drive."""
    require_modules("Playwright", "playwright")
    if not CHROMIUM.exists():
        _missing("Chromium", f"{CHROMIUM} is not installed (Debian's chromium package; ./dev test installs it)")


@pytest.fixture(scope="session")
def live_desk(browser_present: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDesk]:
    """The seeded demo desk (alex, chen and maria.lopez@… have PASSWORD) served by ``cli.py serve``."""
    del browser_present
    tmp = tmp_path_factory.mktemp("browser-desk")
    url = f"sqlite:///{tmp / 'tessera.db'}"
    root, compiled, engine = migrated_desk(tmp, url)
    give_passwords(compiled, engine)
    try:
        with serving(root, url, tmp / "serve.log") as base:
            yield LiveDesk(base, root, url, compiled, engine, tmp / "serve.log")
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def browser(browser_present: None) -> Iterator[Browser]:
    del browser_present
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        # launch() gives every browser a fresh temporary profile of its own, removed when it closes.
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=list(CHROMIUM_ARGS))
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser context (no cookies) in English at desktop size. After the test: a screenshot when it
    failed, and a failure when a page threw a script error or asked for anything off this machine (a CDN link)."""
    name = artifact_name(request.node.name)
    for stale in artifacts().glob(f"{name}-*.png"):  # a previous run's pictures would pass for this run's
        stale.unlink()
    context = browser.new_context(viewport=DESKTOP, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    outside: list[str] = []

    def refuse(route: Route) -> None:
        outside.append(route.request.url)
        route.abort()

    context.route(OUTSIDE, refuse)
    opened = context.new_page()
    script_errors: list[str] = []
    opened.on("pageerror", lambda error: script_errors.append(f"{opened.url}: {error}"))
    try:
        yield opened
        if request.node.stash.get(FAILED, False):
            opened.screenshot(path=str(artifacts() / f"{name}-failure.png"), full_page=True)
    finally:
        context.close()
    assert not outside, f"pages asked for addresses off this machine: {outside}"
    assert not script_errors, f"script errors in the pages: {script_errors}"


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    return Shots(artifacts(), artifact_name(request.node.name))

