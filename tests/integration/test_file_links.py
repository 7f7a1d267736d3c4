"""Signed file links end to end: made by the owner, opened by anyone, until they expire."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from haul.core import links
from haul.service.links import KEY_ENTRY, FileLinks
from haul.service.values import Owner
from haul.settings import Settings
from haul.store.models import ConfigEntry, Download
from haul.web.deps import get_owner
from tests.conftest import App
from tests.integration.test_api_downloads import finished, submit
from tests.support.origin import Origin
from tests.support.rows import app_without_worker, stored
from tests.support.wait import await_for

#: What every link that leads nowhere answers, whatever is wrong with it.
NOT_VALID = {"detail": links.NOT_VALID, "code": "invalid_link"}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
async def idle_app(settings: Settings) -> AsyncIterator[App]:
    async with app_without_worker(settings) as app:
        yield app


async def make_link(app: App, download_id: int, **body: Any) -> dict[str, Any]:
    response = await app.post(f"/downloads/{download_id}/link", json=body)
    assert response.status_code == 200, response.text
    made: dict[str, Any] = response.json()
    return made


async def downloaded(app: App, origin: Origin, path: str, data: bytes) -> dict[str, Any]:
    origin.add_file(path, data)
    done = await finished(app, (await submit(app, origin.url(path)))["id"])
    assert done["status"] == "completed", done
    return done


def with_id(token: str, download_id: int) -> str:
    raw = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    raw[1:9] = struct.pack(">Q", download_id)
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


async def test_a_link_serves_the_file_with_ranges_to_anyone(app: App, origin: Origin) -> None:
    data = os.urandom(200_003)
    done = await downloaded(app, origin, "/media/clip.mkv", data)
    made = await make_link(app, done["id"])
    assert made["url"].startswith("/files/") and made["name"] == "clip.mkv"
    expires = datetime.fromisoformat(made["expires_at"])
    lasts = expires - datetime.now(UTC)  # rounded up to a whole second
    assert timedelta(hours=23, minutes=59) < lasts <= timedelta(hours=24, seconds=1)

    # A fresh client: no cookie, no token; the link is the permission.
    transport = httpx.ASGITransport(app=app.http._transport.app)  # type: ignore[attr-defined]
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as anyone:
        full = await anyone.get(made["url"])
        assert full.status_code == 200 and sha(full.content) == sha(data)
        assert full.headers["content-type"] == "video/x-matroska"
        assert full.headers["content-disposition"] == 'attachment; filename="clip.mkv"'
        assert full.headers["accept-ranges"] == "bytes"
        part = await anyone.get(made["url"], headers={"Range": "bytes=1000-1999"})
        assert part.status_code == 206 and part.content == data[1000:2000]
        assert part.headers["content-range"] == f"bytes 1000-1999/{len(data)}"
        tail = await anyone.get(made["url"], headers={"Range": "bytes=-3"})
        assert tail.status_code == 206 and tail.content == data[-3:]
        head = await anyone.head(made["url"])
        assert head.status_code == 200 and head.content == b""
        assert head.headers["content-length"] == str(len(data))


async def test_expired_changed_and_foreign_links_are_refused(app: App, origin: Origin) -> None:
    first = await downloaded(app, origin, "/a.bin", b"first file")
    second = await downloaded(app, origin, "/b.bin", b"second file")
    token = (await make_link(app, first["id"]))["url"].removeprefix("/files/")
    assert (await app.http.get(f"/files/{token}")).content == b"first file"

    changed = token[:40] + ("A" if token[40] != "A" else "B") + token[41:]
    for bad in (changed, with_id(token, second["id"]), token[:30]):
        refused = await app.http.get(f"/files/{bad}")
        assert refused.status_code == 404, refused.text
        assert refused.json() == NOT_VALID

    # Signed by this server, with an expiry in the past.
    async with app.runtime.db.read() as s:
        created = (await s.get(Download, first["id"])).created_at  # type: ignore[union-attr]
    past = int(time.time()) - 3600
    old = links.sign(
        await app.runtime.links.key(),
        links.Claim(first["id"], 0, past),
        born=links.born_of(created),
    )
    gone = await app.http.get(f"/files/{old}")
    assert gone.status_code == 410
    when = datetime.fromtimestamp(past, UTC).strftime("%Y-%m-%d %H:%M")
    assert gone.json()["detail"] == f"This link expired on {when} UTC. Ask for a new link."

    short = (await make_link(app, second["id"], expires_in=1))["url"]
    assert (await app.http.get(short)).content == b"second file"

    async def expired() -> bool:
        return (await app.http.get(short)).status_code == 410

    await await_for(expired, timeout=5, what="the one-second link to expire")


async def test_links_are_made_by_the_owner_for_a_finished_file(app: App, origin: Origin) -> None:
    done = await downloaded(app, origin, "/mine.bin", b"mine")
    origin.add_file("/later.bin", b"later")
    waiting = await submit(app, origin.url("/later.bin"), paused=True)

    cases = [
        (9999, {}, 404, "There is no download 9999."),
        (done["id"], {"index": 3}, 404, f"Download {done['id']} has no file number 3."),
        (waiting["id"], {}, 404, f"Download {waiting['id']} has no finished file yet."),
        (done["id"], {"expires_in": 31 * 86400}, 422, "at most 30 days"),
        (done["id"], {"expires_in": 0}, 422, "more than 0 seconds"),
        (done["id"], {"index": -1}, 422, "index"),
    ]
    for download_id, body, status, sentence in cases:
        response = await app.post(f"/downloads/{download_id}/link", json=body)
        assert response.status_code == status, (body, response.text)
        assert sentence in response.json()["detail"]
    longest = await make_link(app, done["id"], expires_in=30 * 86400)
    assert (await app.http.get(longest["url"])).content == b"mine"

    application = app.http._transport.app  # type: ignore[attr-defined]
    application.dependency_overrides[get_owner] = lambda: Owner(key="user:7", is_admin=False)
    try:
        other = await app.post(f"/downloads/{done['id']}/link", json={})
        assert other.status_code == 404
        assert other.json()["detail"] == f"There is no download {done['id']}."
    finally:
        application.dependency_overrides.clear()


async def test_a_link_to_a_deleted_download_looks_like_a_forged_one(
    app: App, origin: Origin
) -> None:
    # Someone without a genuine link cannot tell which ids exist: a forged link, a changed
    # one, one naming an id no database holds and one whose download was deleted all get
    # the same answer.
    done = await downloaded(app, origin, "/bye.bin", b"bye")
    kept = await downloaded(app, origin, "/kept.bin", b"kept")
    url = (await make_link(app, done["id"]))["url"]
    token = url.removeprefix("/files/")
    assert (await app.http.delete(f"/api/v1/downloads/{done['id']}")).status_code == 200
    answers = []
    for path in (
        url,  # genuine, but its download was deleted
        f"/files/{with_id(token, kept['id'])}",  # an existing download's id, forged
        f"/files/{with_id(token, 2**31)}",
        f"/files/{with_id(token, 2**64 - 1)}",
    ):
        for method in ("GET", "HEAD"):
            answer = await app.http.request(method, path)
            answers.append((answer.status_code, answer.content, answer.headers["content-type"]))
    body = json.dumps(NOT_VALID, separators=(",", ":")).encode()
    assert {a for a in answers if a[1]} == {(404, body, "application/json")}
    assert {a[0] for a in answers} == {404}


async def test_a_link_whose_file_went_is_not_found(app: App, origin: Origin) -> None:
    done = await downloaded(app, origin, "/vanish.bin", b"vanish")
    url = (await make_link(app, done["id"]))["url"]
    (app.runtime.settings.downloads_root / done["files"][0]["path"]).unlink()
    missing = await app.http.get(url)
    assert missing.status_code == 404
    assert "no longer on disk" in missing.json()["detail"]


async def test_names_beyond_ascii_in_both_ways_to_fetch(idle_app: App) -> None:
    app = idle_app
    name = "Émission spéciale.mkv"
    download_id = await stored(app, age=timedelta(0), files={name: b"\x1a\x45\xdf\xa3matroska"})
    expected = (
        'attachment; filename="Emission speciale.mkv"; '
        "filename*=UTF-8''%C3%89mission%20sp%C3%A9ciale.mkv"
    )
    owned = await app.get(f"/downloads/{download_id}/file")
    assert owned.status_code == 200 and owned.content == b"\x1a\x45\xdf\xa3matroska"
    assert owned.headers["content-disposition"] == expected
    assert owned.headers["content-type"] == "video/x-matroska"
    made = await make_link(app, download_id, index=0, expires_in=60)
    assert made["name"] == name
    shared = await app.http.get(made["url"])
    assert shared.headers["content-disposition"] == expected

    subtitles = {"clip.en.srt": "application/x-subrip", "clip.en.vtt": "text/vtt; charset=utf-8"}
    for file_name, content_type in subtitles.items():
        sub_id = await stored(app, age=timedelta(0), files={file_name: b"1\n"})
        fetched = await app.get(f"/downloads/{sub_id}/file")
        assert fetched.headers["content-type"] == content_type


async def test_one_key_for_every_process_never_shown(idle_app: App) -> None:
    app = idle_app
    download_id = await stored(app, age=timedelta(0), files={"k.bin": b"key"})
    url = (await make_link(app, download_id))["url"]
    # Another process of the same instance: its own service, the same database.
    elsewhere = FileLinks(app.runtime.db, app.runtime.service)
    assert await elsewhere.key() == await app.runtime.links.key()
    assert await elsewhere.open(url.removeprefix("/files/")) == (
        app.runtime.settings.downloads_root / "k.bin"
    )
    async with app.runtime.db.read() as s:
        stored_key = await s.scalar(select(ConfigEntry.value).where(ConfigEntry.key == KEY_ENTRY))
    assert base64.b64decode(stored_key) == await app.runtime.links.key()
    config = await app.get("/config")
    if config.status_code == 200:
        assert "file_links" not in config.text and stored_key not in config.text


async def test_the_routes_are_documented(idle_app: App) -> None:
    paths = (await idle_app.get("/openapi.json")).json()["paths"]
    assert "post" in paths["/api/v1/downloads/{download_id}/link"]
    assert "get" in paths["/files/{token}"]
    assert "get" in paths["/api/v1/retention"] and "post" in paths["/api/v1/retention/run"]
    head = await idle_app.http.head("/files/not-a-token")
    assert head.status_code == 404
