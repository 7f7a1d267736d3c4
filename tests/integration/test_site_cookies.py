"""Site cookies end to end: a site that answers 403 to a visitor without its cookie lets a
download through once the owner uploaded a cookies.txt, through the real HTTP engine and
through real yt-dlp (a page with a ``<video>``), and the cookie's value shows up in no API
answer, no log line, no event and no byte of the database. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import make_url, text

from haul.core.cookies import MAX_TEXT_BYTES, WHY_LEFT_OUT
from haul.events.bus import Event
from haul.service import Owner
from haul.service.cookies import CookieService
from haul.settings import Settings
from haul.store.database import Database
from haul.store.migrate import upgrade_async
from haul.store.models import CookieSet
from haul.store.sealed import KeyFile
from tests.conftest import App
from tests.integration.test_public_mode import public, visitor
from tests.integration.test_web_pages import token
from tests.support import media
from tests.support.fixtures import MediaFiles
from tests.support.origin import Origin
from tests.support.server import HaulServer
from tests.support.wait import await_for

VALUE = "s3cr3t-c00kie-value-7f2a"
LATER = 4102444800  # 2100-01-01


def cookies_txt(value: str = VALUE) -> str:
    return (
        "# Netscape HTTP Cookie File\n"
        f"127.0.0.1\tFALSE\t/\tFALSE\t{LATER}\tsid\t{value}\n"
        f".other.test\tTRUE\t/\tFALSE\t0\tsid\t{value}-elsewhere\n"
    )


class Watched:
    """Every API answer, log line and event of a test, to look for the value in."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.answers: list[str] = []
        self.events: list[Event] = []

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        answer = await self.app.http.request(method, f"/api/v1{path}", **kwargs)
        self.answers.append(answer.text)
        return answer

    async def finished(self, download_id: int) -> dict[str, Any]:
        async def ended() -> bool:
            row = (await self.call("GET", f"/downloads/{download_id}")).json()
            return row["status"] in ("completed", "failed")

        await await_for(ended, 60, what=f"download {download_id} to end")
        row: dict[str, Any] = (await self.call("GET", f"/downloads/{download_id}")).json()
        await self.call("GET", f"/downloads/{download_id}/events")
        return row


@pytest.fixture
async def watched(app: App) -> AsyncIterator[Watched]:
    seen = Watched(app)
    subscription = app.runtime.bus.subscribe()

    async def collect() -> None:
        async for event in subscription:
            seen.events.append(event)

    task = asyncio.create_task(collect())
    try:
        yield seen
    finally:
        subscription.close()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def database_bytes(app: App, settings: Settings) -> bytes:
    """What the database holds: the SQLite files (WAL included) or, on PostgreSQL, every row
    of every table as text."""
    if app.runtime.db.is_sqlite:
        database = Path(str(make_url(settings.sqlalchemy_url).database))
        files = sorted(database.parent.glob(f"{database.name}*"))  # with -wal and -shm
        assert database in files
        return b"".join(path.read_bytes() for path in files)
    dumped = []
    async with app.runtime.db.read() as s:
        tables = (
            await s.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))
        ).scalars()
        for table in list(tables):
            rows = await s.execute(text(f'SELECT t::text FROM "{table}" t'))  # noqa: S608
            dumped.extend(str(row[0]) for row in rows)
    return "\n".join(dumped).encode()


def assert_never_shown(
    watched: Watched, caplog: pytest.LogCaptureFixture, stored: bytes, value: str = VALUE
) -> None:
    assert not [a for a in watched.answers if value in a]
    assert not [r for r in caplog.records if value in r.getMessage()]
    assert not [e for e in watched.events if value in repr(e.as_json())]
    assert value.encode() not in stored


