"""The subscriptions pages in a real Chromium against a real ``haul serve``: what a bad form
says beside each field, the "paused" box beside its words, and on a phone each subscription and
each entry seen as a card that fits the screen."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Page, expect

from tests.support import media
from tests.support.browser import PHONE, PageErrors
from tests.support.fixtures import MediaFiles
from tests.support.origin import Origin
from tests.support.server import HaulServer

#: Chromium reports a page answered 422 (a form with notes beside its fields) as a console error.
FORM_NOTES = r"status of 422"


def channel(origin: Origin, haul_web: HaulServer, clips: int) -> dict[str, Any]:
    """A subscription to a channel page of ``clips`` videos, checked once (all remembered)."""
    urls = [origin.url(f"/c/{'a-rather-long-clip-name-' * 2}{n}.mp4") for n in range(clips)]
    origin.add_page("/c", media.page_with_videos(urls, title="A channel of clips"))
    made = haul_web.api("POST", "/subscriptions", json={"url": origin.url("/c")})
    assert made.status_code == 201, made.text
    checked = haul_web.api("POST", f"/subscriptions/{made.json()['id']}/check")
    assert checked.status_code == 200 and checked.json()["remembered"] == clips, checked.text
    answer: dict[str, Any] = checked.json()["subscription"]
    return answer


def boxes(page: Page, selector: str) -> list[dict[str, float]]:
    found: list[dict[str, float]] = page.eval_on_selector_all(
        selector,
        "els => els.map(e => { const r = e.getBoundingClientRect();"
        " return {x: r.x, y: r.y, width: r.width, height: r.height}; })",
    )
    return found


def test_a_bad_form_says_what_is_wrong_beside_each_field(
    page: Page, haul_web: HaulServer, browser_errors: PageErrors
) -> None:
    browser_errors.allow(FORM_NOTES)
    page.goto("/subscriptions")
    page.get_by_label("Link").fill("http://127.0.0.1:9/feed.xml")
    page.get_by_label("Check every (minutes)").fill("-5")
    page.get_by_label("Keep the newest").fill("0")
    page.get_by_label("Title filter").fill("(unclosed")
    page.get_by_role("button", name="Subscribe").click()

    interval = page.get_by_label("Check every (minutes)")
    expect(interval).to_have_attribute("aria-invalid", "true")
    expect(interval).to_have_value("-5")
    notes = page.locator(".field-error")
    expect(notes).to_have_count(3)
    expect(notes.nth(0)).to_have_text(
        "A subscription is checked every 5 to 10080 minutes (a week), not every -5."
    )
    expect(notes.nth(1)).to_contain_text("not a regular expression")
    expect(notes.nth(2)).to_contain_text("not 0")
    colors = page.evaluate(
        "() => [getComputedStyle(document.querySelector('.field-error')).color,"
        " getComputedStyle(document.querySelector('.field > label')).color]"
    )
    assert colors[0] != colors[1], "a note of what is wrong stands out from the labels"
    assert haul_web.api("GET", "/subscriptions").json()["items"] == []

    page.get_by_label("Check every (minutes)").fill("often")
    page.get_by_role("button", name="Subscribe").click()
    expect(page.locator(".field-error").first).to_have_text(
        "Check every (minutes) is a whole number, not 'often'."
    )


def test_the_paused_box_sits_beside_its_words(page: Page, haul_web: HaulServer) -> None:
    page.goto("/subscriptions")
    box, words = page.evaluate(
        """() => {
          const input = document.querySelector('input[name="paused"]');
          const text = [...input.parentElement.childNodes].find(
            n => n.nodeType === Node.TEXT_NODE && n.textContent.trim());
          const range = document.createRange();
          range.selectNodeContents(text);
          const r = (b) => ({x: b.x, y: b.y, width: b.width, height: b.height});
          return [r(input.getBoundingClientRect()), r(range.getBoundingClientRect())];
        }"""
    )
    assert box["width"] < 40, f"the box is a box, not {box['width']} px wide"
    assert words["x"] >= box["x"] + box["width"], "its words are to its right"
    middle = box["y"] + box["height"] / 2
    assert words["y"] <= middle <= words["y"] + words["height"], "on the same line"


def test_subscriptions_and_entries_are_cards_on_a_phone(
    phone_page: Page, haul_web: HaulServer, origin: Origin
) -> None:
    made = channel(origin, haul_web, 3)
    unchecked = haul_web.api(
        "POST", "/subscriptions", json={"url": origin.url("/a-podcast-feed-" + "x" * 60 + ".xml")}
    ).json()  # named by its link until a check finds its title
    phone_page.goto(f"/subscriptions/{unchecked['id']}")
    expect(phone_page.locator("h1")).to_contain_text("a-podcast-feed-")
    width = phone_page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE.width, f"a long link as its name is {width} px wide"
    for path, rows in (
        (
            "/subscriptions",
            "#subscriptions tbody tr",
        ),
        (f"/subscriptions/{made['id']}", "#entries tbody tr"),
    ):
        phone_page.goto(path)
        expect(phone_page.locator(rows).first).to_be_visible()
        width = phone_page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE.width, f"{path} is {width} px wide on a {PHONE.width} px screen"
        cards = boxes(phone_page, rows)
        titles = boxes(phone_page, f"{rows} td.title")
        assert len(titles) == len(cards) >= 1
        for card, title in zip(cards, titles, strict=True):
            assert title["width"] >= card["width"] * 0.8, f"{path}: a title gets a card's width"
    phone_page.goto(f"/subscriptions/{made['id']}")
    expect(phone_page.locator(".subscription-facts")).to_contain_text("3 entries, 0 downloads")


def test_what_a_check_finds_shows_without_a_reload(
    page: Page, haul_web: HaulServer, origin: Origin, media_files: MediaFiles
) -> None:
    origin.add_file("/c/v1.mp4", media_files.mp4, content_type="video/mp4")
    origin.add_page("/c", media.page_with_videos([origin.url("/c/v1.mp4")]))
    made = haul_web.api("POST", "/subscriptions", json={"url": origin.url("/c"), "backfill": "all"})
    assert made.status_code == 201, made.text
    sub = made.json()["id"]

    page.goto("/subscriptions")
    page.get_by_label("Link").fill("http://typed.example/feed")  # half-typed: it stays
    expect(page.locator(f"#subscription-{sub} td.state")).to_have_text("not checked yet")
    page.evaluate("window.__sameDocument = true")
    assert haul_web.api("POST", f"/subscriptions/{sub}/check").status_code == 200
    expect(page.locator(f"#subscription-{sub} td.state")).to_have_text("ok")
    expect(page.locator(f"#subscription-{sub} td.count")).to_contain_text("1")
    other = haul_web.api("POST", "/subscriptions", json={"url": origin.url("/other")})
    expect(page.locator(f"#subscription-{other.json()['id']}")).to_be_visible()
    expect(page.get_by_label("Link")).to_have_value("http://typed.example/feed")
    assert page.evaluate("window.__sameDocument") is True

    page.goto(f"/subscriptions/{sub}")
    expect(page.locator("#entries")).to_contain_text("(completed)", timeout=30_000)
    page.evaluate("window.__sameDocument = true")
    origin.add_file("/c/v2.mp4", media_files.mp4, content_type="video/mp4")
    origin.throttle("/c/v2.mp4", 20_000)  # a few seconds: queued, then completed, seen here
    origin.add_page("/c", media.page_with_videos([origin.url(f"/c/v{n}.mp4") for n in (1, 2)]))
    checked = haul_web.api("POST", f"/subscriptions/{sub}/check")
    assert checked.status_code == 200 and len(checked.json()["downloads"]) == 1, checked.text
    expect(page.locator(".subscription-facts")).to_contain_text("2 entries, 2 downloads")
    new = page.locator("#entries tbody tr").first
    expect(new).to_contain_text(f"download {checked.json()['downloads'][0]}")
    expect(new).to_contain_text("(completed)", timeout=30_000)
    assert page.evaluate("window.__sameDocument") is True

    # Its removal is told to this page too: the page moves on to the list without reading
    # the removed subscription's page again (a 404 there is an error the page would print).
    page.get_by_role("button", name="Remove").click()
    expect(page.locator("p.note")).to_have_text("The subscription is removed; its downloads stay.")
    expect(page.locator(f"#subscription-{sub}")).to_have_count(0)
