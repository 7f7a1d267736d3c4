"""A restart of PostgreSQL under a running instance: an API node and a `haul worker` on a
throwaway cluster of the test's own (never the shared server), a throttled transfer running
on the worker. After the restart the API node shows the transfer moving again and an SSE
subscriber receives its progress again, without restarting any haul process."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.origin import Origin
from tests.support.pg import Cluster, fresh_database, throwaway_cluster
from tests.support.server import HaulServer, HaulWorker
from tests.support.sse import EventListener
from tests.support.wait import wait_for


@pytest.fixture
def own_postgres() -> Iterator[Cluster]:
    with throwaway_cluster() as running:
        yield running


def test_live_progress_comes_back_after_postgresql_restarts(
    own_postgres: Cluster, origin: Origin, tmp_path: Path
) -> None:
    data = os.urandom(8 << 20)
    origin.add_file("/slow.bin", data)
    origin.throttle("/slow.bin", 150_000)  # about a minute: it runs through the restart
    with fresh_database(own_postgres.url) as url:
        env = {
            "HAUL_DATABASE_URL": url,
            "HAUL_DATA_DIR": str(tmp_path / "data"),
            "HAUL_DOWNLOAD_DIR": str(tmp_path / "downloads"),
            "HAUL_HEARTBEAT_INTERVAL": "0.5",
            "HAUL_PROGRESS_INTERVAL": "0.25",
        }
        api = HaulServer(tmp_path / "api", env={**env, "HAUL_EMBEDDED_WORKER": "false"})
        worker = HaulWorker(env, tmp_path / "worker.log")
        try:
            api.start()
            worker.start()
            listener = EventListener(api.url, timeout=120).start()
            created = api.api("POST", "/downloads", json={"url": origin.url("/slow.bin")})
            download_id = created.json()["id"]

            def item() -> dict[str, Any]:
                body: dict[str, Any] = api.api("GET", f"/downloads/{download_id}").json()
                return body

            wait_for(
                lambda: item()["status"] == "downloading" and listener.progress(download_id),
                30,
                what="live progress through the API node",
            )
            own_postgres.restart()
            restarted = time.monotonic()
            served = origin.bytes_served("/slow.bin")  # the transfer went on meanwhile

            def moving_again() -> dict[str, Any] | None:
                now = item()
                fresh = (now["downloaded_bytes"] or 0) > served
                return now if now["status"] == "downloading" and fresh else None

            wait_for(moving_again, 30, what="the API node to show the transfer moving again")
            fresh = wait_for(
                lambda: [e for e in listener.progress(download_id) if e["at"] > restarted],
                30,
                what="progress events on the SSE stream after the restart",
            )
            print(f"SSE progress again {fresh[0]['at'] - restarted:.2f} s after the restart")
            origin.throttle("/slow.bin", None)
            wait_for(lambda: item()["status"] == "completed", 60, what="the download to finish")
            done = item()
            on_disk = Path(env["HAUL_DOWNLOAD_DIR"]) / done["files"][0]["path"]
            assert hashlib.sha256(on_disk.read_bytes()).digest() == hashlib.sha256(data).digest()
        finally:
            worker.kill()
            api.kill()
