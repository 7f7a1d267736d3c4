"""Part files written behind the loop: order, gathering, errors, and closing on every way out."""

from __future__ import annotations

import asyncio
import os
import random
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from haul.engine.writebehind import WriteBehind
from tests.support.wait import await_for


@pytest.fixture
def writer() -> Iterator[WriteBehind]:
    behind = WriteBehind()
    yield behind
    behind.close()


async def test_pieces_land_in_order_and_the_file_is_closed(
    writer: WriteBehind, tmp_path: Path
) -> None:
    pieces = [random.Random(n).randbytes(size) for n, size in enumerate([10, 300_000, 5, 70_000])]
    part = tmp_path / "a.part"
    part.write_bytes(b"kept")
    file = part.open("r+b", buffering=0)
    file.seek(4)  # a resume: the new bytes follow what is there
    sink = writer.sink(file)
    for piece in pieces:
        sink.write(piece)
    await sink.drain()
    assert file.closed
    assert part.read_bytes() == b"kept" + b"".join(pieces)


async def test_small_pieces_are_gathered_until_a_flush(writer: WriteBehind, tmp_path: Path) -> None:
    part = tmp_path / "b.part"
    sink = writer.sink(part.open("wb", buffering=0))
    sink.write(b"x" * 100)
    sink.write(b"y" * 100)
    assert not sink.behind() and part.stat().st_size == 0  # gathered, not handed over
    sink.flush()  # as at a progress report
    await await_for(lambda: part.stat().st_size == 200, 5, what="the flushed bytes on disk")
    await sink.drain()
    assert part.read_bytes() == b"x" * 100 + b"y" * 100


async def test_a_failed_write_is_raised_and_the_file_still_closed(
    writer: WriteBehind, tmp_path: Path
) -> None:
    part = tmp_path / "c.part"
    part.write_bytes(b"")
    file = os.fdopen(os.open(part, os.O_RDONLY), "rb", buffering=0)  # every write fails
    sink = writer.sink(file)
    sink.write(b"y" * 100_000)
    with pytest.raises(OSError):
        await sink.drain()
    assert file.closed
    with pytest.raises(OSError):
        sink.write(b"more")  # the error stays


async def test_a_cancelled_drain_returns_only_once_the_file_is_closed(
    writer: WriteBehind, tmp_path: Path
) -> None:
    part = tmp_path / "d.part"
    file = part.open("wb", buffering=0)
    sink = writer.sink(file)
    for _ in range(64):
        sink.write(os.urandom(256 << 10))
    draining = asyncio.create_task(sink.drain())
    await asyncio.sleep(0)
    draining.cancel()
    with pytest.raises(asyncio.CancelledError):
        await draining
    assert file.closed
    assert part.stat().st_size == 64 * (256 << 10)


async def test_a_transfer_far_ahead_of_the_disk_waits(writer: WriteBehind, tmp_path: Path) -> None:
    sink = writer.sink((tmp_path / "e.part").open("wb", buffering=0))
    for _ in range(32):
        sink.write(os.urandom(256 << 10))
        if sink.behind():
            await sink.settle()
            assert not sink.behind()
    await sink.drain()
    assert (tmp_path / "e.part").stat().st_size == 32 * (256 << 10)


async def test_files_share_a_bound_so_many_transfers_hold_little(writer: WriteBehind) -> None:
    """Each file may have 4 MiB waiting for the disk, or its share of 48 MiB when many are
    open: sixteen transfers over a "disk" that takes nothing are told to settle at 3 MiB each,
    so a slow disk costs a bounded amount of memory however many transfers run."""
    assert writer.share() == 4 << 20
    pipes = [os.pipe() for _ in range(16)]  # a "disk" that takes nothing until read
    sinks = [writer.sink(os.fdopen(w, "wb", buffering=0)) for _, w in pipes]
    assert writer.open_files == 16 and writer.share() == 3 << 20
    piece = b"z" * (3 << 20)
    for sink in sinks:
        sink.write(piece)
    assert not any(sink.behind() for sink in sinks)  # exactly its share
    for sink in sinks:
        sink.write(b"z" * (256 << 10))
    assert all(sink.behind() for sink in sinks)  # over it, though under 4 MiB
    got = [0] * len(pipes)

    def read_all(n: int) -> None:
        while chunk := os.read(pipes[n][0], 1 << 20):
            got[n] += len(chunk)

    readers = [threading.Thread(target=read_all, args=(n,)) for n in range(len(pipes))]
    for reader in readers:
        reader.start()
    await asyncio.wait_for(asyncio.gather(*(sink.settle() for sink in sinks)), 30)
    assert not any(sink.behind() for sink in sinks)
    for sink in sinks:
        await sink.drain()  # closes the write ends: the readers see the end
    assert writer.open_files == 0 and writer.share() == 4 << 20
    for reader in readers:
        reader.join(30)
    assert got == [len(piece) + (256 << 10)] * 16
    for r, _ in pipes:
        os.close(r)