async def test_a_direct_file_behind_a_cookie_comes_with_the_uploaded_one(
    app: App,
    watched: Watched,
    origin: Origin,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    data = b"members only " * 4000
    origin.add_file("/private/film.bin", data)
    origin.require_cookie("/private/film.bin", f"sid={VALUE}")
    url = origin.url("/private/film.bin")

    refused = await watched.call("POST", "/downloads", json={"url": url})
    row = await watched.finished(refused.json()["id"])
    assert row["status"] == "failed" and "403" in row["error"]
    assert "Cookie" not in origin.requests_for("/private/film.bin")[0].headers

    made = await watched.call("POST", "/cookies", json={"cookies_txt": cookies_txt()})
    assert made.status_code == 201, made.text
    assert made.json()["domains"] == [".other.test", "127.0.0.1"]
    assert made.json()["count"] == 2
    assert made.json()["expires_at"].startswith("2100-01-01")
    assert (settings.data_dir / "cookies.key").stat().st_mode & 0o777 == 0o600

    # The same URL again, this time reached through a redirect from another name of the host:
    # the first request (to localhost) carries none of the cookies, the redirected one its own.
    origin.add_redirect("/back", url)
    hop = f"http://localhost:{origin.port}/back"
    done = await watched.call("POST", "/downloads", json={"url": hop})
    row = await watched.finished(done.json()["id"])
    assert row["status"] == "completed", row
    assert (app.runtime.settings.downloads_root / row["files"][0]["path"]).read_bytes() == data
    first = origin.requests_for("/back")[0]
    assert first.headers["Host"].startswith("localhost") and "Cookie" not in first.headers
    last = origin.requests_for("/private/film.bin")[-1]
    assert last.headers["Cookie"] == f"sid={VALUE}"  # only the cookie of 127.0.0.1

    listed = (await watched.call("GET", "/cookies")).json()["items"]
    assert [(s["id"], s["count"]) for s in listed] == [(made.json()["id"], 2)]
    assert set(listed[0]) == {"id", "domains", "count", "expires_at", "created_at"}
    assert_never_shown(watched, caplog, await database_bytes(app, settings))


async def test_a_page_and_its_video_behind_a_cookie_come_through_yt_dlp(
    app: App,
    watched: Watched,
    origin: Origin,
    media_files: MediaFiles,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    origin.add_file("/media/private.mp4", media_files.mp4, "video/mp4")
    origin.add_page("/watch/private", media.page_with_video(origin.url("/media/private.mp4")))
    for path in ("/watch/private", "/media/private.mp4"):
        origin.require_cookie(path, f"sid={VALUE}")
    page = origin.url("/watch/private")

    refused = await watched.call("POST", "/downloads", json={"url": page})
    row = await watched.finished(refused.json()["id"])
    assert row["status"] == "failed" and "403" in row["error"]
    assert "may have expired" not in row["error"]

    await watched.call("POST", "/cookies", json={"cookies_txt": cookies_txt()})
    done = await watched.call("POST", "/downloads", json={"url": page})
    row = await watched.finished(done.json()["id"])
    assert row["status"] == "completed", row
    got = app.runtime.settings.downloads_root / row["files"][0]["path"]
    assert got.read_bytes() == media_files.mp4.read_bytes()
    # yt-dlp itself fetched the page and the video with the cookie.
    by_ytdlp = [
        r
        for r in origin.requests_for("/media/private.mp4") + origin.requests_for("/watch/private")
        if not r.headers.get("User-Agent", "").startswith("haul/")
    ]
    assert {r.path for r in by_ytdlp if r.status == 200} == {
        "/watch/private",
        "/media/private.mp4",
    }
    assert all(r.headers.get("Cookie") == f"sid={VALUE}" for r in by_ytdlp)
    assert_never_shown(watched, caplog, await database_bytes(app, settings))


async def test_the_info_json_beside_a_video_fetched_with_a_cookie_holds_no_cookie(
    app: App,
    watched: Watched,
    origin: Origin,
    media_files: MediaFiles,
    settings: Settings,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    origin.add_file("/media/private.mp4", media_files.mp4, "video/mp4")
    origin.add_file("/media/t.jpg", media.make_jpeg(tmp_path / "t.jpg"), "image/jpeg")
    page = media.page_with_metadata(
        origin.url("/media/private.mp4"),
        title="Members Cut",
        uploader="Studio",
        thumbnail_url=origin.url("/media/t.jpg"),
        description="Only for members.",
    )
    origin.add_page("/watch/private", page)
    for path in ("/watch/private", "/media/private.mp4", "/media/t.jpg"):
        origin.require_cookie(path, f"sid={VALUE}")
    await watched.call("POST", "/cookies", json={"cookies_txt": cookies_txt()})
    body = {"name": "full", "write_info_json": True, "write_nfo": True, "write_thumbnail": True}
    assert (await watched.call("POST", "/profiles", json=body)).status_code == 201
    movie = await watched.call("POST", "/media", json={"kind": "movie", "title": "Cut"})
    assert movie.status_code == 201, movie.text

    kept = await watched.call(
        "POST", "/downloads", json={"url": origin.url("/watch/private"), "profile": "full"}
    )
    row = await watched.finished(kept.json()["id"])
    assert row["status"] == "completed", row
    filed = await watched.call(
        "POST",
        "/downloads",
        json={
            "url": origin.url("/watch/private"),
            "profile": "full",
            "media_id": movie.json()["id"],
        },
    )
    assert (await watched.finished(filed.json()["id"]))["status"] == "completed"

    # The info.json, as the API serves it and as it lies in the download folder and the library.
    [index] = [i for i, f in enumerate(row["files"]) if f["path"].endswith(".info.json")]
    served = await watched.call("GET", f"/downloads/{row['id']}/file", params={"index": index})
    assert served.status_code == 200, served.text
    assert json.loads(served.text)["title"] == "Members Cut"
    library = sorted(settings.library_root.rglob("*.info.json"))
    assert len(library) == 1 and json.loads(library[0].read_bytes())["title"] == "Members Cut"
    kept_files = [
        p
        for root in (settings.downloads_root, settings.library_root)
        for p in root.rglob("*")
        if p.is_file()
    ]
    assert len(kept_files) >= 6  # both downloads' video, picture, NFO and info.json
    assert [p for p in kept_files if VALUE.encode() in p.read_bytes()] == []
    assert "sid=" not in served.text and "sid=" not in library[0].read_text()
    assert_never_shown(watched, caplog, await database_bytes(app, settings))


async def test_cookies_for_localhost_go_to_it_through_both_engines(
    app: App,
    watched: Watched,
    origin: Origin,
    media_files: MediaFiles,
) -> None:
    # A host name without a dot, as a NAS or a media server on the LAN is often called.
    local = f"http://localhost:{origin.port}"
    origin.add_file("/private/film.bin", b"members only " * 4000)
    origin.add_file("/media/private.mp4", media_files.mp4, "video/mp4")
    origin.add_page("/watch/private", media.page_with_video(f"{local}/media/private.mp4"))
    for path in ("/private/film.bin", "/watch/private", "/media/private.mp4"):
        origin.require_cookie(path, f"sid={VALUE}")
    uploaded = f"localhost\tFALSE\t/\tFALSE\t{LATER}\tsid\t{VALUE}\n"
    made = await watched.call("POST", "/cookies", json={"cookies_txt": uploaded})
    assert made.json()["domains"] == ["localhost"]

    direct = await watched.call("POST", "/downloads", json={"url": f"{local}/private/film.bin"})
    row = await watched.finished(direct.json()["id"])
    assert row["status"] == "completed", row
    assert origin.requests_for("/private/film.bin")[-1].headers["Cookie"] == f"sid={VALUE}"

    page = await watched.call("POST", "/downloads", json={"url": f"{local}/watch/private"})
    row = await watched.finished(page.json()["id"])
    assert row["status"] == "completed", row
    got = app.runtime.settings.downloads_root / row["files"][0]["path"]
    assert got.read_bytes() == media_files.mp4.read_bytes()
    by_ytdlp = [
        r
        for r in origin.requests_for("/media/private.mp4") + origin.requests_for("/watch/private")
        if not r.headers.get("User-Agent", "").startswith("haul/")
    ]
    assert {r.path for r in by_ytdlp if r.status == 200} == {
        "/watch/private",
        "/media/private.mp4",
    }
    assert all(r.headers.get("Cookie") == f"sid={VALUE}" for r in by_ytdlp)


async def test_a_refused_cookie_is_said_to_have_expired(
    app: App, watched: Watched, origin: Origin, media_files: MediaFiles
) -> None:
    origin.add_file("/private/film.bin", b"x" * 1000)
    origin.require_cookie("/private/film.bin", f"sid={VALUE}")
    origin.add_file("/media/private.mp4", media_files.mp4, "video/mp4")
    origin.require_cookie("/media/private.mp4", f"sid={VALUE}")
    origin.add_page("/watch/open", media.page_with_video(origin.url("/media/private.mp4")))
    await watched.call("POST", "/cookies", json={"cookies_txt": cookies_txt("stale-value")})
    for url in (origin.url("/private/film.bin"), origin.url("/watch/open")):
        made = await watched.call("POST", "/downloads", json={"url": url})
        row = await watched.finished(made.json()["id"])
        assert row["status"] == "failed", row
        assert "403" in row["error"], row
        assert "The cookies for 127.0.0.1 may have expired: upload fresh ones" in row["error"]


async def test_uploads_as_a_file_and_removal(app: App, watched: Watched) -> None:
    files = {"file": ("cookies.txt", cookies_txt().encode(), "text/plain")}
    made = await watched.call("POST", "/cookies", files=files)
    assert made.status_code == 201, made.text
    assert set(made.json()) >= {"id", "domains", "count", "expires_at"}
    set_id = made.json()["id"]
    assert (await watched.call("DELETE", f"/cookies/{set_id}")).status_code == 204
    assert (await watched.call("GET", "/cookies")).json() == {"items": []}
    again = await watched.call("DELETE", f"/cookies/{set_id}")
    assert again.status_code == 404
    assert again.json()["detail"] == f"You have no cookie set {set_id}."


@pytest.mark.parametrize(
    ("send", "status", "said"),
    [
        ({"json": {"cookies_txt": ""}}, 422, "empty"),
        ({"json": {"cookies_txt": "sid=abc; other=def"}}, 422, "Netscape format"),
        ({"json": {"cookies_txt": ".a.org\tTRUE\t/\tFALSE\t100\tn\tv\n"}}, 422, "expired"),
        ({"json": {"cookies": "x"}}, 422, "cookies_txt"),
        ({"json": ["x"]}, 422, "cookies_txt"),
        ({"content": b"not json", "headers": {"content-type": "application/json"}}, 422, "JSON"),
        ({"content": b"x", "headers": {"content-type": "text/plain"}}, 422, "multipart"),
        ({"files": {"file": ("c.txt", b"\xff\xfe\x00bad", "text/plain")}}, 422, "UTF-8"),
        ({"files": {"other": ("c.txt", b"x", "text/plain")}}, 422, "field 'file'"),
        (
            {"json": {"cookies_txt": "a.org\tFALSE\t/\tFALSE\t0\tn\tv\n" * 50_000}},
            413,
            "at most 1 MB",
        ),
        (
            {"files": {"file": ("c.txt", b"#" * (MAX_TEXT_BYTES + 1), "text/plain")}},
            413,
            "at most 1 MB",
        ),
    ],
)
async def test_bad_uploads_are_refused_with_a_sentence(
    app: App, send: dict[str, Any], status: int, said: str
) -> None:
    answer = await app.http.post("/api/v1/cookies", **send)
    assert answer.status_code == status, answer.text
    assert said in answer.json()["detail"]
    assert (await app.get("/cookies")).json() == {"items": []}


def test_the_command_line_adds_lists_and_removes_sets(server: HaulServer, tmp_path: Path) -> None:
    exported = tmp_path / "cookies.txt"
    exported.write_text(cookies_txt())
    added = server.cli("cookies", "add", str(exported))
    assert added.returncode == 0, added.stderr
    first, sites = added.stdout.splitlines()
    assert first.startswith("added cookie set 1: 2 cookies")
    assert sites == "  sites .other.test, 127.0.0.1"
    listed = server.cli("cookies", "list")
    assert listed.returncode == 0, listed.stderr
    assert ".other.test" in listed.stdout and "127.0.0.1" in listed.stdout
    assert "2100-01-01 00:00" in listed.stdout
    bad = tmp_path / "bad.txt"
    bad.write_text("sid=abc")
    refused = server.cli("cookies", "add", str(bad))
    assert refused.returncode != 0 and "Netscape format" in refused.stderr
    removed = server.cli("cookies", "remove", "1")
    assert removed.returncode == 0 and "removed 1" in removed.stdout
    again = server.cli("cookies", "remove", "1")
    assert again.returncode != 0 and "You have no cookie set 1." in again.stderr
    assert "No cookies uploaded" in server.cli("cookies", "list").stdout
    said = added.stdout + listed.stdout + removed.stdout + server.log.read_text()
    assert VALUE not in said
    key = server.data_dir / "cookies.key"
    assert key.stat().st_mode & 0o777 == 0o600
    assert VALUE.encode() not in (server.data_dir / "haul.db").read_bytes()


async def test_the_page_uploads_lists_and_deletes_behind_its_csrf_token(app: App) -> None:
    browser = app.http
    html = {"Accept": "text/html"}
    empty = await browser.get("/cookies", headers=html)
    assert empty.status_code == 200 and "You have uploaded no cookies" in empty.text
    assert 'href="/cookies"' in empty.text  # in the menu
    csrf = token(empty.text)
    file = {"file": ("cookies.txt", cookies_txt().encode(), "text/plain")}

    forged = await browser.post("/cookies", headers=html, files=file, data={"csrf": "x" * 43})
    assert forged.status_code == 403
    elsewhere = await browser.post(
        "/cookies",
        headers={**html, "Origin": "http://evil.test"},
        files=file,
        data={"csrf": csrf},
    )
    assert elsewhere.status_code == 403
    assert (await app.get("/cookies")).json() == {"items": []}

    bad = await browser.post(
        "/cookies", headers=html, data={"csrf": csrf, "cookies_txt": "sid=abc"}, files={}
    )
    assert bad.status_code == 422 and "Netscape format" in bad.text
    nothing = await browser.post("/cookies", headers=html, files={}, data={"csrf": csrf})
    assert nothing.status_code == 422 and "Choose a cookies.txt file" in nothing.text

    made = await browser.post("/cookies", headers=html, files=file, data={"csrf": csrf})
    assert made.status_code == 303 and made.headers["location"] == "/cookies?done=added"
    pasted = await browser.post(
        "/cookies",
        headers=html,
        files={"file": ("", b"", "application/octet-stream")},
        data={"csrf": csrf, "cookies_txt": cookies_txt("pasted-value")},
    )
    assert pasted.status_code == 303
    shown = await browser.get("/cookies?done=added", headers=html)
    assert "The cookies are stored." in shown.text
    assert shown.text.count('<td class="sites">.other.test, 127.0.0.1</td>') == 2
    assert VALUE not in shown.text and "pasted-value" not in shown.text

    (first, second) = [s["id"] for s in (await app.get("/cookies")).json()["items"]]
    refused = await browser.post(f"/cookies/{first}/delete", headers=html, data={"csrf": "no"})
    assert refused.status_code == 403
    gone = await browser.post(f"/cookies/{first}/delete", headers=html, data={"csrf": csrf})
    assert gone.status_code == 303
    assert [s["id"] for s in (await app.get("/cookies")).json()["items"]] == [second]
    again = await browser.post(f"/cookies/{first}/delete", headers=html, data={"csrf": csrf})
    assert again.status_code == 404


async def test_visitors_sets_belong_to_their_browser_and_an_accounts_end_with_it(
    settings: Settings,
) -> None:
    async with public(settings) as application, visitor(application) as anna:
        async with visitor(application, "203.0.113.8") as bob:
            await anna.get("/api/v1/auth/me")  # the visitor cookie first, as a browser has it
            await bob.get("/api/v1/auth/me")
            made = await anna.post("/api/v1/cookies", json={"cookies_txt": cookies_txt()})
            assert made.status_code == 201, made.text
            set_id = made.json()["id"]
            assert (await bob.get("/api/v1/cookies")).json() == {"items": []}
            taken = await bob.delete(f"/api/v1/cookies/{set_id}")
            assert taken.status_code == 404 and "no cookie set" in taken.json()["detail"]
            assert len((await anna.get("/api/v1/cookies")).json()["items"]) == 1
            runtime = application.state.runtime
            async with runtime.db.read() as s:
                stored = await s.get(CookieSet, set_id)
            assert stored is not None and stored.owner_key.startswith("session:")
            assert await runtime.cookies.for_owner(stored.owner_key) is not None

        # An account's sets go with it, whatever becomes of the rest of what it owned.
        user = await runtime.accounts.create_user("carol", "carol password 1")
        await runtime.cookies.add(Owner(key=f"user:{user.id}", user_id=user.id), cookies_txt())
        await runtime.ownership.delete_user(user.id)
        assert await runtime.cookies.for_owner(f"user:{user.id}") is None


async def test_a_set_this_process_cannot_open_is_left_out_and_told_of_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"sqlite:///{tmp_path / 'haul.db'}"
    await upgrade_async(url)
    db = Database(url)
    try:
        server = CookieService(db, KeyFile(tmp_path / "server" / "cookies.key"))
        await server.add(Owner(key="user:1"), cookies_txt())
        await server.add(Owner(key="user:2"), cookies_txt())
        worker = CookieService(db, KeyFile(tmp_path / "worker" / "cookies.key"))
        caplog.set_level(logging.DEBUG, logger="haul.service.cookies")
        for _ in range(3):
            assert await worker.for_owner("user:1") is None
        warned = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warned) == 1 and "cookie set 1 is not used" in warned[0].getMessage()
        assert not [r for r in caplog.records if VALUE in r.getMessage()]
        mine = await server.for_owner("user:2")
        assert mine is not None and mine.header("http://127.0.0.1:1/") == f"sid={VALUE}"
        assert await server.for_owner("user:3") is None
    finally:
        await db.dispose()


async def test_jobs_in_every_process_see_a_set_from_the_moment_it_is_added_or_removed(
    tmp_path: Path,
) -> None:
    """Each process keeps the cookies it opened; adding or removing a set is seen at once by
    the process that did it and, through the message between processes, by the others."""
    url = f"sqlite:///{tmp_path / 'haul.db'}"
    await upgrade_async(url)
    db = Database(url)
    try:
        key = KeyFile(tmp_path / "cookies.key")
        worker = CookieService(db, key)
        server = CookieService(db, key, tell_others=worker.forget)
        owner = Owner(key="user:1")
        for process in (server, worker):
            assert await process.for_owner(owner.key) is None  # and kept so
        added = await server.add(owner, cookies_txt())
        for process in (server, worker):
            found = await process.for_owner(owner.key)
            assert found is not None and found.header("http://127.0.0.1:1/") == f"sid={VALUE}"
        await server.remove(owner, added.id)
        for process in (server, worker):
            assert await process.for_owner(owner.key) is None
    finally:
        await db.dispose()


HOSTILE_DOMAINS = (
    "# Netscape HTTP Cookie File\n"
    f"<img src=x onerror=alert(1)>\tFALSE\t/\tFALSE\t{LATER}\tsid\tone\n"
    f"ev\x1b[31mil.com\tFALSE\t/\tFALSE\t{LATER}\tsid\ttwo\n"
    f".good.test\tTRUE\t/\tFALSE\t{LATER}\tsid\t{VALUE}\n"
)


async def test_lines_whose_domain_is_not_a_host_name_are_left_out_and_never_shown(
    app: App, watched: Watched, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    made = await watched.call("POST", "/cookies", json={"cookies_txt": HOSTILE_DOMAINS})
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["domains"], body["count"], body["left_out"]) == ([".good.test"], 1, 2)
    assert body["note"] == f"2 lines were left out: {WHY_LEFT_OUT}."
    listed = await watched.call("GET", "/cookies")
    assert [s["domains"] for s in listed.json()["items"]] == [[".good.test"]]
    page = await app.http.get("/cookies?done=added&left=2", headers={"Accept": "text/html"})
    assert f"2 lines were left out: {WHY_LEFT_OUT}." in page.text
    for said in [*watched.answers, page.text, *(r.getMessage() for r in caplog.records)]:
        assert "\x1b" not in said and "\\u001b" not in said
        assert "<img" not in said and "onerror" not in said and "il.com" not in said
    only_bad = "".join(HOSTILE_DOMAINS.splitlines(keepends=True)[:3])
    refused = await watched.call("POST", "/cookies", json={"cookies_txt": only_bad})
    assert refused.status_code == 422, refused.text
    assert "no cookie haul can send" in refused.json()["detail"]
    assert "\x1b" not in refused.text and "<img" not in refused.text


async def test_the_page_tells_of_the_lines_left_out(app: App) -> None:
    html = {"Accept": "text/html"}
    csrf = token((await app.http.get("/cookies", headers=html)).text)
    file = {"file": ("cookies.txt", HOSTILE_DOMAINS.encode(), "text/plain")}
    made = await app.http.post("/cookies", headers=html, files=file, data={"csrf": csrf})
    assert made.status_code == 303 and made.headers["location"] == "/cookies?done=added&left=2"
