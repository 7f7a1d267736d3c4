"""The browser machinery works: Chromium opens haul's pages and sees what a person would."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.support.browser import PageErrors


def test_api_docs_open_with_their_title(page: Page, browser_errors: PageErrors) -> None:
    # FastAPI's docs page loads Swagger UI from a CDN, which these browsers cannot reach.
    browser_errors.allow(r"ERR_NAME_NOT_RESOLVED|SwaggerUIBundle is not defined")
    page.goto("/api/v1/docs")
    expect(page).to_have_title("haul - Swagger UI")


def test_home_page_has_a_heading(page: Page, phone_page: Page) -> None:
    for each in (page, phone_page):
        each.goto("/")
        expect(each.locator("h1")).to_have_count(1)
        expect(each.locator("h1")).to_be_visible()
