"""The add page's "List formats" in a real Chromium against a real ``haul serve``: a link's
formats are listed, picking one fills the Format field, and the download gets that format."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.support import media
from tests.support.browser import PageErrors
from tests.support.origin import Origin
from tests.support.server import HaulServer
from tests.support.wait import wait_for


def test_list_formats_pick_one_and_download_it(
    page: Page, haul_web: HaulServer, origin: Origin, tmp_path: Path
) -> None:
    origin.add_dir("/hls", media.make_hls_variants(tmp_path / "hls").parent)
    master = origin.url("/hls/master.m3u8")
    page.goto("/add")
    page.get_by_role("button", name="List formats").click()
    expect(page.get_by_role("status").filter(has_text="Paste a link first")).to_be_visible()

    page.get_by_label("Links").fill(master)
    page.get_by_role("button", name="List formats").click()
    table = page.locator("table.formats-table")
    expect(table.locator("tbody tr")).to_have_count(2, timeout=20_000)  # yt-dlp's listing
    expect(page.locator(".formats-title")).to_have_text("master (4 s): 2 formats")
    expect(table.locator("tbody tr").filter(has_text="160x120")).to_contain_text("150")
    # An HLS variant's size is estimated from its bitrate and the length.
    expect(table.locator("tbody tr").filter(has_text="320x240")).to_contain_text("~")
    page.get_by_label("Pick format 150").check()
    expect(page.get_by_label("Format", exact=True)).to_have_value("150")

    page.get_by_role("button", name="Add", exact=True).click()
    expect(page).to_have_url(re.compile(r"/\?added=\d+$"))
    download_id = int(page.url.rsplit("=", 1)[1])
    wait_for(
        lambda: haul_web.api("GET", f"/downloads/{download_id}").json()["status"] == "completed",
        timeout=60,
        what="the download to complete",
    )
    [video] = haul_web.api("GET", f"/downloads/{download_id}/files").json()["items"]
    assert (video["width"], video["height"]) == (160, 120)
    page.goto(f"/downloads/{download_id}")
    expect(page.locator("dd.format")).to_have_text("150")


def test_a_page_that_has_no_formats_is_said_and_the_plain_add_still_works(
    page: Page, haul_web: HaulServer, origin: Origin, browser_errors: PageErrors
) -> None:
    browser_errors.allow(r"status of 422")  # the listing refused, then the form sent back
    origin.add_page("/about", media.page_without_media(title="<b>Nothing</b> & more"))
    origin.add_file("/a.bin", b"a" * 1000)
    page.goto("/add")
    page.get_by_label("Links").fill(origin.url("/about"))
    page.get_by_role("button", name="List formats").click()
    said = page.get_by_role("status").filter(has_text="found no video or audio")
    expect(said).to_be_visible(timeout=20_000)  # yt-dlp reads the page first: slow when busy
    expect(page.locator("#formats")).to_be_hidden()

    page.get_by_label("Links").fill(origin.url("/a.bin"))
    page.get_by_label("Format", exact=True).fill("b[height<=]")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_text("yt-dlp cannot read the format 'b[height<=]'").first).to_be_visible()
    page.get_by_label("Format", exact=True).fill("")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page).to_have_url(re.compile(r"/\?added=\d+$"))
