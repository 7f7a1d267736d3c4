"""What a playlist and an owner look like in the API and on the pages: a playlist has its
entries' sizes and a summary and links them; owners are shown by name, not by key."""

from __future__ import annotations

import re
from typing import Any

import httpx

from haul.settings import Settings
from haul.store.models import UnsupportedUrl
from tests.conftest import App
from tests.integration.test_public_mode import public, visitor
from tests.integration.test_web_pages import HTML, open_page
from tests.support import media
from tests.support.fixtures import MediaFiles
from tests.support.origin import Origin
from tests.support.people import crowd
from tests.support.wait import await_for


async def _finished(app: App, download_id: int) -> dict[str, Any] | None:
    item: dict[str, Any] = (await app.get(f"/downloads/{download_id}")).json()
    return item if item["status"] in ("completed", "failed") else None


async def test_a_playlist_has_its_entries_sizes_a_summary_and_links(
    app: App, origin: Origin, media_files: MediaFiles
) -> None:
    origin.add_file("/m/a.mp4", media_files.mp4, content_type="video/mp4")
    origin.add_file("/m/b.mp4", media_files.mkv, content_type="video/mp4")
    origin.add_page(
        "/two", media.page_with_two_videos(origin.url("/m/a.mp4"), origin.url("/m/b.mp4"))
    )
    created = (await app.post("/downloads", json={"url": origin.url("/two")})).json()
    parent = await await_for(lambda: _finished(app, created["id"]), timeout=90, what="playlist")
    children = (
        await app.get("/downloads", params={"parent_id": parent["id"], "sort": "oldest"})
    ).json()["items"]
    sizes = [media_files.mp4.stat().st_size, media_files.mkv.stat().st_size]
    assert [c["total_bytes"] for c in children] == sizes
    assert parent["status"] == "completed" and parent["progress"] == 1.0
    assert parent["total_bytes"] == parent["downloaded_bytes"] == sum(sizes)
    assert parent["message"] == "2 of 2 downloaded"
    assert parent["children"] == 2 and parent["children_status"] == {"completed": 2}
    assert parent["completed_at"] is not None

    page, _ = await open_page(app, f"/downloads/{parent['id']}")
    assert "No files" not in page
    assert "Playlist: 2 of 2 downloaded" in page
    links = re.findall(r'<li><a href="/downloads/(\d+)">', page)
    assert links == [str(c["id"]) for c in children]  # in playlist order
    child_page, _ = await open_page(app, f"/downloads/{children[0]['id']}")
    assert f'<a href="/downloads/{parent["id"]}" class="parent">Two haul clips</a>' in child_page


async def test_admins_see_whose_downloads_by_user_name(settings: Settings) -> None:
    async with crowd(settings) as people:
        made = await people.alice.post(
            "/downloads", json={"url": "http://videos.example/a.mkv", "paused": True}
        )
        assert made.status_code == 201, made.text
        assert made.json()["owner_name"] == "alice"
        listed = (await people.admin.get("/downloads")).json()["items"]
        assert [(i["owner"], i["owner_name"]) for i in listed] == [
            (f"user:{people.alice.user_id}", "alice")
        ]
        page = (await people.admin.http.get("/", headers=HTML)).text
        assert '<td class="owner">alice</td>' in page and "user:" not in page
        detail = (await people.admin.http.get(f"/downloads/{listed[0]['id']}", headers=HTML)).text
        assert "<dt>Owner</dt><dd>alice</dd>" in detail


async def test_a_visitor_is_shown_as_visitor_and_the_start_of_the_session(
    settings: Settings,
) -> None:
    async with public(settings) as app:
        runtime = app.state.runtime
        admin = await runtime.accounts.create_user("root", "correct horse battery", role="admin")
        _view, token = await runtime.accounts.create_token(admin.id, "tests")
        async with visitor(app) as anna:
            made = await anna.post(
                "/api/v1/downloads", json={"url": "http://videos.example/v/1", "paused": True}
            )
            assert made.status_code == 201, made.text
            session = made.json()["owner"].removeprefix("session:")
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1", headers=headers
        ) as root:
            listed = (await root.get("/api/v1/downloads")).json()["items"]
            assert [i["owner_name"] for i in listed] == [f"visitor {session[:8]}"]
            page = (await root.get("/", headers=HTML)).text
            assert f'<td class="owner">visitor {session[:8]}</td>' in page


async def test_the_logs_page_names_who_sent_an_unsupported_link(settings: Settings) -> None:
    async with crowd(settings) as people:
        async with people.runtime.db.write() as s:
            s.add(
                UnsupportedUrl(
                    url="http://videos.example/blog",
                    domain="videos.example",
                    error="Unsupported URL",
                    owner_key=f"user:{people.alice.user_id}",
                )
            )
        page = (await people.admin.http.get("/logs?log=unsupported", headers=HTML)).text
        assert "from alice" in page and "user:" not in page
