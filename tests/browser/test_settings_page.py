"""The settings page in Chromium: a site rule typed into the table is saved and shown again,
and every bad one is explained beside its row with what was typed kept."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.support.browser import PageErrors


def test_a_site_rule_is_added_and_a_bad_one_explained(
    page: Page, browser_errors: PageErrors
) -> None:
    browser_errors.allow(r"status of 422")  # the form comes back as a 422, as bad input should
    page.goto("/settings")
    table = page.locator("table.site-rules")
    expect(table).to_be_visible()
    # readable: across the form (not one cell of its grid), the domain its widest column
    page.set_viewport_size({"width": 1280, "height": 900})
    form, rules = page.locator("form.settings").bounding_box(), table.bounding_box()
    domain = page.get_by_label("Domain of rule 1").bounding_box()
    limit = page.get_by_label("Transfers at once of rule 1").bounding_box()
    assert form is not None and rules is not None and domain is not None and limit is not None
    assert rules["width"] >= min(form["width"], 640), (rules, form)
    assert domain["width"] >= 300 and limit["width"] >= 100, (domain, limit)
    page.get_by_label("Domain of rule 1").fill("Example.COM")
    page.get_by_label("Transfers at once of rule 1").fill("2")
    page.get_by_label("Pause in seconds of rule 1").fill("3")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("p.note.ok")).to_contain_text("Saved")
    expect(page.get_by_label("Domain of rule 1")).to_have_value("example.com")
    expect(page.get_by_label("Transfers at once of rule 1")).to_have_value("2")

    page.get_by_label("Domain of rule 2").fill("bad domain!")
    page.get_by_label("Domain of rule 3").fill("example.org")
    page.get_by_label("Transfers at once of rule 3").fill("500")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#site_rules-error")).to_contain_text("2 rules are not right")
    # every bad row is told at once, each beside its row, and named by its inputs
    expect(page.locator("#site-rule-2-error")).to_contain_text("is not a domain")
    error = page.locator("#site-rule-3-error")
    expect(error).to_contain_text("max_transfers must be a whole number from 1 to 100")
    expect(page.get_by_label("Transfers at once of rule 3")).to_have_attribute(
        "aria-describedby", "site-rule-3-error"
    )
    expect(page.locator("#site-rule-1-error")).to_have_count(0)
    expect(page.get_by_label("Transfers at once of rule 3")).to_have_value("500")
