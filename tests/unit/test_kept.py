"""A small table read once and kept: read again after its time, or at once after a change."""

from __future__ import annotations

import asyncio

import pytest

from haul.store.kept import Kept


class Table:
    def __init__(self) -> None:
        self.value = "first"
        self.reads = 0
        self.gate: asyncio.Event | None = None
        self.fail = False

    async def load(self) -> str:
        self.reads += 1
        value = self.value  # what the database held when the read began
        if self.gate is not None:
            await self.gate.wait()
        if self.fail:
            raise OSError("database gone")
        return value


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_a_value_is_read_once_then_again_after_its_time() -> None:
    table, clock = Table(), Clock()
    kept = Kept(table.load, ttl=5.0, clock=clock)
    assert [await kept.get() for _ in range(3)] == ["first"] * 3
    assert table.reads == 1
    table.value = "second"  # changed by another process
    clock.now += 4.9
    assert await kept.get() == "first"
    clock.now += 0.2
    assert await kept.get() == "second"
    assert table.reads == 2


async def test_forget_reads_again_at_once() -> None:
    table = Table()
    kept = Kept(table.load, clock=Clock())
    assert await kept.get() == "first"
    table.value = "second"
    kept.forget()
    assert await kept.get() == "second"


async def test_callers_at_the_same_time_share_one_read() -> None:
    table = Table()
    table.gate = asyncio.Event()
    kept = Kept(table.load, clock=Clock())
    waiting = [asyncio.create_task(kept.get()) for _ in range(10)]
    await asyncio.sleep(0)
    table.gate.set()
    assert await asyncio.gather(*waiting) == ["first"] * 10
    assert table.reads == 1


async def test_a_read_that_a_change_overtook_is_not_kept() -> None:
    table = Table()
    table.gate = asyncio.Event()
    kept = Kept(table.load, clock=Clock())
    early = asyncio.create_task(kept.get())
    while table.reads == 0:  # until the read has begun (and seen "first")
        await asyncio.sleep(0)
    table.value = "second"
    kept.forget()  # the change commits while that read is under way
    table.gate.set()
    assert await early == "first"  # its caller asked before the change
    assert await kept.get() == "second"


async def test_a_failed_read_fails_its_callers_and_the_next_one_tries_again() -> None:
    table = Table()
    table.fail = True
    kept = Kept(table.load, clock=Clock())
    with pytest.raises(OSError, match="database gone"):
        await kept.get()
    table.fail = False
    assert await kept.get() == "first"
