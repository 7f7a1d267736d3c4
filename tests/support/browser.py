"""What browser tests and the screenshot command share: Debian's Chromium driven by Playwright's
sync API, the two screen sizes, a record of the errors a page printed, and a real ``haul serve``
with fast intervals.

Playwright's own browser downloads are never used (no ``playwright install``): Chromium comes
from Debian (``apt-get install chromium``). It resolves no host name but loopback ones, so a
page that reaches for a CDN shows up as an error in :class:`PageErrors` instead of passing on a
machine with internet access and failing on one without.

    with sync_playwright() as pw:
        browser = launch(pw)
        context = new_context(browser, DESKTOP, base_url=server.url)
        errors = PageErrors()
        page = errors.watch(context.new_page(), "desktop")
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from tests.support.server import HaulServer
from tests.support.wait import wait_for

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Error, Page, Playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Only loopback names resolve: the UI must not depend on anything off the machine.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost",
]

#: Playwright's default wait for an action or a locator (30 s) is longer than a page test
#: should ever need on loopback.
ACTION_TIMEOUT_MS = 10_000

#: The settings of a ``haul serve`` behind a browser: live progress as often as allowed, quick
#: client polls and control, so a page shows a change within a fraction of a second.
WEB_ENV = {
    "HAUL_PROGRESS_INTERVAL": "0.1",
    "HAUL_MONITOR_INTERVAL": "0.5",
    "HAUL_HEARTBEAT_INTERVAL": "0.5",
    "HAUL_RECONCILE_INTERVAL": "0.2",
}


@dataclass(frozen=True)
class Screen:
    """A browser window: the context options Playwright takes for it."""

    name: str
    width: int
    height: int
    mobile: bool = False

    def context_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"viewport": {"width": self.width, "height": self.height}}
        if self.mobile:
            options.update(is_mobile=True, has_touch=True)
        return options


DESKTOP = Screen("desktop", 1280, 800)
PHONE = Screen("phone", 375, 740, mobile=True)


class ChromiumMissing(RuntimeError):
    """Playwright or Debian's Chromium is not installed."""


def chromium_path() -> str:
    """Where Chromium is, or :class:`ChromiumMissing` saying how to install it."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    found = shutil.which("chromium")
    if found is None:
        raise ChromiumMissing("Chromium is not installed (apt-get install chromium)")
    return found


def start_playwright() -> Playwright:
    """Playwright's sync API, started (call ``.stop()`` when done); it must not be started
    while an asyncio event loop runs in this thread."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        raise ChromiumMissing("Playwright is not installed (pip install -e '.[dev]')") from exc
    return sync_playwright().start()


def launch(pw: Playwright) -> Browser:
    """Debian's Chromium, headless, with nothing reaching off the machine."""
    return pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)


def new_context(browser: Browser, screen: Screen, *, base_url: str) -> BrowserContext:
    """A fresh profile (no cookies, no storage) sized for ``screen``; relative URLs in
    ``page.goto`` resolve against ``base_url``."""
    context = browser.new_context(base_url=base_url, **screen.context_options())
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    return context


@dataclass
class PageErrors:
    """The console errors and uncaught exceptions of the pages it watches.

    A message matching one of the :meth:`allow` patterns is kept apart, so a test can accept
    an error it provokes on purpose and still fail on every other one."""

    seen: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)
    _patterns: list[re.Pattern[str]] = field(default_factory=list)

    def watch(self, page: Page, label: str) -> Page:
        page.on("console", lambda message: self._console(label, message))
        page.on("pageerror", lambda error: self._uncaught(label, error))
        return page

    def allow(self, pattern: str) -> None:
        """Accept errors whose text (with the script URL) matches the regular expression."""
        self._patterns.append(re.compile(pattern))
        self.allowed += [line for line in self.seen if self._accepted(line)]
        self.seen = [line for line in self.seen if not self._accepted(line)]

    def report(self) -> str:
        """Every unexpected error, one per line (empty when there were none)."""
        return "\n".join(self.seen)

    def _console(self, label: str, message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        where = message.location.get("url") or ""
        line = message.location.get("lineNumber")
        at = f" (at {where}:{line})" if where else ""
        self._add(f"[{label}] console error: {message.text}{at}")

    def _uncaught(self, label: str, error: Error) -> None:
        stack = (error.stack or "").strip().splitlines()[1:4]
        trace = "".join(f"\n    {frame.strip()}" for frame in stack)
        self._add(f"[{label}] uncaught {error.name or 'error'}: {error.message}{trace}")

    def _add(self, line: str) -> None:
        (self.allowed if self._accepted(line) else self.seen).append(line)

    def _accepted(self, line: str) -> bool:
        return any(pattern.search(line) for pattern in self._patterns)


def start_haul_web(data_dir: Path, **env: str) -> HaulServer:
    """A real ``haul serve`` on a free loopback port (SQLite in ``data_dir``) with
    :data:`WEB_ENV`, overridden by ``env``; stop it with ``.stop()`` (SIGTERM, by PID)."""
    server = HaulServer(data_dir, env={**WEB_ENV, **env})
    try:
        return server.start()
    except BaseException:
        server.kill()  # it may be running but too slow to answer
        raise


def page_status(base_url: str, path: str) -> int:
    """The HTTP status a plain GET of ``path`` gets (a page the UI may not have yet)."""
    return httpx.get(base_url + path, timeout=10).status_code


#: Boxes of the element with an id and of parts inside it, measured in one turn of the page's
#: script: a live row is replaced whole on a status change, and two separate measurements can
#: straddle the swap (the first finds the old row, the second finds none).
_BOXES = """([id, parts]) => {
  const el = document.getElementById(id);
  if (!el) return null;
  const box = (e) => {
    if (!e) return null;
    const r = e.getBoundingClientRect();
    return r.width || r.height ? { x: r.x, y: r.y, width: r.width, height: r.height } : null;
  };
  return [box(el), ...parts.map((p) => box(el.querySelector(p)))];
}"""


def boxes(page: Page, element_id: str, *parts: str) -> list[dict[str, float]]:
    """The boxes of ``#element_id`` and of the first match of each selector in ``parts``
    inside it, all from the same moment; waits (up to the action timeout) until each is
    drawn."""

    def measured() -> list[dict[str, float]] | None:
        found = page.evaluate(_BOXES, [element_id, list(parts)])
        return found if found and all(found) else None

    return wait_for(measured, timeout=ACTION_TIMEOUT_MS / 1000, what=f"#{element_id} drawn")
