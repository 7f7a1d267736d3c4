"""A big file fetched over several connections by a real `haul serve` that is killed (SIGKILL)
in the middle: started again, it fetches only the ranges that were missing, and leaves the
file whole with nothing beside it (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib
import json
import os
import signal
from pathlib import Path
from typing import Any

from tests.support.origin import Origin
from tests.support.server import HaulServer
from tests.support.wait import wait_for

SIZE = 12 << 20
DATA = os.urandom(SIZE)
PATH = "/films/big.mkv"


def kept_ranges(root: Path) -> list[tuple[int, int]]:
    """The ranges on disk that the work folders below ``root`` keep for a part."""
    for found in root.rglob("*.part.ranges"):
        try:
            return [tuple(span) for span in json.loads(found.read_text())["done"]]  # type: ignore[misc]
        except (OSError, ValueError):
            continue  # being replaced this very moment
    return []


def test_a_killed_server_resumes_only_the_missing_ranges(tmp_path: Path, database_url: str) -> None:
    env = {
        "HAUL_DATABASE_URL": database_url,
        "HAUL_SEGMENT_THRESHOLD": str(4 << 20),
        "HAUL_HEARTBEAT_INTERVAL": "0.5",
        "HAUL_LEASE_TTL": "3",
    }
    with Origin() as origin:
        origin.add_file(PATH, DATA)
        origin.throttle(PATH, 1 << 20)  # per connection: four take about three seconds
        server = HaulServer(tmp_path / "server", env=env).start()
        try:
            created = server.api("POST", "/downloads", json={"url": origin.url(PATH)})
            assert created.status_code == 201, created.text
            download_id = created.json()["id"]

            def half_there() -> list[tuple[int, int]]:
                spans = kept_ranges(server.downloads)
                return spans if len(spans) > 1 and sum(b - a for a, b in spans) > 4 << 20 else []

            on_disk = wait_for(half_there, 30, what="ranges on disk from several connections")
            assert server.proc is not None
            os.kill(server.proc.pid, signal.SIGKILL)
            server.proc.wait(timeout=10)
        finally:
            server.stop()
        assert len({r.range_header for r in origin.requests_for(PATH)}) >= 4
        served_before = origin.bytes_served(PATH)

        origin.throttle(PATH, None)
        again_env = {k: v for k, v in server.env.items() if k != "HAUL_PORT"}
        again = HaulServer(server.data_dir, env=again_env).start()
        try:

            def ended() -> dict[str, Any] | None:
                item: dict[str, Any] = again.api("GET", f"/downloads/{download_id}").json()
                return item if item["status"] in ("completed", "failed") else None

            item = wait_for(ended, 60, what="the download to end after the restart")
        finally:
            again.stop()
    assert item["status"] == "completed", item
    final = again.downloads / item["files"][0]["path"]
    assert hashlib.sha256(final.read_bytes()).digest() == hashlib.sha256(DATA).digest()
    kept = sum(b - a for a, b in on_disk)
    # What was on disk at the kill (and then some) was not fetched again.
    assert origin.bytes_served(PATH) - served_before <= SIZE - kept + (1 << 20)
    leftovers = [p.name for p in again.downloads.rglob("*") if p.is_file() and p != final]
    assert leftovers == [], leftovers
