"""What a browser is told about each of haul's responses: pages may run only haul's own script,
downloaded files run nothing, nothing may be framed, sniffed or referred elsewhere."""

from __future__ import annotations

import re

import httpx

from haul.web.headers import FILE_POLICY, OTHER_POLICY, PAGE_POLICY
from tests.conftest import App
from tests.support.rows import stored

HTML = {"Accept": "text/html"}
EVIL_PAGE = b"<html><script>fetch('/api/v1/clients').then(r => r.text())</script></html>"


def assert_common(response: httpx.Response) -> None:
    headers = response.headers
    assert headers["x-content-type-options"] == "nosniff", response.url
    assert headers["x-frame-options"] == "DENY"
    assert headers["cross-origin-opener-policy"] == "same-origin"
    assert headers["referrer-policy"] in ("same-origin", "no-referrer")
    assert "geolocation=()" in headers["permissions-policy"]


async def test_pages_and_the_api_get_their_policies(app: App) -> None:
    for path in ("/", "/add", "/library", "/clients", "/settings", "/logs", "/nowhere"):
        page = await app.http.get(path, headers=HTML)
        assert page.headers["content-type"].startswith("text/html"), path
        assert page.headers["content-security-policy"] == PAGE_POLICY, path
        assert_common(page)
        # what the policy forbids is not on the page: no inline script, style or handler
        assert not re.search(r"<script(?![^>]*\bsrc=)", page.text), path
        assert not re.search(r"\sstyle=|\son[a-z]+=", page.text), path
    for path in ("/api/v1/downloads", "/static/haul.js", "/static/haul.css", "/healthz"):
        response = await app.http.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-security-policy"] == OTHER_POLICY, path
        assert_common(response)
    docs = await app.http.get("/api/v1/docs")
    assert "frame-ancestors 'none'" in docs.headers["content-security-policy"]


async def test_refusals_made_before_any_route_carry_the_headers_too(app: App) -> None:
    too_big = await app.http.post(
        "/api/v1/downloads", content=b"x" * (2 << 20), headers={"content-type": "application/json"}
    )
    nul = await app.http.get("/api/v1/downloads?client=%00")
    cross = await app.http.post(
        "/api/v1/downloads", json={}, headers={"Origin": "http://evil.example"}
    )
    for response, status in ((too_big, 413), (nul, 422), (cross, 403)):
        assert response.status_code == status, response.text
        assert_common(response)
        assert response.headers["content-security-policy"] == OTHER_POLICY


async def test_a_downloaded_html_file_is_an_attachment_that_runs_nothing(app: App) -> None:
    download_id = await stored(app, files={"evil.html": EVIL_PAGE, "evil.svg": EVIL_PAGE})
    link = await app.post(f"/downloads/{download_id}/link")
    assert link.status_code == 200, link.text
    responses = [
        await app.get(f"/downloads/{download_id}/file"),
        await app.get(f"/downloads/{download_id}/file", params={"index": 1}),
        await app.http.get(link.json()["url"]),
        await app.http.head(link.json()["url"]),
    ]
    for response in responses:
        assert response.status_code == 200, response.text
        assert response.headers["content-security-policy"] == FILE_POLICY
        assert response.headers["content-disposition"].startswith("attachment;")
        assert response.headers["referrer-policy"] == "no-referrer"
        assert_common(response)
    assert responses[0].content == EVIL_PAGE
