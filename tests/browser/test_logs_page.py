"""The logs page in Chromium: a failed download's error, the domain counts as filters, the
unsupported links, clearing old entries without JavaScript's help, and a phone's width."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect

from tests.support import media
from tests.support.origin import Origin
from tests.support.server import HaulServer, failed_download


def test_a_failed_download_shows_on_the_logs_page_and_domains_filter_it(
    page: Page, phone_page: Page, haul_web: HaulServer, origin: Origin
) -> None:
    origin.add_file("/gone.bin", b"x")
    origin.fault("/gone.bin", "404", times=None)
    origin.add_page("/blog", media.page_without_media())
    gone = failed_download(haul_web, origin.url("/gone.bin"))
    elsewhere = failed_download(haul_web, origin.url("/gone.bin").replace("127.0.0.1", "localhost"))
    failed_download(haul_web, origin.url("/blog"))

    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Logs").click()
    expect(page).to_have_url(re.compile(r"/logs$"))
    expect(page.get_by_role("heading", name="Logs", level=1)).to_be_visible()
    log = page.locator("table#log")
    expect(log.locator("tr.entry")).to_have_count(3)
    entry = page.locator("tr.entry", has_text=gone["error"])
    expect(entry).to_be_visible()
    expect(entry.locator("td.code")).to_have_text("http_404")

    # The counts by domain: two entries from 127.0.0.1, one from localhost.
    counts = page.locator("aside.log-counts")
    expect(counts.locator("li", has_text="127.0.0.1")).to_contain_text("2")
    counts.get_by_role("link", name=re.compile(r"^Show only localhost")).click()
    expect(page).to_have_url(re.compile(r"domain=localhost"))
    expect(log.locator("tr.entry")).to_have_count(1)
    expect(log.locator("tr.entry")).to_contain_text(elsewhere["error"])
    expect(page.get_by_label("Domain", exact=True)).to_have_value("localhost")

    # The error links to its download.
    log.get_by_role("link", name=re.compile(rf"^Download #{elsewhere['id']}")).click()
    expect(page).to_have_url(re.compile(rf"/downloads/{elsewhere['id']}$"))
    page.go_back()

    # The filter form: an error code and words of the message.
    page.goto("/logs")
    page.get_by_label("Error code", exact=True).fill("unsupported_url")
    page.get_by_role("button", name="Show").click()
    expect(log.locator("tr.entry")).to_have_count(1)
    expect(log.locator("td.code")).to_have_text("unsupported_url")
    page.get_by_role("link", name="Unsupported links").click()
    expect(page.locator("table#log tr.entry")).to_have_count(1)
    expect(page.locator("table#log")).to_contain_text(origin.url("/blog"))

    # A phone shows the same entries without scrolling sideways.
    phone_page.goto("/logs")
    expect(phone_page.locator("tr.entry")).to_have_count(3)
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page is {width} px wide on a 375 px phone"


def test_clearing_old_entries_works_without_javascript(
    browser: Browser, haul_web: HaulServer, origin: Origin
) -> None:
    origin.add_file("/gone.bin", b"x")
    origin.fault("/gone.bin", "404", times=None)
    failed_download(haul_web, origin.url("/gone.bin"))
    context = browser.new_context(base_url=haul_web.url, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/logs")
        field = page.get_by_label(re.compile(r"older than \(days\)"))
        expect(field).to_have_value("30")
        page.get_by_role("button", name="Clear older entries").click()
        expect(page.locator("p.note.ok")).to_have_text("Removed 0 entries older than 30 days.")
        expect(page.locator("tr.entry")).to_have_count(1)  # a failure of today stays

        field.fill("-2")
        page.get_by_role("button", name="Clear older entries").click()
        expect(page.locator(".field-error")).to_contain_text("whole number of days")
        expect(field).to_have_value("-2")
        expect(page.locator("tr.entry")).to_have_count(1)

        field.fill("0")
        page.get_by_role("button", name="Clear older entries").click()
        expect(page).to_have_url(re.compile(r"/logs\?cleared=1&days=0$"))
        expect(page.locator("p.note.ok")).to_have_text("Removed 1 entry.")
        expect(page.locator("tr.entry")).to_have_count(0)
        expect(page.get_by_text("No download has failed for good.")).to_be_visible()
    finally:
        context.close()
