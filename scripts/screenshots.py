"""Screenshots of every page of haul's web UI, at desktop and phone widths.

Starts a throwaway ``haul serve`` (SQLite in a temporary folder) next to the test origin and,
when ``aria2c`` is installed, an aria2 daemon it is configured to use; fills it through the
API with downloads in every state and a film in the library (tests/support/showcase.py); then
Debian's Chromium saves a full-page PNG of each page as ``docs/screenshots/<page>-desktop.png``
(1280 wide) and ``<page>-phone.png`` (375 wide). A page that answers 404 is left out with a
note. Everything started is stopped by its PID at the end.

    ./run screenshots [--out DIR] [--only downloads,library]
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.aria2 import aria2_daemon
from tests.support.browser import (
    DESKTOP,
    PHONE,
    PageErrors,
    launch,
    new_context,
    page_status,
    start_haul_web,
    start_playwright,
)
from tests.support.origin import Origin
from tests.support.showcase import SHOWCASE_ENV, Showcase, fill
from tests.support.wait import wait_for

ROOT = Path(__file__).resolve().parents[1]
THUMBNAILS_LOADED = "[...document.querySelectorAll('.thumb img')].every(i => i.complete)"


def pages(shown: Showcase) -> dict[str, str]:
    """Screenshot name to path, in the order a visitor meets them."""
    return {
        "downloads": "/",
        "add": "/add",
        "download": f"/downloads/{shown.downloading[0]}",
        "download-finished": f"/downloads/{shown.completed}",
        "library": "/library",
        "library-item": f"/library/{shown.media}",
        "clients": "/clients",
        "settings": "/settings",
        "logs": "/logs",
        "users": "/users",
        "setup": "/setup",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--only", default="", help="comma-separated page names")
    args = parser.parse_args()
    only = {name for name in args.only.split(",") if name}

    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="haul-shots-")))
        origin = stack.enter_context(Origin())
        client = None
        if shutil.which("aria2c"):
            daemon = stack.enter_context(aria2_daemon(tmp / "aria2"))
            client = {"name": "aria2", "kind": "aria2", "url": daemon.url, "secret": daemon.secret}
        else:
            print("note: aria2c is not installed; no client is configured")
        server = start_haul_web(tmp / "web", **SHOWCASE_ENV)
        stack.callback(server.stop)
        print(f"haul on {server.url} (pid {server.proc.pid if server.proc else '?'}), filling it")
        shown = fill(server, origin, tmp / "files", client=client)

        wanted = {name: path for name, path in pages(shown).items() if not only or name in only}
        if unknown := only - wanted.keys():
            parser.error(f"unknown page(s): {', '.join(sorted(unknown))}")
        args.out.mkdir(parents=True, exist_ok=True)
        pw = start_playwright()
        stack.callback(pw.stop)
        browser = launch(pw)
        stack.callback(browser.close)
        for name, path in wanted.items():
            status = page_status(server.url, path)
            if status == 404:
                print(f"skip {name}: {path} answers 404 (not written yet)")
                continue
            if status >= 400:
                print(f"warning: {path} answers {status}; taking the screenshot anyway")
            for screen in (DESKTOP, PHONE):
                errors = PageErrors()
                context = new_context(browser, screen, base_url=server.url)
                try:
                    page = errors.watch(context.new_page(), screen.name)
                    page.goto(path, wait_until="load")
                    page.evaluate("document.fonts.ready.then(() => true)")
                    # Thumbnails load lazily, after the page's load event: wait for them too.
                    wait_for(lambda p=page: p.evaluate(THUMBNAILS_LOADED), 15, what="thumbnails")
                    dest = args.out / f"{name}-{screen.name}.png"
                    page.screenshot(path=dest, full_page=True, animations="disabled")
                finally:
                    context.close()
                print(f"wrote {dest.relative_to(ROOT) if dest.is_relative_to(ROOT) else dest}")
                if errors.seen:
                    print(f"warning: {path} printed errors:\n{errors.report()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
