"""Speed limits through the API and the real HTTP engine, against a loopback origin: a
download's own limit holds its measured rate, a live change of it speeds the running
transfer up, two transfers share the global limit, and a pause window of the schedule holds
a download until the window is gone. Rates are measured from the submit to the completion
(an upper bound on the real time, so the limit's side of each check is exact), with room
below the limit for a loaded machine."""

from __future__ import annotations

import os
import time
from typing import Any

from tests.conftest import App
from tests.support.origin import Origin
from tests.support.wait import await_for

MB = 1_000_000


async def submit(app: App, url: str, **options: Any) -> dict[str, Any]:
    response = await app.post("/downloads", json={"url": url, **options})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def show(app: App, download_id: int) -> dict[str, Any]:
    body: dict[str, Any] = (await app.get(f"/downloads/{download_id}")).json()
    assert body["status"] != "failed", body
    return body


async def until_completed(app: App, *ids: int, timeout: float = 30) -> float:
    """Wait for the downloads to complete; the monotonic time they were seen completed."""

    async def check() -> bool:
        for download_id in ids:
            if (await show(app, download_id))["status"] != "completed":
                return False
        return True

    await await_for(check, timeout, interval=0.02, what=f"downloads {ids} to complete")
    return time.monotonic()


async def configure(app: App, changes: dict[str, Any], status: int = 200) -> dict[str, Any]:
    response = await app.http.patch("/api/v1/config", json=changes)
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    return body


def file_of(origin: Origin, name: str, size: int) -> str:
    origin.add_file(f"/{name}", os.urandom(size))
    return origin.url(f"/{name}")


async def test_a_download_under_its_own_limit_moves_at_that_speed(app: App) -> None:
    with Origin() as origin:
        url = file_of(origin, "limited.bin", 3 * MB)
        began = time.monotonic()
        made = await submit(app, url, speed_limit="1MB/s")
        assert made["speed_limit"] == MB
        ended = await until_completed(app, made["id"])
    rate = 3 * MB / (ended - began)
    assert 0.5 * MB < rate <= 1.1 * MB, f"measured {rate / MB:.2f} MB/s under a 1 MB/s limit"


async def test_a_faster_limit_reaches_the_running_transfer(app: App) -> None:
    with Origin() as origin:
        url = file_of(origin, "sped.bin", 6 * MB)
        began = time.monotonic()
        made = await submit(app, url, speed_limit="500K")

        async def started() -> bool:
            return ((await show(app, made["id"]))["downloaded_bytes"] or 0) >= 300_000

        await await_for(started, 20, what="the transfer to be under way")
        changed = await app.http.patch(
            f"/api/v1/downloads/{made['id']}", json={"speed_limit": "none"}
        )
        assert changed.status_code == 200, changed.text
        assert changed.json()["speed_limit"] is None
        ended = await until_completed(app, made["id"])
    # At 500 KB/s the file takes 12 s; freed after about one, it ends far sooner.
    assert ended - began < 6, f"took {ended - began:.1f} s"
    events = (await app.get(f"/downloads/{made['id']}/events")).json()
    assert any(e["kind"] == "speed_limit" and "no limit" in e["message"] for e in events)


async def test_two_transfers_share_the_global_limit(app: App) -> None:
    listed = await configure(app, {"speed_limit_global": "1M"})
    shown = next(s for s in listed["settings"] if s["key"] == "speed_limit_global")
    assert shown["value"] == MB and shown["source"] == "config"
    with Origin() as origin:
        first_url = file_of(origin, "one.bin", 3 * MB // 2)
        second_url = file_of(origin, "two.bin", 3 * MB // 2)
        began = time.monotonic()
        first = await submit(app, first_url)
        second = await submit(app, second_url)
        ended = await until_completed(app, first["id"], second["id"])
    rate = 3 * MB / (ended - began)
    assert 0.5 * MB < rate <= 1.1 * MB, f"together {rate / MB:.2f} MB/s under a 1 MB/s limit"


async def test_a_pause_window_holds_downloads_until_it_is_gone(app: App) -> None:
    always = [{"from": "00:00", "to": "24:00", "pause": True}]  # every day: it never ends
    await configure(app, {"speed_schedule": always, "speed_timezone": "Europe/Berlin"})
    with Origin() as origin:
        made = await submit(app, file_of(origin, "held.bin", 100_000))

        async def admitted() -> bool:
            return (await show(app, made["id"]))["status"] == "queued"

        await await_for(admitted, 10, what="the download to wait")
        said = (await show(app, made["id"]))["message"]
        assert said == "Waiting: the speed schedule pauses downloads."
        await app.runtime.worker.schedule()  # a pass of the scheduler: it claims nothing
        assert not origin.requests_for("/held.bin"), "a transfer started in a pause window"
        await configure(app, {"speed_schedule": None})
        await until_completed(app, made["id"])


async def test_bad_limits_are_refused_with_a_sentence(app: App) -> None:
    refused = await configure(app, {"speed_limit_global": "fast"}, status=422)
    assert "speed_limit_global" in str(refused)
    assert "2M" in str(refused)
    refused = await configure(app, {"speed_schedule": [{"from": "9", "pause": True}]}, 422)
    assert "window 1" in str(refused)
    refused = await configure(app, {"speed_timezone": "Mars/Olympus"}, status=422)
    assert "IANA" in str(refused)
    bad = await app.post("/downloads", json={"url": "http://127.0.0.1:9/x", "speed_limit": "x"})
    assert bad.status_code == 422 and "speed" in bad.text


async def test_a_pause_window_stops_a_running_transfer_which_resumes_after(app: App) -> None:
    with Origin() as origin:
        made = await submit(app, file_of(origin, "paused.bin", 2 * MB), speed_limit="400K")

        async def moving() -> bool:
            return ((await show(app, made["id"]))["downloaded_bytes"] or 0) >= 200_000

        await await_for(moving, 20, what="the transfer to be under way")
        await configure(app, {"speed_schedule": [{"from": "00:00", "to": "24:00", "pause": True}]})

        async def waiting() -> dict[str, Any] | None:
            item = await show(app, made["id"])
            return item if item["status"] == "queued" else None

        item = await await_for(waiting, 10, what="the transfer to stop and wait")
        assert item["message"] == "Waiting: the speed schedule pauses downloads."
        await configure(app, {"speed_schedule": None, "speed_limit_global": None})
        await app.http.patch(f"/api/v1/downloads/{made['id']}", json={"speed_limit": None})
        await until_completed(app, made["id"])
        gets = [r for r in origin.requests_for("/paused.bin") if r.method == "GET"]
        assert len(gets) == 2 and gets[1].range_header is not None  # resumed, not fetched anew
