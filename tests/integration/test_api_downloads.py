"""Every source kind end to end through the API: real origin, real yt-dlp, ffmpeg-made media."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from pathlib import Path
from typing import Any

import av
import pytest
from sqlalchemy import select

from haul.store.models import UnsupportedUrl
from tests.conftest import App
from tests.support import media
from tests.support.config import configure
from tests.support.fixtures import MediaFiles
from tests.support.folders import work_dir, work_root
from tests.support.origin import Origin
from tests.support.wait import await_for

FINAL = {"completed", "failed", "canceled"}


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def submit(app: App, url: str, **extra: Any) -> dict[str, Any]:
    response = await app.post("/downloads", json={"url": url, **extra})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def finished(app: App, download_id: int, timeout: float = 60) -> dict[str, Any]:
    async def done() -> dict[str, Any] | None:
        item: dict[str, Any] = (await app.get(f"/downloads/{download_id}")).json()
        return item if item["status"] in FINAL else None

    return await await_for(done, timeout, what=f"download {download_id} to finish")


async def status_is(app: App, download_id: int, wanted: str, timeout: float = 30) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        item: dict[str, Any] = (await app.get(f"/downloads/{download_id}")).json()
        return item if item["status"] == wanted else None

    return await await_for(check, timeout, what=f"download {download_id} to be {wanted}")


def downloaded_file(app: App, item: dict[str, Any]) -> Path:
    assert item["status"] == "completed", item
    assert len(item["files"]) >= 1
    path: Path = app.runtime.settings.downloads_root / item["files"][0]["path"]
    return path


async def test_direct_file_downloads_without_ytdlp(app: App, origin: Origin) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    origin.add_file("/files/big.bin", data)
    item = await submit(app, origin.url("/files/big.bin"))
    assert item["status"] in ("queued", "resolving")
    done = await finished(app, item["id"])
    path = downloaded_file(app, done)
    assert path.name == "big.bin"
    assert digest(path.read_bytes()) == digest(data)
    assert done["total_bytes"] == len(data) and done["progress"] == 1.0
    # The engine's own GET said it is a file (no HEAD first); the body was fetched once.
    methods = [r.method for r in origin.requests_for("/files/big.bin")]
    assert methods == ["GET"]
    # The work folder is gone, nothing is left beside the file.
    assert not any(work_root(app).iterdir())


async def test_a_latin_1_file_name_from_the_server_is_kept(app: App, origin: Origin) -> None:
    # Old servers send Content-Disposition in latin-1, a byte that is not UTF-8.
    origin.add_file("/get", b"data", disposition=b'attachment; filename="R\xe9sum\xe9.pdf"')
    done = await finished(app, (await submit(app, origin.url("/get")))["id"])
    assert done["status"] == "completed", done
    assert downloaded_file(app, done).name == "Résumé.pdf"
    assert done["files"][0]["path"].endswith("Résumé.pdf")
    assert (await app.http.get(f"/api/v1/downloads/{done['id']}/file")).content == b"data"


async def test_file_endpoint_serves_ranges(app: App, origin: Origin) -> None:
    data = os.urandom(100_000)
    origin.add_file("/doc.pdf", data, content_type="application/pdf")
    item = await finished(app, (await submit(app, origin.url("/doc.pdf")))["id"])
    full = await app.get(f"/downloads/{item['id']}/file")
    assert full.status_code == 200 and full.content == data
    assert full.headers["content-type"] == "application/pdf"
    assert 'filename="doc.pdf"' in full.headers["content-disposition"]
    part = await app.get(f"/downloads/{item['id']}/file", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == data[100:200]


async def test_page_with_video_goes_through_ytdlp(
    app: App, origin: Origin, media_files: MediaFiles
) -> None:
    origin.add_file("/media/clip.mp4", media_files.mp4, content_type="video/mp4")
    origin.add_page("/watch/clip", media.page_with_video(origin.url("/media/clip.mp4")))
    done = await finished(app, (await submit(app, origin.url("/watch/clip")))["id"])
    path = downloaded_file(app, done)
    assert media.sha256(path) == media.sha256(media_files.mp4)
    assert done["title"]


async def test_hls_stream_becomes_one_file(
    app: App, origin: Origin, media_files: MediaFiles
) -> None:
    origin.add_dir("/live", media_files.hls.parent)
    done = await finished(app, (await submit(app, origin.url("/live/index.m3u8")))["id"])
    path = downloaded_file(app, done)
    with av.open(str(path)) as container:
        assert container.duration is not None
        assert 9.0 <= container.duration / 1_000_000 <= 11.0
        assert any(s.type == "video" for s in container.streams)


async def test_playlist_page_expands_into_children(
    app: App, origin: Origin, media_files: MediaFiles
) -> None:
    origin.add_file("/media/a.mp4", media_files.mp4, content_type="video/mp4")
    origin.add_file("/media/b.mp4", media_files.mkv, content_type="video/mp4")
    origin.add_page(
        "/two", media.page_with_two_videos(origin.url("/media/a.mp4"), origin.url("/media/b.mp4"))
    )
    parent = await submit(app, origin.url("/two"))
    done = await finished(app, parent["id"], timeout=90)
    assert done["status"] == "completed" and done["children"] == 2
    children = (await app.get("/downloads", params={"parent_id": parent["id"]})).json()["items"]
    assert sorted(c["status"] for c in children) == ["completed", "completed"]
    got = sorted(media.sha256(downloaded_file(app, c)) for c in children)
    assert got == sorted([media.sha256(media_files.mp4), media.sha256(media_files.mkv)])
    # Children do not clutter the top-level list.
    top = (await app.get("/downloads")).json()["items"]
    assert [i["id"] for i in top] == [parent["id"]]


async def test_page_without_media_fails_as_unsupported(app: App, origin: Origin) -> None:
    origin.add_page("/blog", media.page_without_media())
    done = await finished(app, (await submit(app, origin.url("/blog")))["id"])
    assert done["status"] == "failed"
    assert done["error_code"] == "unsupported_url"
    assert origin.url("/blog") in done["error"]
    async with app.runtime.db.read() as s:
        rows = (await s.scalars(select(UnsupportedUrl))).all()
    assert [r.domain for r in rows] == ["127.0.0.1"]


async def test_not_found_fails_at_once_without_retry(app: App, origin: Origin) -> None:
    origin.add_file("/gone.bin", b"x")
    origin.fault("/gone.bin", "404", times=None)
    done = await finished(app, (await submit(app, origin.url("/gone.bin")))["id"])
    assert done["status"] == "failed" and done["error_code"] == "http_404"
    assert "404" in done["error"]
    assert len(origin.requests_for("/gone.bin")) == 1


async def test_pause_keeps_data_and_resume_does_not_refetch(app: App, origin: Origin) -> None:
    data = os.urandom(2 * 1024 * 1024)
    origin.add_file("/slow.bin", data)
    origin.throttle("/slow.bin", 1024 * 1024)
    item = await submit(app, origin.url("/slow.bin"))

    async def some_bytes() -> dict[str, Any] | None:
        got: dict[str, Any] = (await app.get(f"/downloads/{item['id']}")).json()
        return got if (got["downloaded_bytes"] or 0) > 300_000 else None

    await await_for(some_bytes, 30, what="first bytes")
    paused = (await app.post(f"/downloads/{item['id']}/pause")).json()
    assert paused["status"] == "paused"
    work = work_dir(app, item["id"])
    size_at_pause = sum(f.stat().st_size for f in work.iterdir())
    assert size_at_pause > 300_000
    # Nothing moves while paused.
    await asyncio.sleep(0.5)
    assert sum(f.stat().st_size for f in work.iterdir()) == size_at_pause
    listed = (await app.get(f"/downloads/{item['id']}")).json()
    assert listed["status"] == "paused" and listed["downloaded_bytes"] == size_at_pause
    # how far along it is, as its bar shows it
    assert listed["total_bytes"] == len(data)
    assert listed["progress"] == pytest.approx(size_at_pause / len(data))
    origin.throttle("/slow.bin", None)
    assert (await app.post(f"/downloads/{item['id']}/resume")).status_code == 200
    done = await finished(app, item["id"])
    assert digest(downloaded_file(app, done).read_bytes()) == digest(data)
    gets = [r for r in origin.requests_for("/slow.bin") if r.method == "GET"]
    assert gets[-1].range_header is not None and gets[-1].range_header.startswith(
        f"bytes={size_at_pause}-"
    )
    assert origin.bytes_served("/slow.bin") < len(data) + 256 * 1024


@pytest.mark.parametrize("delete_files", [True, False])
async def test_cancel_stops_within_a_second(app: App, origin: Origin, delete_files: bool) -> None:
    origin.add_file("/slower.bin", os.urandom(4 * 1024 * 1024))
    origin.throttle("/slower.bin", 256 * 1024)
    item = await submit(app, origin.url("/slower.bin"))
    await status_is(app, item["id"], "downloading")
    work = work_dir(app, item["id"])
    started = time.monotonic()
    response = await app.http.delete(
        f"/api/v1/downloads/{item['id']}", params={"delete_files": delete_files}
    )
    assert response.status_code == 200 and response.json()["status"] == "canceled"
    assert time.monotonic() - started < 1.0
    assert not app.runtime.runs(item["id"])
    assert work.exists() is not delete_files
    # Removed from view, kept in history.
    assert (await app.get(f"/downloads/{item['id']}")).status_code == 404
    served = origin.bytes_served("/slower.bin")
    await asyncio.sleep(0.3)
    assert origin.bytes_served("/slower.bin") <= served + 256 * 1024


async def test_submit_answers_at_once_without_network(app: App, origin: Origin) -> None:
    origin.add_file("/lazy.bin", b"data")
    origin.fault("/lazy.bin", "slow_headers", times=None, delay=3)
    # The app's first submit pays one-time costs (statements compiled, modules loaded);
    # what is timed here is whether a submit waits for the network.
    await submit(app, "http://example.test/warm-up.bin", paused=True)
    started = time.monotonic()
    item = await submit(app, origin.url("/lazy.bin"))
    assert time.monotonic() - started < 0.5
    assert item["status"] in ("queued", "resolving")


async def test_paused_submit_stays_put(app: App, origin: Origin) -> None:
    origin.add_file("/later.bin", b"data")
    item = await submit(app, origin.url("/later.bin"), paused=True)
    assert item["status"] == "paused"
    app.runtime.wake()
    await asyncio.sleep(0.3)
    assert origin.requests == []
    await app.post(f"/downloads/{item['id']}/resume")
    assert (await finished(app, item["id"]))["status"] == "completed"


async def test_retry_runs_again_from_the_source(app: App, origin: Origin) -> None:
    origin.add_file("/flaky.bin", b"payload")
    origin.fault("/flaky.bin", "404", times=None)
    failed = await finished(app, (await submit(app, origin.url("/flaky.bin")))["id"])
    assert failed["status"] == "failed"
    origin.clear_faults("/flaky.bin")
    assert (await app.post(f"/downloads/{failed['id']}/retry")).status_code == 200
    done = await finished(app, failed["id"])
    assert downloaded_file(app, done).read_bytes() == b"payload"
    history = [e["kind"] for e in (await app.get(f"/downloads/{failed['id']}/events")).json()]
    assert history[0] == "created" and "failed" in history and history[-1] == "completed"


async def test_duplicate_and_bad_input_get_sentences(app: App, origin: Origin) -> None:
    origin.add_file(
        "/dup.bin",
        b"x",
    )
    origin.throttle("/dup.bin", 1)
    first = await submit(app, origin.url("/dup.bin"))
    dup = await app.post("/downloads", json={"url": origin.url("/dup.bin")})
    assert dup.status_code == 409 and dup.json()["existing_id"] == first["id"]
    for body, words in [
        ({"url": "file:///etc/passwd"}, "'file:'"),
        ({"url": "http://169.254.169.254/latest"}, "metadata"),
        ({"url": ""}, "empty"),
        ({}, "either 'url' or 'urls'"),
        ({"url": "http://a/", "profile": "nope"}, "no profile named 'nope'"),
        ({"url": "http://a/", "bogus": 1}, "bogus"),
    ]:
        response = await app.post("/downloads", json=body)
        assert response.status_code == 422, body
        assert words in response.json()["detail"], response.json()
    assert (await app.get("/downloads/999999")).status_code == 404
    listed = (await app.get("/downloads")).json()["items"]
    assert [i["id"] for i in listed] == [first["id"]]


async def test_many_urls_in_one_request(app: App, origin: Origin) -> None:
    for n in range(3):
        origin.add_file(f"/m/{n}.bin", f"file {n}".encode())
    response = await app.post(
        "/downloads", json={"urls": [origin.url(f"/m/{n}.bin") for n in range(3)] + ["ftp://x/y"]}
    )
    assert response.status_code == 201
    body = response.json()
    assert len(body["items"]) == 3
    assert body["errors"][0]["url"] == "ftp://x/y" and "'ftp:'" in body["errors"][0]["detail"]
    for item in body["items"]:
        assert (await finished(app, item["id"]))["status"] == "completed"


async def test_list_shows_live_state_and_paginates(app: App, origin: Origin) -> None:
    origin.add_file("/live.bin", os.urandom(1024 * 1024))
    origin.throttle("/live.bin", 128 * 1024)
    live = await submit(app, origin.url("/live.bin"))
    for n in range(4):
        await submit(app, origin.url(f"/x{n}"), paused=True)
    await status_is(app, live["id"], "downloading")

    async def moving() -> dict[str, Any] | None:
        page = (await app.get("/downloads")).json()
        row = next(i for i in page["items"] if i["id"] == live["id"])
        return page if row["speed"] and row["downloaded_bytes"] and row["eta"] else None

    page = await await_for(moving, 20, what="live speed in the list")
    assert page["clients"] == [{"name": "builtin", "ok": True, "error": None}]
    first = (await app.get("/downloads", params={"limit": 2})).json()
    second = (
        await app.get("/downloads", params={"limit": 2, "cursor": first["next_cursor"]})
    ).json()
    ids = [i["id"] for i in first["items"] + second["items"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 4
    paused = (await app.get("/downloads", params={"status": "paused"})).json()["items"]
    assert len(paused) == 4
    await app.http.delete(f"/api/v1/downloads/{live['id']}")


@pytest.fixture
async def quick_retries(app: App) -> None:
    await configure(app, retry_max_attempts=3, retry_base_delay=0.2)


@pytest.mark.usefixtures("quick_retries")
async def test_server_errors_are_retried_with_backoff(app: App, origin: Origin) -> None:
    data = os.urandom(50_000)
    origin.add_file("/busy.bin", data)
    origin.fault("/busy.bin", "status", times=2, status=503)
    done = await finished(app, (await submit(app, origin.url("/busy.bin")))["id"])
    assert done["status"] == "completed"
    assert downloaded_file(app, done).read_bytes() == data
    events = (await app.get(f"/downloads/{done['id']}/events")).json()
    retries = [e for e in events if e["kind"] == "retry_scheduled"]
    assert [e["data"]["attempt"] for e in retries] == [1, 2]
    assert all("503" in e["message"] for e in retries)


@pytest.mark.usefixtures("quick_retries")
async def test_retry_after_is_honoured_and_attempts_are_bounded(app: App, origin: Origin) -> None:
    origin.add_file("/limited.bin", b"x")
    origin.fault("/limited.bin", "status", times=None, status=429, headers={"Retry-After": "1"})
    started = time.monotonic()
    done = await finished(app, (await submit(app, origin.url("/limited.bin")))["id"])
    assert done["status"] == "failed" and done["error_code"] == "http_429"
    # Three retries, each waiting the second the server asked for, not the 0.2 s backoff.
    assert time.monotonic() - started >= 3.0
    assert len(origin.requests_for("/limited.bin")) == 4


async def test_cancel_of_a_ytdlp_job_stops_within_a_second(
    app: App, origin: Origin, media_files: MediaFiles
) -> None:
    origin.add_file("/media/slow.mp4", media_files.mp4, content_type="video/mp4")
    origin.throttle("/media/slow.mp4", 32 * 1024)
    origin.add_page("/watch/slow", media.page_with_video(origin.url("/media/slow.mp4")))
    item = await submit(app, origin.url("/watch/slow"))
    await status_is(app, item["id"], "downloading")
    started = time.monotonic()
    response = await app.http.delete(f"/api/v1/downloads/{item['id']}?delete_files=true")
    assert response.json()["status"] == "canceled"
    assert time.monotonic() - started < 1.0
    assert not app.runtime.runs(item["id"])
    assert not work_dir(app, item["id"]).exists()


async def test_file_changed_behind_a_server_ignoring_if_range_is_fetched_whole(
    app: App, origin: Origin
) -> None:
    await configure(app, retry_max_attempts=3, retry_base_delay=1.5)
    old, new = os.urandom(2 * 1024 * 1024), os.urandom(2 * 1024 * 1024)
    origin.add_file("/moving.bin", old)
    origin.throttle("/moving.bin", 4 * 1024 * 1024)
    origin.fault("/moving.bin", "reset", times=1, after_bytes=1024 * 1024, method="GET")
    download_id = (await submit(app, origin.url("/moving.bin")))["id"]

    async def retry_waits() -> bool:
        events = (await app.get(f"/downloads/{download_id}/events")).json()
        return any(e["kind"] == "retry_scheduled" for e in events)

    await await_for(retry_waits, 30, what="the retry after the reset")
    origin.add_file("/moving.bin", new)  # the file changes on the server meanwhile
    origin.fault("/moving.bin", "ignore_if_range", method="GET")  # and the resume gets 206

    done = await finished(app, download_id)
    assert done["status"] == "completed"
    assert digest(downloaded_file(app, done).read_bytes()) == digest(new)
    statuses = [r.status for r in origin.requests_for("/moving.bin") if r.method == "GET"]
    assert statuses == [200, 206, 200]  # cut, the rest of another file (unread), the new one
    events = (await app.get(f"/downloads/{download_id}/events")).json()
    [restarted] = [e for e in events if e["kind"] == "restarted"]
    assert restarted["message"] == (
        "Starting again from the beginning: its ETag changed since the download began."
    )


@pytest.mark.usefixtures("quick_retries")
async def test_reset_mid_body_resumes_without_refetching(app: App, origin: Origin) -> None:
    data = os.urandom(2 * 1024 * 1024)
    origin.add_file("/cut.bin", data)
    # Throttled so the bytes are read as they come: a reset discards what still sits unread
    # in the receiving socket, and that is the kernel's loss, not a re-fetch.
    origin.throttle("/cut.bin", 2 * 1024 * 1024)
    origin.fault("/cut.bin", "reset", times=1, after_bytes=1024 * 1024, method="GET")
    done = await finished(app, (await submit(app, origin.url("/cut.bin")))["id"])
    assert done["status"] == "completed"
    assert downloaded_file(app, done).read_bytes() == data
    _, second = [r for r in origin.requests_for("/cut.bin") if r.method == "GET"]
    assert second.range_header is not None
    resumed_from = int(second.range_header.removeprefix("bytes=").rstrip("-"))
    assert resumed_from >= 512 * 1024  # what had arrived before the reset was kept
    assert second.bytes_sent == len(data) - resumed_from  # only the rest was fetched again
    kinds = [e["kind"] for e in (await app.get(f"/downloads/{done['id']}/events")).json()]
    assert kinds.count("retry_scheduled") == 1
