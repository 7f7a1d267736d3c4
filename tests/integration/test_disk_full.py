"""The direct-HTTP engine on a small real disk (a tmpfs): a download that does not fit is
refused before it writes, one that fills the disk keeps its part and resumes once there is
room, and transfers that fit are not crowded out; a finished file whose folder is a full disk
waits for room too."""

from __future__ import annotations

import asyncio
import hashlib
import random
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from haul.core.units import size_text
from haul.engine.base import EngineJob, EngineResult, Progress, StopSignal
from haul.engine.http import HttpEngine
from haul.errors import DiskFull
from haul.runtime.seams import JobSeams
from haul.settings import Settings
from haul.worker.context import JobContext
from tests.conftest import App
from tests.support.disks import fill, free, small_disk
from tests.support.origin import Origin
from tests.support.seams import app_with
from tests.support.wait import await_for

MiB = 1 << 20
DISK_MIB = 8


def data(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def sha(blob: bytes) -> str:
    return hashlib.sha256(blob).hexdigest()


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    with small_disk(tmp_path / "disk", DISK_MIB) as where:
        yield where


@pytest.fixture
def origin() -> Iterator[Origin]:
    with Origin() as server:
        yield server


@pytest.fixture
async def engine() -> AsyncIterator[HttpEngine]:
    engine = HttpEngine(connect_timeout=2.0, read_timeout=5.0)
    yield engine
    await engine.aclose()


async def fetch(
    engine: HttpEngine, origin: Origin, path: str, dest: Path, filename: str | None = None
) -> EngineResult:
    job = EngineJob(download_id=1, url=origin.url(path), dest_dir=dest, filename=filename)
    progress: list[Progress] = []
    return await engine.download(job, progress.append, StopSignal())


async def test_a_file_larger_than_the_free_space_is_refused_before_a_byte(
    engine: HttpEngine, origin: Origin, disk: Path
):
    big = data(DISK_MIB * MiB + 1_000_000, 1)
    origin.add_file("/big.bin", big)
    with pytest.raises(DiskFull) as refused:
        await fetch(engine, origin, "/big.bin", disk / "job")
    assert refused.value.needed == len(big)
    assert refused.value.free == free(disk)
    assert not (disk / "job").exists()  # no part, not even an empty one
    assert str(refused.value) == (
        f"Waiting for disk space: {free(disk) / 1e6:.1f} MB free, {len(big) / 1e6:.1f} MB needed."
    )
    assert refused.value.transient and refused.value.code == "disk_full"


async def test_running_transfers_keep_the_room_they_claimed(
    engine: HttpEngine, origin: Origin, disk: Path
):
    first, second = data(5 * MiB, 2), data(5 * MiB, 3)
    origin.add_file("/first.bin", first)
    origin.add_file("/second.bin", second)
    origin.throttle("/first.bin", 2 * MiB)
    running = asyncio.ensure_future(fetch(engine, origin, "/first.bin", disk / "a"))
    await await_for(lambda: (disk / "a" / "first.bin.part").exists(), timeout=5)

    # Alone it would fit; beside what the first still has to write, it does not.
    assert free(disk) > len(second)
    with pytest.raises(DiskFull) as refused:
        await fetch(engine, origin, "/second.bin", disk / "b")
    assert refused.value.needed == len(second)
    assert not (disk / "b").exists()

    origin.throttle("/first.bin", None)
    done = await running
    assert sha(done.files[0].read_bytes()) == sha(first)  # never starved of room
    done.files[0].unlink()  # the user makes room
    again = await fetch(engine, origin, "/second.bin", disk / "b")
    assert sha(again.files[0].read_bytes()) == sha(second)


async def test_a_full_disk_mid_transfer_keeps_the_part_and_resumes(
    engine: HttpEngine, origin: Origin, disk: Path
):
    blob = data(6 * MiB, 4)
    origin.add_file("/stream.bin", blob)
    origin.fault("/stream.bin", "no_length")  # no length announced: nothing to claim
    ballast = fill(disk / "ballast", 4 * MiB)
    with pytest.raises(DiskFull) as full:
        await fetch(engine, origin, "/stream.bin", disk / "job")
    assert full.value.needed is None
    part = disk / "job" / "stream.bin.part"
    kept = part.stat().st_size
    assert 0 < kept < len(blob)
    assert blob[:kept] == part.read_bytes()

    ballast.unlink()
    result = await fetch(engine, origin, "/stream.bin", disk / "job", "stream.bin")
    assert sha(result.files[0].read_bytes()) == sha(blob)
    assert origin.requests[-1].range_header == f"bytes={kept}-"
    assert origin.requests[-1].status == 206


async def waits_for_space(app: App, download_id: int, folder: Path) -> None:
    """Wait until the download waits for space (queued, not failed), saying what is free in
    ``folder`` (where its file goes), with no half copy left there."""

    async def waiting() -> dict[str, Any] | None:
        shown: dict[str, Any] = (await app.get(f"/downloads/{download_id}")).json()
        assert shown["status"] not in ("failed", "completed"), shown
        return shown if (shown["message"] or "").startswith("Waiting for disk space") else None

    shown = await await_for(waiting, 30, what="the download to wait for space")
    assert shown["status"] == "queued" and shown["error"] is None
    assert f" {size_text(free(folder))} free" in shown["message"], "free where it goes"
    assert not list(folder.iterdir()), "no half copy is left in the folder"


def quick_space_recheck(ctx: JobContext) -> JobContext:
    """Downloads waiting for disk space look again every 0.3 s."""
    return replace(ctx, space_recheck=0.3)


async def test_a_full_target_folder_makes_the_finished_file_wait_not_fail(
    settings: Settings, origin: Origin
) -> None:
    async with app_with(settings, JobSeams(context=quick_space_recheck)) as app:
        await a_full_target_folder(app, origin)


async def a_full_target_folder(app: App, origin: Origin) -> None:
    # The profile's folder is another disk mounted inside the download folder: the finished
    # file is copied there, and the copy finds that disk full.
    root = app.runtime.settings.downloads_root
    blob = data(6 * MiB, 5)
    origin.add_file("/film.bin", blob)
    with small_disk(root / "films", 4) as films:
        made = await app.post("/profiles", json={"name": "films", "target_dir": "films"})
        assert made.status_code == 201, made.text
        created = await app.post(
            "/downloads", json={"url": origin.url("/film.bin"), "profile": "films"}
        )
        download_id = created.json()["id"]

        await waits_for_space(app, download_id, films)

        subprocess.run(["mount", "-o", "remount,size=16m", str(films)], check=True)  # room

        async def completed() -> dict[str, Any] | None:
            shown: dict[str, Any] = (await app.get(f"/downloads/{download_id}")).json()
            assert shown["status"] != "failed", shown
            return shown if shown["status"] == "completed" else None

        done = await await_for(completed, 30, what="the download to complete")
        [file] = done["files"]
        assert file["path"] == "films/film.bin"
        assert sha((root / file["path"]).read_bytes()) == sha(blob)
        events = (await app.get(f"/downloads/{download_id}/events")).json()
        kinds = [e["kind"] for e in events]
        assert kinds.count("waiting_for_space") == 1 and "retry_scheduled" not in kinds, kinds
