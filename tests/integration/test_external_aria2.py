"""aria2 as a configured client, end to end through the API: configure and test it, route
direct files to it, pause, resume, cancel, and survive it being killed and restarted."""

from __future__ import annotations

import hashlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from haul.clients.aria2.client import Aria2Client
from tests.conftest import App
from tests.support.aria2 import Aria2Daemon, aria2_daemon
from tests.support.origin import Origin
from tests.support.wait import await_for

DATA = os.urandom(3 << 20)
DIGEST = hashlib.sha256(DATA).hexdigest()


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[Aria2Daemon]:
    with aria2_daemon(tmp_path / "aria2") as running:
        yield running


async def add_aria2(app: App, daemon: Aria2Daemon, **extra: Any) -> dict[str, Any]:
    body = {"name": "aria2", "kind": "aria2", "url": daemon.url, "secret": daemon.secret}
    response = await app.post("/clients", json={**body, **extra})
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


async def download(app: App, download_id: int) -> dict[str, Any]:
    response = await app.get(f"/downloads/{download_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def status_is(app: App, download_id: int, *wanted: str, timeout: float = 20) -> Any:
    async def check() -> dict[str, Any] | None:
        item = await download(app, download_id)
        return item if item["status"] in wanted else None

    return await await_for(check, timeout, what=f"download {download_id} to be {wanted}")


async def test_configure_and_test_a_client_without_leaking_its_secret(
    app: App, daemon: Aria2Daemon
) -> None:
    created = await add_aria2(app, daemon, priority=3)
    assert "secret" not in created
    assert created["has_secret"] is True
    assert created["priority"] == 3
    listed = (await app.get("/clients")).json()["items"]
    assert [c["name"] for c in listed] == ["aria2"]
    assert daemon.secret not in (await app.get("/clients")).text

    ok = (await app.post("/clients/aria2/test")).json()
    assert ok["ok"] is True
    assert ok["version"]

    # (aria2 answers a wrong secret only after a pause, against guessing)
    wrong = (await app.post("/clients/aria2/test", json={"secret": "not-it"})).json()
    assert wrong["ok"] is False
    assert wrong["code"] == "client_auth_failed"
    assert "secret" in wrong["error"]
    assert "not-it" not in wrong["error"]

    dead = "http://127.0.0.1:9/jsonrpc"
    refused = (
        await app.post("/clients/test", json={"name": "x", "kind": "aria2", "url": dead})
    ).json()
    assert refused == {
        "ok": False,
        "version": None,
        "error": "aria2 at 127.0.0.1:9 refused the connection",
        "code": "client_unavailable",
    }

    changed = await app.http.patch("/api/v1/clients/aria2", json={"priority": 1})
    assert changed.status_code == 200
    assert changed.json()["priority"] == 1
    assert changed.json()["has_secret"] is True  # a change without a secret keeps it

    bad_kind = await app.post("/clients", json={"name": "y", "kind": "ftp", "url": dead})
    assert bad_kind.status_code == 422
    bad_url = await app.post("/clients", json={"name": "y", "kind": "aria2", "url": "nope"})
    assert bad_url.status_code == 422
    assert "http://127.0.0.1:6800/jsonrpc" in bad_url.json()["detail"]
    twice = await app.post("/clients", json={"name": "aria2", "kind": "aria2", "url": dead})
    assert twice.status_code == 409
    reserved = await app.post("/clients", json={"name": "builtin", "kind": "aria2", "url": dead})
    assert reserved.status_code == 422

    assert (await app.http.delete("/api/v1/clients/aria2")).status_code == 204
    assert (await app.get("/clients/aria2")).status_code == 404


async def test_direct_files_go_to_a_preferred_aria2_and_finish_there(
    app: App, daemon: Aria2Daemon, origin: Origin
) -> None:
    await add_aria2(app, daemon, prefer_for_files=True)
    origin.add_file("/film.mkv", DATA)
    created = (await app.post("/downloads", json={"url": origin.url("/film.mkv")})).json()
    done = await status_is(app, created["id"], "completed", "failed")
    assert done["status"] == "completed", done
    assert done["client"] == "aria2"
    assert done["client_ref"] == f"{created['id']:016x}"
    assert [f["name"] for f in done["files"]] == ["film.mkv"]
    assert done["total_bytes"] == len(DATA)
    fetched = await app.get(f"/downloads/{created['id']}/file")
    assert hashlib.sha256(fetched.content).hexdigest() == DIGEST
    kinds = [e["kind"] for e in (await app.get(f"/downloads/{created['id']}/events")).json()]
    assert "handed_over" in kinds
    assert kinds[-1] == "completed"


async def test_a_file_the_owners_site_cookies_go_with_stays_with_the_built_in_engine(
    app: App, daemon: Aria2Daemon, origin: Origin
) -> None:
    """aria2 cannot be given cookies for one file alone: a file behind the owner's sign-in is
    fetched by haul itself, with the cookie, while other files still go to aria2."""
    await add_aria2(app, daemon, prefer_for_files=True)
    origin.add_file("/members/film.mkv", DATA)
    origin.require_cookie("/members/film.mkv", "sid=members-only")
    origin.add_file("/open/film.mkv", DATA)
    cookies = "127.0.0.1\tFALSE\t/members\tFALSE\t0\tsid\tmembers-only\n"
    assert (await app.post("/cookies", json={"cookies_txt": cookies})).status_code == 201
    behind = (await app.post("/downloads", json={"url": origin.url("/members/film.mkv")})).json()
    open_ = (await app.post("/downloads", json={"url": origin.url("/open/film.mkv")})).json()
    done = await status_is(app, behind["id"], "completed", "failed")
    assert done["status"] == "completed", done
    assert done["client"] != "aria2"
    fetched = await app.get(f"/downloads/{behind['id']}/file")
    assert hashlib.sha256(fetched.content).hexdigest() == DIGEST
    other = await status_is(app, open_["id"], "completed", "failed")
    assert other["status"] == "completed" and other["client"] == "aria2", other


async def test_pause_resume_and_cancel_act_on_aria2(
    app: App, daemon: Aria2Daemon, origin: Origin
) -> None:
    await add_aria2(app, daemon)
    moving = await moving_on_aria2(app, origin, "/slow.bin")
    download_id = moving["id"]
    assert moving["client"] == "aria2"
    gid = moving["client_ref"]
    async with Aria2Client(daemon.url, daemon.secret) as direct:
        assert (await app.post(f"/downloads/{download_id}/pause")).status_code == 200
        item = await await_for(
            lambda: _aria2_status(direct, gid, "paused"), 10, what="aria2 to pause it"
        )
        assert item is not None
        assert (await download(app, download_id))["status"] == "paused"

        assert (await app.post(f"/downloads/{download_id}/resume")).status_code == 200
        await await_for(lambda: _aria2_status(direct, gid, "active"), 10, what="resume")

        cancel = await app.post(f"/downloads/{download_id}/cancel", json={"delete_files": True})
        assert cancel.status_code == 200, cancel.text
        assert cancel.json()["status"] == "canceled"
        assert gid not in await direct.items()
        root = app.runtime.settings.downloads_root
        leftovers = [p.name for p in root.iterdir()] if root.exists() else []
        assert not [n for n in leftovers if n.startswith("slow.bin")], leftovers


async def test_a_downloads_own_limit_and_its_part_of_its_owners_are_kept_by_aria2(
    app: App, daemon: Aria2Daemon, origin: Origin
) -> None:
    """A download's own speed limit and its owner's (shared by the owner's transfers) become
    the transfer's own limit in aria2, followed live as either changes."""
    await add_aria2(app, daemon)
    for name in ("one.bin", "two.bin"):
        origin.add_file(f"/{name}", DATA)
        origin.throttle(f"/{name}", 100_000)  # both still running when the test ends
    changed = await app.http.patch("/api/v1/config", json={"speed_limit_per_owner": "1M"})
    assert changed.status_code == 200, changed.text
    one = (
        await app.post(
            "/downloads",
            json={"url": origin.url("/one.bin"), "client": "aria2", "speed_limit": "200K"},
        )
    ).json()["id"]
    two = (
        await app.post("/downloads", json={"url": origin.url("/two.bin"), "client": "aria2"})
    ).json()["id"]
    gids = [
        (await await_for(lambda i=i: _downloading_with_bytes(app, i), 20, what="progress"))[
            "client_ref"
        ]
        for i in (one, two)
    ]

    async with Aria2Client(daemon.url, daemon.secret) as direct:

        async def limits_are(*wanted: str) -> bool:
            options = [await direct.wire.call("aria2.getOption", gid) for gid in gids]
            return tuple(o["max-download-limit"] for o in options) == wanted

        # its own 200 KB/s is tighter than half of the owner's 1 MB/s: the other gets the rest
        await await_for(lambda: limits_are("200000", "800000"), 10, what="the items' limits")
        lifted = await app.http.patch(f"/api/v1/downloads/{one}", json={"speed_limit": None})
        assert lifted.status_code == 200, lifted.text
        await await_for(lambda: limits_are("500000", "500000"), 10, what="its own limit lifted")
        await app.http.patch("/api/v1/config", json={"speed_limit_per_owner": ""})
        await await_for(lambda: limits_are("0", "0"), 10, what="the owner's limit lifted")
    for download_id in (one, two):
        assert (await app.post(f"/downloads/{download_id}/cancel")).status_code == 200


async def test_a_pause_window_of_the_schedule_pauses_aria2s_transfer_until_it_ends(
    app: App, daemon: Aria2Daemon, origin: Origin
) -> None:
    await add_aria2(app, daemon)
    moving = await moving_on_aria2(app, origin, "/held.bin")
    download_id, gid = moving["id"], moving["client_ref"]
    always = [{"from": "00:00", "to": "24:00", "pause": True}]
    changed = await app.http.patch("/api/v1/config", json={"speed_schedule": always})
    assert changed.status_code == 200, changed.text
    async with Aria2Client(daemon.url, daemon.secret) as direct:
        await await_for(lambda: _aria2_status(direct, gid, "paused"), 10, what="aria2 to pause it")
        shown = await download(app, download_id)
        assert shown["status"] == "queued", shown
        assert shown["message"] == "Waiting: the speed schedule pauses downloads."
        stopped_at = shown["downloaded_bytes"]
        assert stopped_at < len(DATA)

        changed = await app.http.patch("/api/v1/config", json={"speed_schedule": None})
        assert changed.status_code == 200, changed.text
        done = await status_is(app, download_id, "completed", "failed", timeout=30)
    assert done["status"] == "completed", done
    fetched = await app.get(f"/downloads/{download_id}/file")
    assert hashlib.sha256(fetched.content).hexdigest() == DIGEST
    events = (await app.get(f"/downloads/{download_id}/events")).json()
    said = [e["message"] for e in events if e["kind"] == "schedule"]
    assert said == ["Paused by the speed schedule.", "The speed schedule's pause ended: resumed."]


async def test_a_killed_client_is_unknown_fast_and_reconciles_after_restart(
    app: App, tmp_path: Path, origin: Origin
) -> None:
    home = tmp_path / "aria2"
    origin.add_file("/slow.bin", DATA)
    origin.throttle("/slow.bin", 300_000)
    origin.add_file("/other.bin", DATA)
    with aria2_daemon(home) as first:
        await add_aria2(app, first, timeout=1.0)
        port = httpx.URL(first.url).port
        on_aria2 = (
            await app.post("/downloads", json={"url": origin.url("/slow.bin"), "client": "aria2"})
        ).json()["id"]
        await await_for(lambda: _downloading_with_bytes(app, on_aria2), 20, what="progress")
        time.sleep(1.2)  # aria2 saves its session every second: let it record the GID
        os.kill(first.pid, signal.SIGKILL)
        first.process.wait(5)

        builtin = (await app.post("/downloads", json={"url": origin.url("/other.bin")})).json()
        started = time.monotonic()
        listed = await app.get("/downloads")
        took = time.monotonic() - started
        assert took < 2.0, f"the list took {took:.2f} s with a dead client (timeout 1 s)"
        items = {i["id"]: i for i in listed.json()["items"]}
        assert items[on_aria2]["status"] == "unknown"
        assert "aria2" in items[on_aria2]["error"]
        states = {c["name"]: c for c in listed.json()["clients"]}
        assert states["aria2"]["ok"] is False
        assert states["builtin"]["ok"] is True
        done = await status_is(app, builtin["id"], "completed", "failed")
        assert done["status"] == "completed"  # the other client is unaffected
        # a dead client answers at once while it is backed off
        started = time.monotonic()
        again = (await download(app, on_aria2))["status"]
        assert again == "unknown"
        assert time.monotonic() - started < 0.5

    with aria2_daemon(home, session=home / "session.txt", port=port, secret=first.secret):
        back = await status_is(app, on_aria2, "downloading", "completed", timeout=40)
        assert back["client_ref"] == f"{on_aria2:016x}"
        origin.throttle("/slow.bin", None)
        done = await status_is(app, on_aria2, "completed", "failed", timeout=40)
        assert done["status"] == "completed", done
        fetched = await app.get(f"/downloads/{on_aria2}/file")
        assert hashlib.sha256(fetched.content).hexdigest() == DIGEST


async def moving_on_aria2(app: App, origin: Origin, path: str) -> dict[str, Any]:
    """A file at 400 KB/s added for aria2, once it moves: its download."""
    origin.add_file(path, DATA)
    origin.throttle(path, 400_000)
    made = await app.post("/downloads", json={"url": origin.url(path), "client": "aria2"})
    download_id = made.json()["id"]
    moving: dict[str, Any] = await await_for(
        lambda: _downloading_with_bytes(app, download_id), 20, what="aria2 to make progress"
    )
    return moving


async def _downloading_with_bytes(app: App, download_id: int) -> dict[str, Any] | None:
    item = await download(app, download_id)
    if item["status"] == "downloading" and (item["downloaded_bytes"] or 0) > 0:
        return item
    return None


async def _aria2_status(client: Aria2Client, gid: str, native: str) -> Any:
    items = await client.items([gid])
    item = items.get(gid)
    return item if item is not None and item.raw.get("status") == native else None


async def test_retry_re_adds_a_canceled_download_to_aria2_and_it_finishes(
    app: App, daemon: Aria2Daemon, origin: Origin
) -> None:
    await add_aria2(app, daemon)
    origin.add_file("/again.bin", DATA)
    origin.throttle("/again.bin", 300_000)
    created = (
        await app.post("/downloads", json={"url": origin.url("/again.bin"), "client": "aria2"})
    ).json()
    download_id = created["id"]
    await await_for(lambda: _downloading_with_bytes(app, download_id), 20, what="progress")
    canceled = await app.post(f"/downloads/{download_id}/cancel", json={"delete_files": False})
    assert canceled.json()["status"] == "canceled"
    origin.throttle("/again.bin", None)
    retried = await app.post(f"/downloads/{download_id}/retry")
    assert retried.status_code == 200, retried.text
    done = await status_is(app, download_id, "completed", "failed", timeout=30)
    assert done["status"] == "completed", done
    assert done["client"] == "aria2"
    fetched = await app.get(f"/downloads/{download_id}/file")
    assert hashlib.sha256(fetched.content).hexdigest() == DIGEST
    kinds = [e["kind"] for e in (await app.get(f"/downloads/{download_id}/events")).json()]
    assert kinds.count("handed_over") == 2


async def test_a_taken_name_is_numbered_as_haul_numbers_it(
    app: App, daemon: Aria2Daemon, origin: Origin
) -> None:
    """aria2 would save a second clip.bin as clip.1.bin; haul names it clip (1).bin, as the
    built-in engine does, and tells aria2 that name."""
    first, second = os.urandom(20_000), os.urandom(30_000)
    origin.add_file("/a/clip.bin", first)
    origin.add_file("/b/clip.bin", second)
    await add_aria2(app, daemon, prefer_for_files=True)
    names = []
    for path, data in (("/a/clip.bin", first), ("/b/clip.bin", second)):
        made = (await app.post("/downloads", json={"url": origin.url(path)})).json()
        done = await status_is(app, made["id"], "completed", "failed")
        assert done["status"] == "completed" and done["client"] == "aria2", done
        names.append(done["files"][0]["path"])
        assert (app.runtime.settings.downloads_root / names[-1]).read_bytes() == data
    assert names == ["clip.bin", "clip (1).bin"]
