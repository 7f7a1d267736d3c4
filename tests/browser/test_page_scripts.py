"""haul's script on every page, in a real Chromium against a real ``haul serve``, at the root and
under ``HAUL_BASE_PATH``: no page prints a JavaScript error, "List formats" fills its table
from a real yt-dlp, and the clients page asks for its health again without a reload."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urljoin

import pytest
from playwright.sync_api import Page, expect

from tests.support import media
from tests.support.browser import PageErrors
from tests.support.origin import Origin
from tests.support.server import HaulServer


@pytest.fixture(params=[{}, {"HAUL_BASE_PATH": "/haul"}], ids=["root", "base-path"])
def haul_web_env(request: pytest.FixtureRequest) -> dict[str, str]:
    """haul served at the root, and under a base path of its own."""
    return dict(request.param)


@pytest.fixture
def base(haul_web_env: dict[str, str]) -> str:
    return haul_web_env.get("HAUL_BASE_PATH", "")


def test_no_page_prints_a_javascript_error(
    page: Page, haul_web: HaulServer, base: str, origin: Origin, browser_errors: PageErrors
) -> None:
    origin.add_file("/a.bin", b"a" * 1000)
    page.goto(f"{base}/add")
    page.get_by_label("Links").fill(origin.url("/a.bin"))
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator("tr.dl")).to_have_count(1)
    detail = page.locator("tr.dl a[href*='/downloads/']").first.get_attribute("href")
    assert detail
    links = {detail}
    for link in page.locator("nav a[href]").all():
        href = link.get_attribute("href")
        if href and href.startswith(f"{base}/") and "logout" not in href:
            links.add(href)
    assert {f"{base}/add", f"{base}/clients"} <= links, links
    for href in sorted(links):
        page.goto(urljoin(haul_web.url, href), wait_until="load")
        expect(page.locator("main")).to_be_visible()
        page.evaluate("() => new Promise((done) => requestAnimationFrame(() => done(null)))")
        assert not browser_errors.seen, f"{href}:\n{browser_errors.report()}"


def test_list_formats_fills_the_table(
    page: Page, base: str, origin: Origin, tmp_path: Path
) -> None:
    origin.add_dir("/hls", media.make_hls_variants(tmp_path / "hls").parent)
    page.goto(f"{base}/add")
    page.get_by_label("Links").fill(origin.url("/hls/master.m3u8"))
    with page.expect_response(lambda r: f"{base}/api/v1/formats?" in r.url) as answer:
        page.get_by_role("button", name="List formats").click()
    assert answer.value.status == 200
    expect(page.locator("table.formats-table tbody tr")).to_have_count(2)
    expect(page.get_by_role("status").filter(has_text="Pick one below")).to_be_visible()


def test_the_clients_page_asks_for_its_health_again(page: Page, base: str) -> None:
    page.goto(f"{base}/clients")
    expect(page.locator("#c-builtin .health")).to_contain_text("Ready.")
    page.evaluate("window.__sameDocument = true")
    page.locator("#c-builtin").evaluate("(row) => row.classList.add('drawn-first')")
    with page.expect_response(
        lambda r: r.url.endswith(f"{base}/ui/clients/rows"), timeout=15_000
    ) as answer:
        pass
    assert answer.value.status == 200
    # The rows are drawn again from the server's answer.
    expect(page.locator("#c-builtin.drawn-first")).to_have_count(0)
    expect(page.locator("#c-builtin .health")).to_contain_text("Ready.")
    assert page.evaluate("window.__sameDocument") is True
