"""The downloads pages in a real Chromium against a real ``haul serve``: what a person does
first (add, watch, pause, cancel, fetch) works without reading docs and without a reload."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, expect

from tests.support import media
from tests.support.aria2 import aria2_daemon
from tests.support.browser import DESKTOP, PageErrors, new_context
from tests.support.origin import Origin
from tests.support.server import HaulServer
from tests.support.wait import wait_for


def queued(server: HaulServer, url: str, **extra: Any) -> dict[str, Any]:
    response = server.api("POST", "/downloads", json={"url": url, **extra})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def status_of(server: HaulServer, download_id: int) -> str:
    return str(server.api("GET", f"/downloads/{download_id}").json()["status"])


def bar_value(page: Page, download_id: int) -> float:
    value = page.locator(f"#d-{download_id} progress").evaluate("bar => bar.value")
    return float(value or 0)


def test_add_through_the_form_and_watch_it_finish_without_reload(
    page: Page, haul_web: HaulServer, origin: Origin
) -> None:
    origin.add_file("/holiday.mp4", os.urandom(1_500_000), filename="holiday.mp4")
    origin.throttle("/holiday.mp4", 500_000)
    page.goto("/")
    page.get_by_role("link", name="Add downloads").click()
    page.get_by_label("Links").fill(origin.url("/holiday.mp4"))
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page).to_have_url(re.compile(r"/\?added=\d+$"))
    expect(page.get_by_role("status").filter(has_text="Queued 1 download")).to_be_visible()
    row = page.locator("tr.dl").first
    download_id = int(row.get_attribute("data-id") or 0)
    # Marks a document that a reload would replace: still there at the end means no reload.
    page.evaluate("window.__sameDocument = true")

    seen: list[float] = []

    def moving() -> bool:
        seen.append(bar_value(page, download_id))
        return len({v for v in seen if 0 < v < 1}) >= 2

    wait_for(moving, timeout=20, interval=0.1, what="the progress bar moving")
    expect(row.locator(".speed")).to_have_text(re.compile(r"/s$"))
    expect(row.locator(".badge")).to_have_text("completed", timeout=20_000)
    expect(row.locator(".pct")).to_have_text("100%")
    assert page.evaluate("window.__sameDocument") is True
    assert seen == sorted(seen), f"the bar went backwards: {seen}"


def test_pause_and_resume_from_the_page(page: Page, haul_web: HaulServer, origin: Origin) -> None:
    data = os.urandom(2_000_000)
    origin.add_file("/long.bin", data, filename="long.bin")
    origin.throttle("/long.bin", 250_000)
    item = queued(haul_web, origin.url("/long.bin"))
    page.goto("/")
    row = page.locator(f"#d-{item['id']}")
    expect(row.locator(".badge")).to_have_text("downloading")
    wait_for(lambda: bar_value(page, item["id"]) > 0.1, timeout=15, what="some progress")

    held = bar_value(page, item["id"])
    row.get_by_role("button", name=re.compile("^Pause")).click()
    expect(row.locator(".badge")).to_have_text("paused")
    assert status_of(haul_web, item["id"]) == "paused"
    served = origin.bytes_served("/long.bin")

    row.get_by_role("button", name=re.compile("^Resume")).click()
    expect(row.locator(".badge")).to_have_text(re.compile("downloading|queued|resolving"))
    expect(row.locator(".badge")).to_have_text("completed", timeout=30_000)
    # It went on from where it stopped: what was fetched before the pause was not fetched again.
    assert bar_value(page, item["id"]) == 1
    assert held > 0
    assert origin.bytes_served("/long.bin") - served < len(data) * (1 - held) + 300_000


def test_bulk_cancel(page: Page, haul_web: HaulServer, origin: Origin) -> None:
    ids = []
    for name in ("one", "two", "three"):
        origin.add_file(f"/{name}.bin", os.urandom(3_000_000), filename=f"{name}.bin")
        origin.throttle(f"/{name}.bin", 100_000)
        ids.append(queued(haul_web, origin.url(f"/{name}.bin"))["id"])
    keep = queued(haul_web, "http://192.0.2.1/keep.mp4", paused=True)["id"]
    page.goto("/")
    for download_id in ids:
        page.locator(f"#d-{download_id} input[name=ids]").check()
    expect(page.locator("#selected")).to_have_text("3 selected:")
    page.locator("#bulk").get_by_role("button", name="Cancel").click()
    for download_id in ids:
        expect(page.locator(f"#d-{download_id} .badge")).to_have_text("canceled")
        assert status_of(haul_web, download_id) == "canceled"
    expect(page.locator(f"#d-{keep} .badge")).to_have_text("paused")
    expect(page.get_by_role("status").filter(has_text="Canceled 3 downloads")).to_be_visible()


def test_fetch_a_finished_file_from_its_page(
    page: Page, haul_web: HaulServer, origin: Origin
) -> None:
    data = os.urandom(700_000)
    origin.add_file("/clip.mp4", data, filename="clip.mp4")
    item = queued(haul_web, origin.url("/clip.mp4"))
    wait_for(lambda: status_of(haul_web, item["id"]) == "completed", timeout=30)
    page.goto("/")
    page.get_by_role("link", name="clip").click()
    expect(page.get_by_role("heading", name="Files")).to_be_visible()
    with page.expect_download() as arrival:
        page.get_by_role("link", name="clip.mp4", exact=True).click()
    download = arrival.value
    assert download.suggested_filename == "clip.mp4"
    fetched = Path(download.path()).read_bytes()
    assert hashlib.sha256(fetched).hexdigest() == hashlib.sha256(data).hexdigest()


def test_an_invalid_link_is_explained_beside_the_field(
    page: Page, haul_web: HaulServer, browser_errors: PageErrors
) -> None:
    browser_errors.allow(r"status of 422")  # the form comes back as a 422, as bad input should
    page.goto("/add")
    page.get_by_label("Links").fill("gopher://example.org/file\nhttp://")
    page.get_by_role("button", name="Add", exact=True).click()
    errors = page.locator("#urls-error")
    expect(errors).to_have_count(2)
    expect(errors.first).to_contain_text("gopher://example.org/file: ")
    expect(page.get_by_label("Links")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Links")).to_have_value("gopher://example.org/file\nhttp://")
    assert haul_web.api("GET", "/downloads").json()["items"] == []


def test_a_client_taken_down_shows_the_banner(
    page: Page, haul_web: HaulServer, tmp_path: Path
) -> None:
    with aria2_daemon(tmp_path / "aria2") as daemon:
        added = haul_web.api(
            "POST",
            "/clients",
            json={"name": "nas-aria2", "kind": "aria2", "url": daemon.url, "secret": daemon.secret},
        )
        assert added.status_code == 201, added.text
        page.goto("/")
        expect(page.locator(".banner")).to_have_count(0)
        daemon.stop()
        banner = page.locator(".banner")
        expect(banner).to_contain_text("nas-aria2 is unreachable", timeout=15_000)
        expect(banner.get_by_role("link", name="Check the client")).to_be_visible()


def test_the_list_reads_with_javascript_off(browser: Browser, haul_web: HaulServer) -> None:
    item = queued(haul_web, "http://192.0.2.1/quiet.mp4", paused=True, title="Quiet film")
    context = browser.new_context(
        base_url=haul_web.url, java_script_enabled=False, **DESKTOP.context_options()
    )
    try:
        page = context.new_page()
        page.goto("/")
        expect(page.locator(f"#d-{item['id']}")).to_contain_text("Quiet film")
        # Without script a button is a form post that comes back to the list.
        page.locator(f"#d-{item['id']}").get_by_role("button", name=re.compile("^Resume")).click()
        expect(page).to_have_url(re.compile(r"/$"))
        assert status_of(haul_web, item["id"]) != "paused"
    finally:
        context.close()


def test_usable_on_a_phone(
    phone_page: Page, haul_web: HaulServer, origin: Origin, browser_errors: PageErrors
) -> None:
    origin.add_file("/a-very-long-name-" + "x" * 80 + ".mp4", b"x" * 1000)
    queued(haul_web, origin.url("/a-very-long-name-" + "x" * 80 + ".mp4"))
    queued(haul_web, "http://192.0.2.1/paused.mp4", paused=True)
    for path in ("/", "/add"):
        phone_page.goto(path)
        expect(phone_page.locator("h1")).to_be_visible()
        width = phone_page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{path} is {width} px wide on a 375 px screen"
    phone_page.goto("/")
    resume = phone_page.get_by_role("button", name="Resume paused.mp4")
    box = resume.bounding_box()
    assert box is not None and box["height"] >= 32, "buttons are big enough for a finger"


def test_keyboard_reaches_the_controls(page: Page, haul_web: HaulServer) -> None:
    item = queued(haul_web, "http://192.0.2.1/keys.mp4", paused=True)
    page.goto("/")
    reached: list[str] = []
    for _ in range(40):
        page.keyboard.press("Tab")
        reached.append(
            page.evaluate(
                "(() => { const e = document.activeElement;"
                " return (e.getAttribute('aria-label') || e.textContent || '').trim(); })()"
            )
        )
    assert "Skip to content" in reached
    assert "Add downloads" in reached
    assert any(r.startswith("Resume") for r in reached)
    page.locator(f"#d-{item['id']}").get_by_role("button", name=re.compile("^Resume")).focus()
    page.keyboard.press("Enter")
    wait_for(lambda: status_of(haul_web, item["id"]) != "paused", timeout=10)


def test_detail_page_follows_the_download(
    browser: Browser, haul_web: HaulServer, origin: Origin, browser_errors: PageErrors
) -> None:
    origin.add_file("/detail.bin", os.urandom(1_000_000), filename="detail.bin")
    origin.throttle("/detail.bin", 400_000)
    item = queued(haul_web, origin.url("/detail.bin"))
    context = new_context(browser, DESKTOP, base_url=haul_web.url)
    try:
        page = browser_errors.watch(context.new_page(), "desktop")
        page.goto(f"/downloads/{item['id']}")
        expect(page.get_by_role("heading", name="What happens next")).to_be_visible()
        expect(page.locator(".timeline")).to_contain_text("completed", timeout=20_000)
        expect(page.get_by_role("link", name="detail.bin", exact=True)).to_be_visible()
        expect(page.locator("#detail .badge").first).to_have_text("completed")
    finally:
        context.close()


def test_share_a_signed_link_that_works_without_the_page(
    page: Page, haul_web: HaulServer, origin: Origin
) -> None:
    data = os.urandom(300_000)
    origin.add_file("/share.mp4", data, filename="share.mp4")
    item = queued(haul_web, origin.url("/share.mp4"))
    wait_for(lambda: status_of(haul_web, item["id"]) == "completed", timeout=30)
    page.goto(f"/downloads/{item['id']}")
    page.get_by_role("button", name="Share link").click()
    shared = page.get_by_label("Shareable link")
    expect(shared).to_have_value(re.compile(r"^http://127\.0\.0\.1:\d+/files/"))
    url = shared.input_value()
    # Anyone with the link gets the file, ranges included; a changed link gets nothing.
    with httpx.Client() as http:
        whole = http.get(url)
        assert whole.status_code == 200
        assert hashlib.sha256(whole.content).hexdigest() == hashlib.sha256(data).hexdigest()
        part = http.get(url, headers={"Range": "bytes=100-199"})
        assert part.status_code == 206
        assert part.content == data[100:200]
        assert http.get(url[:-2] + ("AA" if not url.endswith("AA") else "BB")).status_code == 404


def test_the_pages_show_a_thumbnail_served_by_haul(
    page: Page,
    haul_web: HaulServer,
    origin: Origin,
    browser_errors: PageErrors,
    tmp_path: Path,
) -> None:
    clip = media.make_mp4(tmp_path / "clip.mp4", 2)
    origin.add_file("/v/clip.mp4", clip, content_type="video/mp4")
    poster = media.make_jpeg(tmp_path / "poster.jpg")  # 160x120
    origin.add_file("/v/poster.jpg", poster, content_type="image/jpeg")
    origin.add_page("/v/not-a-picture.jpg", "<html><body>no picture here</body></html>")
    with_picture = media.page_with_video(
        origin.url("/v/clip.mp4"), title="With <a> picture", poster_url=origin.url("/v/poster.jpg")
    )
    origin.add_page("/watch/picture", with_picture)
    broken = media.page_with_video(
        origin.url("/v/clip.mp4"), poster_url=origin.url("/v/not-a-picture.jpg")
    )
    origin.add_page("/watch/broken", broken)
    # The broken one's thumbnail answers 404: the browser says so in its console.
    browser_errors.allow(r"404")
    good = queued(haul_web, origin.url("/watch/picture"))
    bad = queued(haul_web, origin.url("/watch/broken"))
    for item in (good, bad):
        wait_for(lambda i=item: status_of(haul_web, i["id"]) == "completed", 60, what="done")

    for _ in range(3):  # several views: the site is asked once
        page.goto("/")
        img = page.locator(f"#d-{good['id']} .thumb img")
        expect(img).to_have_attribute("src", f"/api/v1/downloads/{good['id']}/thumbnail")
        title = page.locator(f"#d-{good['id']} a.title").inner_text()
        expect(img).to_have_attribute("alt", title)
        expect(img).to_have_attribute("loading", "lazy")
        wait_for(lambda i=img: i.evaluate("i => i.naturalWidth") == 160, 10, what="the picture")
        # The broken one keeps an empty box of the same size, and no broken image.
        placeholder = page.locator(f"#d-{bad['id']} .thumb")
        expect(placeholder).to_have_class(re.compile(r"\bnone\b"))
        expect(placeholder.locator("img")).to_have_count(0)
        box = placeholder.bounding_box()
        assert box is not None and (round(box["width"]), round(box["height"])) == (64, 36)
    assert len(origin.requests_for("/v/poster.jpg")) == 1
    assert len(origin.requests_for("/v/not-a-picture.jpg")) == 1

    page.goto(f"/downloads/{good['id']}")
    large = page.locator(".poster .thumb img")
    wait_for(lambda: large.evaluate("i => i.naturalWidth") == 160, 10, what="the large picture")
    box = large.bounding_box()
    assert box is not None and round(box["width"]) == 320
    # Every image the pages loaded came from haul itself.
    sources = page.evaluate("[...document.images].map(i => new URL(i.src).origin)")
    assert set(sources) <= {haul_web.url.rstrip("/")}
