"""DNS rebinding in a real browser: Chromium resolves a web site's name to 127.0.0.1, as a
rebinding site makes it do; the site's own script then gets no answer from haul."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.support.browser import CHROMIUM_ARGS, chromium_path
from tests.support.server import HaulServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser

REBOUND = "rebind.example"
RULES = f"--host-resolver-rules=MAP {REBOUND} 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE localhost"
POST_A_DOWNLOAD = """
    fetch('/api/v1/downloads', {method: 'POST', headers: {'Content-Type': 'application/json'},
                                body: JSON.stringify({url: 'http://192.168.1.1/router.cfg'})})
        .then(r => r.status)
"""


def test_a_rebound_site_gets_no_answer_and_the_page_says_what_to_set(
    browser: Browser, haul_web: HaulServer
) -> None:
    args = [a for a in CHROMIUM_ARGS if not a.startswith("--host-resolver-rules")] + [RULES]
    rebound = browser.browser_type.launch(executable_path=chromium_path(), args=args)
    try:
        page = rebound.new_page()
        answer = page.goto(f"http://{REBOUND}:{haul_web.port}/")
        assert answer is not None and answer.status == 400
        assert f"HAUL_ALLOWED_HOSTS={REBOUND}" in page.inner_text("body")
        assert page.evaluate(POST_A_DOWNLOAD) == 400  # same origin for the browser, not for haul

        page.goto(f"http://localhost:{haul_web.port}/")
        assert page.evaluate(POST_A_DOWNLOAD.replace("192.168.1.1", "192.168.1.2")) == 201
    finally:
        rebound.close()
    listed = haul_web.api("GET", "/downloads").json()["items"]
    assert [d["url"] for d in listed] == ["http://192.168.1.2/router.cfg"]
