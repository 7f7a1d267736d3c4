"""Logging in and out in a real Chromium, on a real ``haul serve`` that asks everyone to log in."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.support.server import HaulServer
from tests.support.wait import wait_for

PASSWORD = "admin password 1"


def make_admin(server: HaulServer) -> None:
    """The first administrator, as an operator makes it: with the setup code haul printed."""

    def printed() -> str | None:
        found = re.search(r"setup code ([0-9a-f]+)", server.log.read_text())
        return found.group(1) if found else None

    code = wait_for(printed, 10, what="haul to print its setup code")
    made = server.api(
        "POST", "/auth/setup", json={"username": "root", "password": PASSWORD, "code": code}
    )
    assert made.status_code == 201, made.text


@pytest.mark.parametrize("haul_web_env", [{"HAUL_MODE": "accounts"}])
def test_log_in_with_the_form_then_log_out(page: Page, haul_web: HaulServer) -> None:
    make_admin(haul_web)
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login\?next=%2F$"))
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_label("User name").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", name="Downloads")).to_be_visible()
    main_menu = page.get_by_role("navigation", name="Main")
    expect(main_menu.get_by_role("link", name="Users")).to_be_visible()
    expect(page.get_by_role("link", name="Account")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(re.compile(r"/login\?out=1$"))
    expect(page.get_by_text("You are logged out.")).to_be_visible()
    page.goto("/add")
    expect(page).to_have_url(re.compile(r"/login\?next=%2Fadd$"))
