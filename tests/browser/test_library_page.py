"""The library pages in a real Chromium against a real ``haul serve``: add an item with the form,
find it in the list, download for it, and read what its file holds; episodes under their series."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from tests.support import media
from tests.support.browser import PageErrors
from tests.support.origin import Origin
from tests.support.server import HaulServer
from tests.support.wait import wait_for

#: Chromium reports a page answered 422 (a form with notes beside its fields) as a console error.
FORM_NOTES = r"status of 422"


def open_add_form(page: Page) -> None:
    page.get_by_text("Add a media item").click()
    expect(page.get_by_label("Title")).to_be_visible()


def kind_field(page: Page) -> Locator:
    return page.locator("form.media-form").get_by_label("Kind")


def test_an_item_added_on_the_page_is_listed_and_shows_its_downloaded_file(
    page: Page, haul_web: HaulServer, origin: Origin, tmp_path: Path
) -> None:
    page.goto("/library")
    expect(page.get_by_text("The library is empty")).to_be_visible()
    open_add_form(page)
    kind_field(page).select_option("movie")
    expect(page.get_by_label("Season")).to_be_hidden()  # only episodes have one
    page.get_by_label("Title").fill("Big Buck Test")
    page.get_by_label("Year").fill("2008")
    page.get_by_label("IMDb").fill("tt1254207")
    page.get_by_role("button", name="Add to the library").click()
    expect(page).to_have_url(re.compile(r"/library/\d+\?created=1$"))
    expect(page.locator("p.note")).to_have_text("Added to the library.")
    media_id = int(page.url.split("/library/")[1].split("?")[0])

    page.get_by_role("link", name="Library", exact=True).first.click()
    row = page.locator(f"#m-{media_id}")
    expect(row.get_by_role("link", name="Big Buck Test")).to_be_visible()
    expect(row).to_contain_text("2008")
    expect(row).to_contain_text("no file")

    clip = media.make_mp4(tmp_path / "bbt.mp4")
    origin.add_file("/releases/bbt.mp4", clip, "video/mp4")
    made = haul_web.api(
        "POST", "/downloads", json={"url": origin.url("/releases/bbt.mp4"), "media_id": media_id}
    )
    assert made.status_code == 201, made.text
    download_id = made.json()["id"]
    wait_for(
        lambda: haul_web.api("GET", f"/downloads/{download_id}").json()["status"] == "completed",
        timeout=30,
        what="the download to be filed",
    )

    page.reload()
    expect(row).to_contain_text("has its file")
    expect(row).to_contain_text("1 download")
    row.get_by_role("link", name="Big Buck Test").click()
    downloads = page.locator("table.item-downloads")
    expect(downloads.get_by_role("link", name=re.compile("bbt"))).to_have_attribute(
        "href", f"/downloads/{download_id}"
    )
    expect(downloads.locator(".badge")).to_have_text("completed")
    files = page.locator("ul.files > li")
    expect(files).to_have_count(1)
    for label, value in (
        ("Container", "mp4"),
        ("Duration", "10s"),
        ("Video", "h264 320\u00d7240"),
        ("Audio", "aac, 1 ch"),
        ("Subtitles", "eng"),
        ("On disk", "yes"),
    ):
        fact = files.locator("dl.meta > div").filter(has=page.locator("dt", has_text=label))
        expect(fact.locator("dd")).to_have_text(value)
    expect(files.locator(".path dd")).to_contain_text("Big Buck Test (2008).mp4")

    with page.expect_download() as arrival:
        files.get_by_role("link", name="Big Buck Test (2008).mp4").click()
    fetched = Path(arrival.value.path()).read_bytes()
    assert hashlib.sha256(fetched).hexdigest() == media.sha256(clip)


def test_an_episode_is_added_from_its_series_and_listed_under_its_season(
    page: Page, haul_web: HaulServer, browser_errors: PageErrors
) -> None:
    browser_errors.allow(FORM_NOTES)
    series = haul_web.api("POST", "/media", json={"kind": "series", "title": "Night Shift"})
    series_id = series.json()["id"]
    page.goto(f"/library/{series_id}")
    page.get_by_role("link", name="Add an episode").click()
    expect(kind_field(page)).to_have_value("episode")
    expect(page.get_by_label("Belongs to")).to_have_value(str(series_id))
    page.get_by_label("Title").fill("Cold Open")
    page.get_by_label("Season").fill("two")
    page.get_by_role("button", name="Add to the library").click()

    # A note beside each field that needs a fix, and what was typed is kept.
    expect(page.locator("#season-error")).to_contain_text("whole number")
    expect(page.get_by_label("Season")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Title")).to_have_value("Cold Open")
    page.get_by_label("Season").fill("2")
    page.get_by_label("Episode", exact=True).fill("1")
    page.get_by_role("button", name="Add to the library").click()
    expect(page).to_have_url(re.compile(r"/library/\d+\?created=1$"))
    page.get_by_role("link", name="Night Shift").first.click()
    season = page.locator("h3.season")
    expect(season).to_have_text(re.compile(r"^Season 2 "))
    expect(page.locator("ul.episodes")).to_contain_text("E01")
    expect(page.locator("ul.episodes").get_by_role("link", name="Cold Open")).to_be_visible()


def test_edit_and_delete_an_item(page: Page, haul_web: HaulServer) -> None:
    made = haul_web.api("POST", "/media", json={"kind": "movie", "title": "Typo Tilte"}).json()
    page.goto(f"/library/{made['id']}")
    page.get_by_text("Change this item").click()
    page.get_by_label("Title").fill("Typo Title")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Typo Title")
    expect(page.locator("p.note")).to_have_text("Saved.")
    page.get_by_role("link", name="Download for this item").click()
    expect(page.get_by_label("Media item")).to_have_value(str(made["id"]))
    page.go_back()
    page.get_by_role("button", name="Delete Typo Title").click()
    expect(page).to_have_url(re.compile(r"/library\?deleted=0$"))
    expect(page.locator("p.note")).to_have_text("The media item was deleted.")
    assert haul_web.api("GET", f"/media/{made['id']}").status_code == 404


def test_the_library_on_a_phone(phone_page: Page, haul_web: HaulServer) -> None:
    series = haul_web.api(
        "POST", "/media", json={"kind": "series", "title": "A series with a long title " * 3}
    ).json()
    for episode in (1, 2):
        haul_web.api(
            "POST",
            "/media",
            json={
                "kind": "episode",
                "title": f"Episode {episode}",
                "parent_id": series["id"],
                "season": 1,
                "episode": episode,
            },
        )
    for path in ("/library", f"/library/{series['id']}", "/library?add=episode"):
        phone_page.goto(path)
        expect(phone_page.locator("h1")).to_be_visible()
        width = phone_page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{path} is {width} px wide on a 375 px screen"
