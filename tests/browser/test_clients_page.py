"""The clients page in a real Chromium against a real ``haul serve`` and a real aria2: add a
client with the form, test it before and after saving, see its health change when it stops."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Browser, Locator, Page, expect

from tests.support.aria2 import aria2_daemon
from tests.support.browser import DESKTOP, PageErrors
from tests.support.server import HaulServer, free_port

#: Chromium reports a page answered 422 (a form with notes beside its fields) as a console error.
FORM_NOTES = r"status of 422"


def add_form(page: Page) -> Locator:
    form = page.locator("#client-form")
    if not form.is_visible():
        page.get_by_text("Add a client").click()
    expect(form).to_be_visible()
    return form


def fill_aria2(form: Locator, name: str, url: str, secret: str) -> None:
    form.get_by_label("Kind").select_option("aria2")
    form.get_by_label("Name", exact=True).fill(name)
    form.get_by_label("URL", exact=True).fill(url)
    form.get_by_label("Password or RPC secret").fill(secret)


def test_a_bad_url_is_explained_beside_the_field(
    page: Page, haul_web: HaulServer, browser_errors: PageErrors
) -> None:
    browser_errors.allow(FORM_NOTES)
    page.goto("/clients")
    form = add_form(page)
    fill_aria2(form, "nas", "127.0.0.1:6800", "s3cret-typed")
    form.get_by_role("button", name="Add client").click()
    note = page.locator("#url-error")
    expect(note).to_contain_text("looks like http://127.0.0.1:6800/jsonrpc")
    expect(page.get_by_label("URL", exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("URL", exact=True)).to_have_value("127.0.0.1:6800")
    expect(page.get_by_label("Name", exact=True)).to_have_value("nas")
    assert "s3cret-typed" not in page.content()
    assert haul_web.api("GET", "/clients").json()["items"] == []


def test_a_real_aria2_shows_healthy_then_unreachable_when_it_stops(
    page: Page, haul_web: HaulServer, tmp_path: Path
) -> None:
    with aria2_daemon(tmp_path / "aria2") as daemon:
        page.goto("/clients")
        expect(page.locator("#c-builtin .health")).to_contain_text("Ready.")
        form = add_form(page)
        fill_aria2(form, "nas-aria2", daemon.url, daemon.secret)
        form.get_by_label("Prefer for direct files").check()
        form.get_by_role("button", name="Add client").click()
        expect(page).to_have_url(re.compile(r"/clients\?added=nas-aria2$"))
        row = page.locator("#c-nas-aria2")
        expect(row.locator(".health")).to_have_text(re.compile(r"Connected: 1\.\d+"))
        expect(row.locator(".kind")).to_have_text("aria2")
        expect(row.locator(".url")).to_have_text(daemon.url)
        assert daemon.secret not in page.content()
        stored = haul_web.api("GET", "/clients/nas-aria2").json()
        assert stored["prefer_for_files"] is True and stored["has_secret"] is True

        page.evaluate("window.__sameDocument = true")
        daemon.stop()  # SIGTERM to its own PID
        # The page asks again every few seconds: no reload needed.
        expect(row.locator(".health")).to_contain_text("refused the connection", timeout=15_000)
        assert page.evaluate("window.__sameDocument") is True
        page.reload()
        expect(row.locator(".health")).to_contain_text("refused the connection")


def test_the_test_button_before_and_after_saving(
    page: Page, haul_web: HaulServer, tmp_path: Path
) -> None:
    with aria2_daemon(tmp_path / "aria2") as daemon:
        page.goto("/clients")
        form = add_form(page)
        fill_aria2(form, "box", daemon.url, "not-the-secret")
        form.get_by_role("button", name="Test connection").click()
        result = page.locator("#test-result")
        expect(result).to_contain_text("rejected the RPC secret")
        form.get_by_label("Password or RPC secret").fill(daemon.secret)
        form.get_by_role("button", name="Test connection").click()
        expect(result).to_have_text(re.compile(r"^Connected: 1\.\d+"))
        # Tested in place: the typed password is still there to save with.
        expect(form.get_by_label("Password or RPC secret")).to_have_value(daemon.secret)
        assert haul_web.api("GET", "/clients").json()["items"] == []
        form.get_by_role("button", name="Add client").click()
        expect(page).to_have_url(re.compile(r"/clients\?added=box$"))

        row = page.locator("#c-box")
        row.get_by_role("button", name="Test box").click()
        expect(row.locator(".test-out")).to_have_text(re.compile(r"^Test: Connected: 1\.\d+"))
        daemon.stop()  # by its own PID
        row.get_by_role("button", name="Test box").click()
        expect(row.locator(".test-out")).to_have_text(
            re.compile(r"^Test: aria2 at 127\.0\.0\.1:\d+ refused the connection$")
        )


def test_edit_keeps_the_password_and_remove_forgets_the_client(
    page: Page, haul_web: HaulServer
) -> None:
    url = f"http://127.0.0.1:{free_port()}/jsonrpc"
    made = haul_web.api(
        "POST", "/clients", json={"name": "old", "kind": "aria2", "url": url, "secret": "keep-me"}
    )
    assert made.status_code == 201, made.text
    page.goto("/clients")
    page.get_by_role("link", name="Edit old").click()
    expect(page.get_by_text("A password is stored: leave this blank to keep it.")).to_be_visible()
    expect(page.get_by_label("Password or RPC secret")).to_have_value("")
    assert "keep-me" not in page.content()
    page.get_by_label("Priority").fill("7")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/clients\?saved=old$"))
    expect(page.locator("#c-old .priority")).to_have_text("7")
    assert haul_web.api("GET", "/clients/old").json()["has_secret"] is True

    page.get_by_role("button", name="Remove old").click()
    expect(page).to_have_url(re.compile(r"/clients\?removed=old$"))
    expect(page.locator("#c-old")).to_have_count(0)


def test_test_and_save_work_with_javascript_off(
    browser: Browser, haul_web: HaulServer, tmp_path: Path
) -> None:
    context = browser.new_context(
        base_url=haul_web.url, java_script_enabled=False, **DESKTOP.context_options()
    )
    try:
        with aria2_daemon(tmp_path / "aria2") as daemon:
            page = context.new_page()
            page.goto("/clients")
            form = add_form(page)
            fill_aria2(form, "plain", daemon.url, daemon.secret)
            form.get_by_role("button", name="Test connection").click()
            expect(page.locator("#test-result")).to_have_text(re.compile(r"^Connected: 1\.\d+"))
            # The answer is a new page: the password is not sent back, so it is typed again.
            expect(page.get_by_label("Password or RPC secret")).to_have_value("")
            expect(page.get_by_label("Name", exact=True)).to_have_value("plain")
            page.get_by_label("Password or RPC secret").fill(daemon.secret)
            page.get_by_role("button", name="Add client").click()
            expect(page).to_have_url(re.compile(r"/clients\?added=plain$"))
            expect(page.locator("#c-plain .health")).to_have_text(re.compile(r"Connected: 1\."))
    finally:
        context.close()


def test_the_clients_page_on_a_phone(phone_page: Page, haul_web: HaulServer) -> None:
    haul_web.api(
        "POST",
        "/clients",
        json={
            "name": "qbittorrent-in-the-cupboard",
            "kind": "qbittorrent",
            "url": f"http://127.0.0.1:{free_port()}/a/rather/long/path/to/the/web/ui",
            "username": "admin",
            "secret": "x",
        },
    )
    for path in ("/clients", "/clients/qbittorrent-in-the-cupboard"):
        phone_page.goto(path)
        expect(phone_page.locator("h1")).to_be_visible()
        width = phone_page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{path} is {width} px wide on a 375 px screen"
    phone_page.goto("/clients")
    test = phone_page.get_by_role("button", name="Test qbittorrent-in-the-cupboard")
    box = test.bounding_box()
    assert box is not None and box["height"] >= 32, "buttons are big enough for a finger"
