"""A live recording survives a crash of `haul serve` (kill -9), on both databases: the next
start takes the job up again and appends to what was recorded; `haul stop` then keeps one
playable file of it all."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import pytest

from tests.support import media
from tests.support.live_hls import SEGMENT_SECONDS, LiveChannel
from tests.support.server import HaulServer
from tests.support.wait import wait_for


@pytest.fixture(scope="module")
def segments(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("live")
    media.make_hls(folder, seconds=60)  # thirty 2 s segments
    return folder


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[HaulServer]:
    srv = HaulServer(tmp_path / "server", env={"HAUL_DATABASE_URL": database_url, "COLUMNS": "200"})
    srv.start()
    try:
        yield srv
    finally:
        srv.kill()


def shown(server: HaulServer, download_id: int) -> dict[str, Any]:
    item: dict[str, Any] = server.api("GET", f"/downloads/{download_id}").json()
    return item


def recording(server: HaulServer, download_id: int, more_than: float) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        item = shown(server, download_id)
        assert item["status"] not in ("completed", "failed", "canceled"), item
        seconds = item.get("recorded_seconds") or 0
        return item if item["status"] == "downloading" and seconds > more_than else None

    return wait_for(check, 60, what=f"more than {more_than} s recorded")


def test_a_recording_goes_on_after_a_crash_and_stop_keeps_it_all(
    server: HaulServer, segments: Path
) -> None:
    with LiveChannel(segments, interval=1.0) as channel:
        created = server.api("POST", "/downloads", json={"url": channel.url})
        assert created.status_code == 201, created.text
        download_id = created.json()["id"]
        before = recording(server, download_id, 2 * SEGMENT_SECONDS)["recorded_seconds"]

        server.kill()
        partial = server.downloads / ".haul-work" / str(download_id) / "live.ts"
        assert partial.stat().st_size > 0
        server.start()

        after = recording(server, download_id, before + SEGMENT_SECONDS)
        assert after["live"] is True
        cli = server.cli("stop", str(download_id))
        assert cli.returncode == 0, cli.stderr
        assert "recording stopped" in cli.stdout

        def done() -> dict[str, Any] | None:
            item = shown(server, download_id)
            return item if item["status"] in ("completed", "failed", "canceled") else None

        item = wait_for(done, 60, what="the recording to be finished")
        served = len(channel.served)
    assert item["status"] == "completed", item
    assert served < len(channel.segments)
    path = server.downloads / item["files"][0]["path"]
    with av.open(str(path)) as container:
        assert container.duration is not None
        seconds = container.duration / 1_000_000
        assert sum(1 for _ in container.decode(video=0)) > 0
    # Nothing recorded twice, nothing lost: the playlist kept every segment meanwhile.
    assert abs(seconds - served * SEGMENT_SECONDS) <= SEGMENT_SECONDS + 0.5, (seconds, served)
    events = server.api("GET", f"/downloads/{download_id}/events").json()
    kinds = [e["kind"] for e in events]
    assert "resumed" in kinds and "stop_requested" in kinds
