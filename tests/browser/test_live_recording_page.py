"""A live recording on the pages, in a real Chromium: the row shows REC and the length so far
(no percentage) and offers "Stop recording", not "Pause"; stopping keeps the file, and the
detail page says how it ended."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.support import media
from tests.support.browser import boxes
from tests.support.live_hls import LiveChannel
from tests.support.server import HaulServer
from tests.support.wait import wait_for


@pytest.fixture(scope="module")
def channel_segments(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("live")
    media.make_hls(folder, seconds=30)
    return folder


@pytest.fixture
def haul_web_env(database_url: str) -> dict[str, str]:
    """These pages are checked on SQLite and on PostgreSQL."""
    return {"HAUL_DATABASE_URL": database_url}


@pytest.fixture
def channel(channel_segments: Path) -> Iterator[LiveChannel]:
    with LiveChannel(channel_segments, interval=1.0) as live:
        yield live


def test_stop_recording_from_the_page(
    page: Page, haul_web: HaulServer, channel: LiveChannel
) -> None:
    created = haul_web.api("POST", "/downloads", json={"url": channel.url})
    assert created.status_code == 201, created.text
    download_id = created.json()["id"]
    page.goto("/")
    row = page.locator(f"#d-{download_id}")
    expect(row.locator(".badge")).to_have_text("downloading", timeout=20_000)
    expect(row.locator(".pct")).to_have_text(re.compile(r"^● REC \d+s$"), timeout=20_000)
    expect(row.get_by_role("button", name=re.compile("^Pause"))).to_have_count(0)

    def seconds() -> int:
        text = row.locator(".pct").inner_text()
        found = re.search(r"(\d+)s$", text)
        return int(found.group(1)) if found else 0

    wait_for(lambda: seconds() >= 4, timeout=20, interval=0.1, what="the length to grow")
    # Named after the stream (not its work file), with no empty bar, and its "● REC 4s"
    # inside its own column, clear of the size beside it.
    expect(row.locator("a.title")).to_have_text("index")
    expect(row.locator("progress")).to_have_count(0)
    _, rec, cell, size = boxes(page, f"d-{download_id}", ".pct", "td.prog", "td.size")
    assert rec["x"] + rec["width"] <= cell["x"] + cell["width"] + 0.5 <= size["x"] + 0.5
    if shots := os.environ.get("HAUL_SHOTS"):
        page.screenshot(path=f"{shots}/live-row-1280.png")
        page.set_viewport_size({"width": 390, "height": 800})
        page.screenshot(path=f"{shots}/live-row-390.png")
        page.set_viewport_size({"width": 1280, "height": 800})
    row.get_by_role("button", name=re.compile("^Stop recording")).click()
    expect(row.locator(".badge")).to_have_text("completed", timeout=30_000)
    assert len(channel.served) < len(channel.segments)

    page.goto(f"/downloads/{download_id}")
    expect(
        page.get_by_text(re.compile(r"^Recorded \d+s of a live stream, until you stopped it"))
    ).to_be_visible()
    expect(page.locator("#files, .files").get_by_text(re.compile(r"\.mp4"))).not_to_have_count(0)
    expect(page.locator(".pbar progress")).to_have_count(0)
    expect(page.locator("h1")).to_have_text("index")


def test_a_live_row_on_a_phone_shows_rec_without_a_bar(
    phone_page: Page, haul_web: HaulServer, channel: LiveChannel
) -> None:
    created = haul_web.api("POST", "/downloads", json={"url": channel.url})
    assert created.status_code == 201, created.text
    download_id = created.json()["id"]
    phone_page.goto("/")
    row = phone_page.locator(f"#d-{download_id}")
    expect(row.locator(".pct")).to_have_text(re.compile(r"^● REC \d+s$"), timeout=20_000)
    expect(row.locator("progress")).to_have_count(0)
    card, rec = boxes(phone_page, f"d-{download_id}", ".pct")
    assert rec["x"] + rec["width"] <= card["x"] + card["width"]
    if shots := os.environ.get("HAUL_SHOTS"):
        phone_page.screenshot(path=f"{shots}/live-row-phone.png")
    assert haul_web.api("POST", f"/downloads/{download_id}/cancel").status_code == 200
