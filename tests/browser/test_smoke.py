"""The browser machinery works: Chromium opens haul's pages and sees what a person would."""

from __future__ import annotations

from playwright.sync_api import Page, expect


def test_api_docs_render_their_operations_with_no_network(page: Page) -> None:
    # These browsers resolve no name but loopback ones (a CDN is out of reach), and any
    # error the page prints fails the test: Swagger UI must come from haul itself.
    page.goto("/api/v1/docs")
    expect(page).to_have_title("haul - Swagger UI")
    downloads = page.locator(".opblock-summary-path", has_text="/api/v1/downloads").first
    expect(downloads).to_be_visible()
    expect(page.locator(".opblock")).not_to_have_count(0)
    page.locator(".opblock-summary", has_text="/api/v1/readyz").click()
    expect(page.get_by_role("button", name="Try it out")).to_be_visible()


def test_home_page_has_a_heading(page: Page, phone_page: Page) -> None:
    for each in (page, phone_page):
        each.goto("/")
        expect(each.locator("h1")).to_have_count(1)
        expect(each.locator("h1")).to_be_visible()
