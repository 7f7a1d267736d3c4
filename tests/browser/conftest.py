"""Browser tests: Debian's Chromium through Playwright's sync API against a real ``haul serve``.

Page tests are plain ``def`` tests (Playwright's sync API refuses to run inside an event loop,
which pytest-asyncio starts for ``async def`` tests):

    def test_a_download_shows_its_progress(page: Page, haul_web: HaulServer, origin: Origin):
        origin.add_file("/big.bin", b"x" * 5_000_000)
        origin.throttle("/big.bin", 500_000)
        haul_web.api("POST", "/downloads", json={"url": origin.url("/big.bin")})
        page.goto("/")
        expect(page.get_by_text("big.bin")).to_be_visible()

Any console error or uncaught exception of ``page`` or ``phone_page`` fails the test at
teardown; ``browser_errors.allow(regex)`` accepts the ones a test provokes on purpose.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest

from tests.support.browser import (
    DESKTOP,
    PHONE,
    ChromiumMissing,
    PageErrors,
    Screen,
    launch,
    new_context,
    start_haul_web,
    start_playwright,
)
from tests.support.daemons import IN_CI
from tests.support.server import HaulServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page


@pytest.fixture(autouse=True)
def _sync_tests_only(request: pytest.FixtureRequest) -> None:
    if inspect.iscoroutinefunction(request.function):
        pytest.fail(
            "tests/browser holds plain `def` tests only: while Playwright's sync API is started,"
            " its event loop counts as running in this thread",
            pytrace=False,
        )


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One headless Chromium for all of tests/browser (skipped without it; a failure in CI).

    Package scope, not session: a started sync Playwright marks its event loop as running in
    this thread, which makes every later ``async def`` test fail; it is stopped before pytest
    moves on to the next package."""
    try:
        pw = start_playwright()
    except ChromiumMissing as exc:
        _missing(str(exc))
    try:
        try:
            chromium = launch(pw)
        except ChromiumMissing as exc:
            _missing(str(exc))
        yield chromium
        chromium.close()
    finally:
        pw.stop()


def _missing(reason: str) -> NoReturn:
    if IN_CI:
        pytest.fail(f"{reason}: browser tests must run in CI", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def haul_web_env() -> dict[str, str]:
    """Extra ``HAUL_*`` settings for :func:`haul_web`; override it with
    ``@pytest.mark.parametrize("haul_web_env", [{"HAUL_LIMIT_GLOBAL": "1"}])``."""
    return {}


@pytest.fixture
def haul_web(tmp_path: Path, haul_web_env: dict[str, str]) -> Iterator[HaulServer]:
    """A real ``haul serve`` for this test (SQLite, fast progress and polls), the server the
    pages open; stopped with SIGTERM by its PID after the pages are closed."""
    server = start_haul_web(tmp_path / "web", **haul_web_env)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def browser_errors() -> Iterator[PageErrors]:
    """What the test's pages printed as errors; any not allowed fails the test at teardown."""
    errors = PageErrors()
    yield errors
    if errors.seen:
        pytest.fail(f"the page printed errors:\n{errors.report()}", pytrace=False)


@pytest.fixture
def page(browser: Browser, haul_web: HaulServer, browser_errors: PageErrors) -> Iterator[Page]:
    """A desktop page (1280x800) in a fresh context; ``page.goto("/")`` opens ``haul_web``."""
    yield from _page(browser, haul_web, browser_errors, DESKTOP)


@pytest.fixture
def phone_page(
    browser: Browser, haul_web: HaulServer, browser_errors: PageErrors
) -> Iterator[Page]:
    """A phone page (375x740, mobile, touch) in its own context, on the same ``haul_web``."""
    yield from _page(browser, haul_web, browser_errors, PHONE)


def _page(
    browser: Browser,
    server: HaulServer,
    errors: PageErrors,
    screen: Screen,
) -> Iterator[Page]:
    context = new_context(browser, screen, base_url=server.url)
    try:
        yield errors.watch(context.new_page(), screen.name)
    finally:
        context.close()  # delivers the events still on their way before the errors are checked
