"""The periodic job loop: its delays, a failing run, the stop."""

from __future__ import annotations

import asyncio
import logging

import pytest

from haul.periodic import Periodic


class FakeClock:
    """A sleep that returns at once and records the delays asked for."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def sleep(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


async def test_waits_the_first_delay_then_the_interval() -> None:
    clock = FakeClock()
    three = asyncio.Event()
    runs: list[int] = []

    async def job() -> None:
        runs.append(len(runs))
        if len(runs) == 3:
            three.set()

    periodic = Periodic("tick", job, 300.0, first_delay=60.0, sleep=clock.sleep)
    periodic.start()
    await asyncio.wait_for(three.wait(), timeout=5)
    await periodic.stop()
    assert clock.delays[:3] == [60.0, 300.0, 300.0]
    assert not periodic.running


async def test_first_delay_defaults_to_the_interval() -> None:
    clock = FakeClock()
    ran = asyncio.Event()

    async def job() -> None:
        ran.set()

    periodic = Periodic("tick", job, 42.0, sleep=clock.sleep)
    periodic.start()
    await asyncio.wait_for(ran.wait(), timeout=5)
    await periodic.stop()
    assert clock.delays[0] == 42.0


async def test_a_failing_run_is_logged_and_the_next_runs(caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    second = asyncio.Event()
    calls = 0

    async def job() -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("disk gone")
        second.set()

    periodic = Periodic("rescan", job, 1.0, sleep=clock.sleep)
    with caplog.at_level(logging.ERROR, logger="haul.periodic"):
        periodic.start()
        await asyncio.wait_for(second.wait(), timeout=5)
        await periodic.stop()
    assert [r.getMessage() for r in caplog.records] == ["rescan failed"]


async def test_stop_cancels_a_run_in_progress() -> None:
    started = asyncio.Event()
    canceled = asyncio.Event()

    async def job() -> None:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            canceled.set()
            raise

    periodic = Periodic("slow", job, 0.001, first_delay=0)
    periodic.start()
    assert periodic.running
    await asyncio.wait_for(started.wait(), timeout=5)
    await periodic.stop()
    assert canceled.is_set()
    assert not periodic.running


async def test_stop_before_start_does_nothing() -> None:
    async def job() -> None:
        raise AssertionError("never runs")

    await Periodic("idle", job, 1.0).stop()


def test_the_interval_must_be_positive() -> None:
    async def job() -> None:
        return None

    with pytest.raises(ValueError, match="positive"):
        Periodic("never", job, 0)
