"""The direct-HTTP engine on a small real disk (a tmpfs): a download that does not fit is
refused before it writes, one that fills the disk keeps its part and resumes once there is
room, and transfers that fit are not crowded out."""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from haul.engine.base import EngineJob, EngineResult, Progress, StopSignal
from haul.engine.http import HttpEngine
from haul.errors import DiskFull
from tests.support.disks import fill, free, small_disk
from tests.support.origin import Origin
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
