"""`haul cancel`, `haul retry` and `haul rm` against a real server, on both databases: cancel
keeps the download in view and retry starts it again; removing is its own command, and with
--delete-files leaves no partial data behind."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.origin import Origin
from tests.support.server import HaulServer
from tests.support.wait import wait_for


@pytest.fixture
def server(tmp_path: Path, database_url: str) -> Iterator[HaulServer]:
    srv = HaulServer(tmp_path / "server", env={"HAUL_DATABASE_URL": database_url, "COLUMNS": "200"})
    srv.start()
    try:
        yield srv
    finally:
        srv.kill()


def status_of(server: HaulServer, download_id: int, *wanted: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        item: dict[str, Any] = server.api("GET", f"/downloads/{download_id}").json()
        return item if item["status"] in wanted else None

    return wait_for(check, timeout=60, what=f"download {download_id} to be {' or '.join(wanted)}")


def test_cancel_keeps_the_download_and_retry_starts_it_again(
    server: HaulServer, origin: Origin
) -> None:
    data = os.urandom(2 * 1024 * 1024)
    origin.add_file("/slow.bin", data)
    origin.throttle("/slow.bin", 128 * 1024)
    created = server.api("POST", "/downloads", json={"url": origin.url("/slow.bin")})
    assert created.status_code == 201, created.text
    download_id = created.json()["id"]
    status_of(server, download_id, "downloading")

    canceled = server.cli("cancel", str(download_id))

    assert canceled.returncode == 0, canceled.stderr
    assert canceled.stdout.strip() == f"{download_id}: canceled"
    listed = server.cli("ls")
    assert listed.returncode == 0, listed.stderr
    assert str(download_id) in listed.stdout and "canceled" in listed.stdout
    shown = server.cli("show", str(download_id))
    assert shown.returncode == 0 and "canceled" in shown.stdout
    work = server.downloads / ".haul-work" / str(download_id)
    assert any(work.iterdir())  # partial data kept for the retry

    origin.throttle("/slow.bin", None)
    retried = server.cli("retry", str(download_id))
    assert retried.returncode == 0, retried.stderr
    done = status_of(server, download_id, "completed", "failed")
    assert done["status"] == "completed", done
    finished = server.downloads / done["files"][0]["path"]
    assert finished.read_bytes() == data
    too_late = server.cli("cancel", str(download_id))
    assert too_late.returncode == 1
    assert "it is completed, and only an unfinished download can be canceled" in too_late.stderr

    removed = server.cli("rm", str(download_id), "--delete-files")

    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.strip() == f"{download_id}: removed"
    assert not finished.exists()
    gone = server.cli("show", str(download_id))
    assert gone.returncode == 1 and f"There is no download {download_id}." in gone.stderr


def test_rm_of_a_canceled_download_deletes_its_partial_data(
    server: HaulServer, origin: Origin
) -> None:
    origin.add_file("/slower.bin", os.urandom(2 * 1024 * 1024))
    origin.throttle("/slower.bin", 128 * 1024)
    paused = server.cli("add", "--paused", origin.url("/slower.bin"))
    assert paused.returncode == 0, paused.stderr
    assert paused.stdout.startswith("paused ")
    download_id = int(paused.stdout.split()[1])
    assert server.cli("resume", str(download_id)).returncode == 0
    status_of(server, download_id, "downloading")
    work = server.downloads / ".haul-work" / str(download_id)
    assert server.cli("cancel", str(download_id)).returncode == 0
    assert work.is_dir()

    removed = server.cli("rm", str(download_id), "--delete-files")

    assert removed.returncode == 0, removed.stderr
    assert removed.stdout.strip() == f"{download_id}: removed"
    assert not work.exists()
    assert server.api("GET", f"/downloads/{download_id}").status_code == 404
