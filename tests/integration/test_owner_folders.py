"""Each owner of an instance with accounts or visitors has a folder of their own under the
download root; the local user of a single-user instance keeps the root itself."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx

from haul.settings import Settings
from tests.conftest import App
from tests.integration.test_public_mode import public, visitor
from tests.support.aria2 import aria2_daemon
from tests.support.origin import Origin
from tests.support.people import crowd
from tests.support.wait import await_for

HTML = {"Accept": "text/html"}


async def finished(http: httpx.AsyncClient, download_id: int) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        item: dict[str, Any] = (await http.get(f"/api/v1/downloads/{download_id}")).json()
        return item if item["status"] in ("completed", "failed") else None

    item = await await_for(done, timeout=30, what=f"download {download_id} to finish")
    assert item["status"] == "completed", item
    return item


async def fetch(http: httpx.AsyncClient, url: str) -> dict[str, Any]:
    made = await http.post("/api/v1/downloads", json={"url": url})
    assert made.status_code == 201, made.text
    return await finished(http, made.json()["id"])


async def test_each_account_has_its_folder_and_cancel_finds_the_files(
    settings: Settings, origin: Origin
) -> None:
    alices, bobs = os.urandom(40_000), os.urandom(30_000)
    origin.add_file("/a/clip.bin", alices)
    origin.add_file("/b/clip.bin", bobs)
    async with crowd(settings, allow_private_addresses=True) as people:
        root = people.runtime.settings.downloads_root
        mine, theirs = f"alice-{people.alice.user_id}", f"bob-{people.bob.user_id}"
        alice = await fetch(people.alice.http, origin.url("/a/clip.bin"))
        bob = await fetch(people.bob.http, origin.url("/b/clip.bin"))
        # The same name twice, and no "clip (1).bin": each is in its owner's folder.
        assert alice["files"][0]["path"] == f"{mine}/clip.bin"
        assert bob["files"][0]["path"] == f"{theirs}/clip.bin"
        assert (root / mine / "clip.bin").read_bytes() == alices
        assert (root / theirs / "clip.bin").read_bytes() == bobs
        got = await people.alice.http.get(f"/api/v1/downloads/{alice['id']}/file")
        assert got.status_code == 200 and got.content == alices

        gone = await people.alice.http.delete(
            f"/api/v1/downloads/{alice['id']}", params={"delete_files": "true"}
        )
        assert gone.status_code == 200, gone.text
        assert not (root / mine / "clip.bin").exists()
        assert (root / theirs / "clip.bin").read_bytes() == bobs


async def test_a_visitor_has_a_folder_under_visitors(settings: Settings, origin: Origin) -> None:
    data = os.urandom(20_000)
    origin.add_file("/v/clip.bin", data)
    async with public(settings, allow_private_addresses=True) as app, visitor(app) as anna:
        item = await fetch(anna, origin.url("/v/clip.bin"))
        session = item["owner"].removeprefix("session:")
        assert item["files"][0]["path"] == f"visitors/{session[:8]}/clip.bin"
        root: Path = app.state.runtime.settings.downloads_root
        assert (root / "visitors" / session[:8] / "clip.bin").read_bytes() == data


async def test_the_single_user_keeps_the_root(app: App, origin: Origin) -> None:
    origin.add_file("/s/clip.bin", b"x" * 10_000)
    made = await app.post("/downloads", json={"url": origin.url("/s/clip.bin")})
    item = await finished(app.http, made.json()["id"])
    assert item["files"][0]["path"] == "clip.bin"


async def test_an_external_client_saves_into_the_owners_folder(
    settings: Settings, origin: Origin, tmp_path: Path
) -> None:
    data = os.urandom(50_000)
    origin.add_file("/x/clip.bin", data)
    with aria2_daemon(tmp_path / "aria2") as daemon:
        async with crowd(settings, allow_private_addresses=True) as people:
            body = {"name": "aria2", "kind": "aria2", "url": daemon.url, "secret": daemon.secret}
            made = await people.admin.post("/clients", json={**body, "prefer_for_files": True})
            assert made.status_code == 201, made.text
            item = await fetch(people.alice.http, origin.url("/x/clip.bin"))
            assert item["client"] == "aria2"
            mine = f"alice-{people.alice.user_id}"
            assert item["files"][0]["path"] == f"{mine}/clip.bin"
            root = people.runtime.settings.downloads_root
            assert (root / mine / "clip.bin").read_bytes() == data
