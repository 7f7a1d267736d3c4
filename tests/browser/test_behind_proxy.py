"""haul at ``/haul`` behind a real nginx, in a real Chromium: logging in, adding a download and
watching its progress live through the proxy; and single sign-on, where nginx signs people in
(its own basic authentication) and tells haul who they are in ``Remote-User``, which haul
believes from nginx's address only.

nginx proxies with the ``location`` block of ``docs/reverse-proxy.md``; it connects to haul
from 127.0.0.2, the only address haul trusts, while the tests reach haul from 127.0.0.1.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.support.browser import DESKTOP, PageErrors, new_context, start_haul_web
from tests.support.daemons import free_ports
from tests.support.nginx import PROXY_ADDRESS, documented_location, running_nginx
from tests.support.origin import Origin
from tests.support.server import HaulServer
from tests.support.wait import wait_for

ADMIN = ("root", "admin password 1")
ALICE = ("alice", "alice's proxy password")


@dataclass
class Proxied:
    haul: HaulServer
    plain: str  # nginx, passing people on to haul's login
    signing: str  # nginx asking people to sign in first, then naming them to haul


@pytest.fixture
def proxied(tmp_path: Path) -> Iterator[Proxied]:
    haul = start_haul_web(
        tmp_path / "haul",
        HAUL_MODE="accounts",
        HAUL_BASE_PATH="/haul",
        HAUL_TRUSTED_PROXIES=PROXY_ADDRESS,
        HAUL_AUTH_HEADER="Remote-User",
        HAUL_ALLOW_PRIVATE_ADDRESSES="true",  # the origin of the test file is on loopback
        HAUL_LOG_LEVEL="info",  # logins and requests are logged with the client's address
    )
    try:
        plain, signing = free_ports(2)
        location = documented_location(haul.port)
        (tmp_path / "users").write_text(f"{ALICE[0]}:{{PLAIN}}{ALICE[1]}\n")
        signed = location.replace(
            'proxy_set_header Remote-User "";',
            f'auth_basic "haul";\n        auth_basic_user_file {tmp_path}/users;\n'
            "        proxy_set_header Remote-User $remote_user;",
        )
        assert signed != location, "the documented block must clear Remote-User"
        servers = (
            f"server {{\n    listen 127.0.0.1:{plain};\n{location}}}\n"
            f"server {{\n    listen 127.0.0.1:{signing};\n{signed}}}\n"
        )
        with running_nginx(tmp_path / "nginx", servers, [plain, signing]):
            yield Proxied(haul, f"http://127.0.0.1:{plain}", f"http://127.0.0.1:{signing}")
    finally:
        haul.stop()


def make_admin(haul: HaulServer) -> None:
    def printed() -> str | None:
        found = re.search(r"setup code ([0-9a-f]+)", haul.log.read_text())
        return found.group(1) if found else None

    code = wait_for(printed, 10, what="haul to print its setup code")
    made = httpx.post(
        f"{haul.url}/haul/api/v1/auth/setup",
        json={"username": ADMIN[0], "password": ADMIN[1], "code": code},
        timeout=10,
    )
    assert made.status_code == 201, made.text


def bar_value(page: Page, download_id: int) -> float:
    value = page.locator(f"#d-{download_id} progress").evaluate("bar => bar.value")
    return float(value or 0)


def test_log_in_add_and_watch_progress_through_nginx_on_a_subpath(
    browser: Browser, proxied: Proxied, origin: Origin, browser_errors: PageErrors
) -> None:
    make_admin(proxied.haul)
    origin.add_file("/holiday.mp4", os.urandom(1_500_000), filename="holiday.mp4")
    origin.throttle("/holiday.mp4", 500_000)
    context = new_context(browser, DESKTOP, base_url=proxied.plain)
    try:
        page = browser_errors.watch(context.new_page(), "desktop")
        page.goto("/haul/")
        expect(page).to_have_url(f"{proxied.plain}/haul/login?next=%2F")
        page.get_by_label("User name").fill(ADMIN[0])
        page.get_by_label("Password").fill(ADMIN[1])
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(f"{proxied.plain}/haul/")
        expect(page.get_by_role("heading", name="Downloads")).to_be_visible()

        page.get_by_role("link", name="Add downloads").click()
        expect(page).to_have_url(f"{proxied.plain}/haul/add")
        page.get_by_label("Links").fill(origin.url("/holiday.mp4"))
        page.get_by_role("button", name="Add", exact=True).click()
        expect(page).to_have_url(re.compile(r"/haul/\?added=\d+$"))
        row = page.locator("tr.dl").first
        download_id = int(row.get_attribute("data-id") or 0)
        page.evaluate("window.__sameDocument = true")  # gone if the page were reloaded

        seen: list[float] = []

        def moving() -> bool:
            seen.append(bar_value(page, download_id))
            return len({v for v in seen if 0 < v < 1}) >= 2

        wait_for(moving, timeout=20, interval=0.1, what="the progress bar moving")
        expect(row.locator(".badge")).to_have_text("completed", timeout=20_000)
        assert page.evaluate("window.__sameDocument") is True

        # The detail page, its file and the menu all stay under /haul.
        row.get_by_role("link", name="holiday").click()
        expect(page).to_have_url(f"{proxied.plain}/haul/downloads/{download_id}")
        with page.expect_download() as fetched:
            page.get_by_role("link", name="holiday.mp4", exact=True).click()
        assert Path(fetched.value.path()).stat().st_size == 1_500_000
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Settings").click()
        expect(page).to_have_url(f"{proxied.plain}/haul/settings")
        cookies = {c["name"]: c for c in context.cookies()}
        assert cookies["haul_login"]["path"] == "/haul"
    finally:
        context.close()
    # The live progress came through nginx: it logs the event stream once it ends.
    access = proxied.haul.data_dir.parent / "nginx" / "access.log"
    wait_for(
        lambda: "GET /haul/api/v1/events" in access.read_text(),
        10,
        what="nginx to log the event stream",
    )
    # Someone else claiming an address is not believed (this request comes from 127.0.0.1).
    claimed = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    direct = httpx.get(f"{proxied.haul.url}/haul/login", headers=claimed, timeout=10)
    assert direct.status_code == 200 and "Secure" not in direct.headers["set-cookie"]
    # haul logged the browser's address, which nginx forwarded, never nginx's own.
    log = proxied.haul.log.read_text()
    assert "203.0.113.9" not in log
    assert f"login of {ADMIN[0]} from 127.0.0.1" in log
    assert '"GET /haul/api/v1/events' in log and PROXY_ADDRESS not in log


def test_signed_in_by_the_proxy_and_nobody_else(
    browser: Browser, proxied: Proxied, browser_errors: PageErrors
) -> None:
    make_admin(proxied.haul)  # else alice, the first account, would be the administrator
    context = browser.new_context(
        base_url=proxied.signing, http_credentials={"username": ALICE[0], "password": ALICE[1]}
    )
    try:
        page = browser_errors.watch(context.new_page(), "desktop")
        page.goto("/haul/")
        expect(page).to_have_url(f"{proxied.signing}/haul/")
        expect(page.get_by_role("heading", name="Downloads")).to_be_visible()
        expect(page.get_by_role("link", name="Account")).to_be_visible()
        expect(page.get_by_role("button", name="Log out")).to_have_count(0)
        page.get_by_role("link", name="Account").click()
        expect(page.locator("#me-name")).to_have_text("alice")
        expect(page.locator("#by-proxy")).to_be_visible()
    finally:
        context.close()
    me = httpx.get(f"{proxied.signing}/haul/api/v1/auth/me", auth=ALICE, timeout=10).json()
    assert me["user"]["username"] == "alice" and me["user"]["role"] == "user"
    # nginx refuses without the password; a request claiming a name gets nowhere, neither
    # through the proxy that signs nobody in (it clears the header) nor straight to haul.
    assert httpx.get(f"{proxied.signing}/haul/", timeout=10).status_code == 401
    claim = {"Remote-User": "alice"}
    through = httpx.get(f"{proxied.plain}/haul/api/v1/auth/me", headers=claim, timeout=10)
    assert through.status_code == 401
    direct = httpx.get(f"{proxied.haul.url}/haul/api/v1/auth/me", headers=claim, timeout=10)
    assert direct.status_code == 401
