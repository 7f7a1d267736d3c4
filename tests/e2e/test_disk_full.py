"""A real `haul serve` whose download folder is a small disk (a tmpfs): downloads that fit
finish, one that does not waits for space with a message (queued, no retry spent) and
finishes once the user frees room; one that fills the disk mid-transfer keeps its part and
resumes. The database lies elsewhere (a media disk fills up) or on the same disk (the default
layout)."""

from __future__ import annotations

import contextlib
import hashlib
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.disks import fill, small_disk
from tests.support.origin import Origin
from tests.support.server import HaulServer
from tests.support.wait import wait_for

MiB = 1 << 20
SMALL = 4_000_000
BIG = 20_000_000  # more than is free while the ballast lies there, less than after
DISK_MIB = 48


def sha(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


@contextlib.contextmanager
def serving(data_dir: Path, env: dict[str, str]) -> Iterator[HaulServer]:
    srv = HaulServer(data_dir, env=env)
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def disk_server(tmp_path: Path, database_url: str) -> Iterator[HaulServer]:
    """The downloads on the small disk, the database elsewhere (SQLite, PostgreSQL)."""
    with small_disk(tmp_path / "media", DISK_MIB) as media:
        env = {"HAUL_DOWNLOAD_DIR": str(media), "HAUL_DATABASE_URL": database_url}
        with serving(tmp_path / "server", env) as srv:
            yield srv


@pytest.fixture
def default_layout_server(tmp_path: Path) -> Iterator[HaulServer]:
    """The default layout: the data folder (SQLite) holds the downloads, on the small disk."""
    with small_disk(tmp_path / "data", DISK_MIB) as data, serving(data, {}) as srv:
        yield srv


def add(server: HaulServer, url: str) -> int:
    created = server.api("POST", "/downloads", json={"url": url})
    assert created.status_code == 201, created.text
    download_id: int = created.json()["id"]
    return download_id


def show(server: HaulServer, download_id: int) -> dict[str, Any]:
    body: dict[str, Any] = server.api("GET", f"/downloads/{download_id}").json()
    return body


def until(server: HaulServer, download_id: int, status: str, timeout: float = 60) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        shown = show(server, download_id)
        assert shown["status"] != "failed", shown
        return shown if shown["status"] == status else None

    return wait_for(reached, timeout, 0.1, what=f"download {download_id} to be {status}")


def waiting(server: HaulServer, download_id: int) -> dict[str, Any]:
    def says_so() -> dict[str, Any] | None:
        shown = show(server, download_id)
        assert shown["status"] in ("queued", "resolving", "downloading"), shown
        message = shown.get("message") or ""
        return shown if message.startswith("Waiting for disk space: ") else None

    return wait_for(says_so, 60, 0.1, what=f"download {download_id} to wait for space")


def history(server: HaulServer, download_id: int) -> list[str]:
    events = server.api("GET", f"/downloads/{download_id}/events").json()
    return [e["kind"] for e in events]


def test_full_disk_downloads_that_fit_finish_and_the_rest_wait_for_space(
    disk_server: HaulServer, origin: Origin
) -> None:
    fill_then_free(disk_server, origin)


def test_full_disk_under_the_database_too(
    default_layout_server: HaulServer, origin: Origin
) -> None:
    # A part that fills the disk gives a little back, so SQLite can record the wait.
    fill_then_free(default_layout_server, origin)


def fill_then_free(server: HaulServer, origin: Origin) -> None:
    """Three small downloads and a big one onto a disk with room for the small ones only; a
    fifth of unknown length that fills it; then the user frees room."""
    media = server.downloads
    media.mkdir(parents=True, exist_ok=True)
    ballast = fill(media / "old film.mkv", 30 * MiB)  # the user's own files
    rng = random.Random(15)
    smalls = [rng.randbytes(SMALL) for _ in range(3)]
    big = rng.randbytes(BIG)
    for n, blob in enumerate(smalls):
        origin.add_file(f"/small{n}.bin", blob)
    origin.add_file("/big.bin", big)

    big_id = add(server, origin.url("/big.bin"))
    small_ids = [add(server, origin.url(f"/small{n}.bin")) for n in range(3)]

    for download_id, blob in zip(small_ids, smalls, strict=True):
        done = until(server, download_id, "completed")
        [file] = done["files"]
        assert sha((media / file["path"]).read_bytes()) == sha(blob)
    shown = waiting(server, big_id)
    assert shown["status"] == "queued"
    assert shown["message"].endswith(", 20.0 MB needed.")
    assert shown["error"] is None  # a state, not a failure
    assert shown["retry_at"] is not None  # when it looks again

    # One more that does not say its length: it writes until the disk is full, then waits.
    stream = rng.randbytes(9_000_000)
    origin.add_file("/stream.bin", stream)
    origin.fault("/stream.bin", "no_length")
    stream_id = add(server, origin.url("/stream.bin"))
    assert waiting(server, stream_id)["status"] == "queued"
    [part] = (media / ".haul-work" / str(stream_id)).glob("*.part")
    kept = part.stat().st_size
    assert 0 < kept < len(stream)

    ballast.unlink()  # room at last
    for download_id, blob in ((big_id, big), (stream_id, stream)):
        done = until(server, download_id, "completed", timeout=90)
        [file] = done["files"]
        assert sha((media / file["path"]).read_bytes()) == sha(blob)
        kinds = history(server, download_id)
        assert kinds.count("waiting_for_space") == 1, kinds
        assert "retry_scheduled" not in kinds and "failed" not in kinds, kinds
    assert origin.requests_for("/stream.bin")[-1].range_header == f"bytes={kept}-"
    assert not list((media / ".haul-work").glob("*/*")), "no part or work file left behind"
    names = sorted(p.name for p in media.iterdir() if p.is_file())
    assert names == ["big.bin", "small0.bin", "small1.bin", "small2.bin", "stream.bin"]
