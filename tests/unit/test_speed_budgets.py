"""The speed budgets of a process's transfers, on an injected clock: every bucket that
applies holds a transfer, a change reaches running transfers, workers share the global limit,
and the keeper follows the schedule (pause windows included) on an injected wall clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from haul.core.bandwidth import parse_schedule
from haul.engine.bandwidth import Budgets
from haul.engine.base import EngineJob, StopSignal
from haul.engine.ytdlp import _Hooks
from haul.worker.bandwidth import (
    SpeedKeeper,
    SpeedSettings,
    by_owner,
    owner_shares,
    share_of,
)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def seconds_for(budgets: Budgets, clock: Clock, pieces: list[tuple[Any, int]]) -> float:
    """Feed the pieces in turn (throttle, size), waiting what each asks; the time it took."""
    for throttle, size in pieces:
        clock.now += budgets._reserve(throttle._buckets, size)
    return clock.now


def test_one_download_under_its_own_limit() -> None:
    clock = Clock()
    budgets = Budgets(clock=clock)
    throttle = budgets.throttle(1, "alice", rate=1_000_000)
    took = seconds_for(budgets, clock, [(throttle, 100_000)] * 50)  # 5 MB
    assert took == pytest.approx(5.0, rel=0.01)


def test_two_transfers_share_the_global_limit() -> None:
    clock = Clock()
    budgets = Budgets(clock=clock)
    budgets.set_global(1_000_000)
    one, two = budgets.throttle(1, "alice"), budgets.throttle(2, "bob")
    took = seconds_for(budgets, clock, [(one, 100_000), (two, 100_000)] * 20)  # 4 MB
    assert took == pytest.approx(4.0, rel=0.01)


def test_an_owners_transfers_share_the_owners_limit_and_not_anothers() -> None:
    clock = Clock()
    budgets = Budgets(clock=clock)
    budgets.set_owner_limit(500_000)
    one, two = budgets.throttle(1, "alice"), budgets.throttle(2, "alice")
    took = seconds_for(budgets, clock, [(one, 50_000), (two, 50_000)] * 10)  # 1 MB
    assert took == pytest.approx(2.0, rel=0.01)
    other = budgets.throttle(3, "bob")  # his own 500 KB/s, not what Alice's owe
    assert budgets._reserve(other._buckets, 100_000) == pytest.approx(0.2)


def test_a_changed_download_limit_reaches_its_running_transfer() -> None:
    clock = Clock()
    budgets = Budgets(clock=clock)
    throttle = budgets.throttle(1, "alice", rate=100_000)
    assert budgets._reserve(throttle._buckets, 100_000) == pytest.approx(1.0)
    clock.now = 1.0
    budgets.set_download_limit(1, None)
    assert budgets._reserve(throttle._buckets, 10_000_000) == 0.0
    assert budgets.download_limit(1) is None
    throttle.close()
    assert budgets.download_limit(1) is None and not budgets._owners


def test_a_workers_share_follows_its_part_of_the_running_transfers() -> None:
    assert share_of("a", 1, {"a": {"alice": 1}, "b": {"alice": 1, "bob": 2}}) == 0.25
    assert share_of("a", 2, {"a": {"alice": 2}}) == 1.0
    assert share_of("a", 0, {"b": {"bob": 3}}) == 0.25  # an idle worker keeps room for one
    clock = Clock()
    budgets = Budgets(clock=clock)
    budgets.set_global(4_000_000)
    budgets.set_share(0.25)
    throttle = budgets.throttle(1, "alice")
    assert budgets._reserve(throttle._buckets, 1_000_000) == pytest.approx(1.0)


def test_an_owners_limit_is_shared_by_the_workers_running_their_transfers() -> None:
    counts = {"a": {"alice": 1, "bob": 1}, "b": {"alice": 3}}
    assert owner_shares("a", {"alice": 1, "bob": 1}, counts) == {"alice": 0.25, "bob": 1.0}
    assert owner_shares("a", {"carol": 1}, counts) == {"carol": 1.0}  # not counted yet
    # the owner's items on external clients keep to their part there: counted among the others
    external = {"bob": 3}
    assert owner_shares("a", {"bob": 1}, counts, external) == {"bob": 0.25}
    assert by_owner(counts) == {"alice": 4, "bob": 1}
    clock = Clock()
    budgets = Budgets(clock=clock)
    budgets.set_owner_limit(2_000_000)
    alice = budgets.throttle(1, "alice")
    bob = budgets.throttle(2, "bob")
    assert budgets.transfers_by_owner() == {"alice": 1, "bob": 1}
    budgets.set_owner_shares({"alice": 0.25, "nobody": 0.5})
    assert budgets._reserve(alice._buckets, 500_000) == pytest.approx(1.0)  # at 500 KB/s
    assert budgets._reserve(bob._buckets, 2_000_000) == pytest.approx(1.0)  # at 2 MB/s
    budgets.set_owner_limit(4_000_000)  # the part stays, of the new limit
    owner_rates = [t._buckets[1].rate for t in (alice, bob)]
    assert owner_rates == [1_000_000, 4_000_000]


async def test_an_async_transfer_waits_and_a_stop_cuts_the_wait_short() -> None:
    budgets = Budgets()
    throttle = budgets.throttle(1, "alice", rate=10_000)
    stop = StopSignal()
    waiting = asyncio.ensure_future(throttle.take(1_000_000, stop))  # 100 s at 10 KB/s
    await asyncio.sleep(0.05)
    assert not waiting.done()
    stop.set("pause")
    await asyncio.wait_for(waiting, 1)


def test_yt_dlp_waits_in_its_progress_hook_for_what_arrived() -> None:
    taken: list[int] = []

    class Counting:
        async def take(self, n: int, stop: StopSignal | None = None) -> None:
            raise AssertionError("yt-dlp runs in a thread")

        def take_blocking(self, n: int, stop: StopSignal) -> None:
            taken.append(n)

    from pathlib import Path

    job = EngineJob(download_id=1, url="http://x", dest_dir=Path("/tmp"), throttle=Counting())
    hooks = _Hooks(job, lambda _p: None, StopSignal())
    for done in (1000, 5000, 5000, 12000):
        hooks.progress({"status": "downloading", "downloaded_bytes": done, "tmpfilename": "a"})
    hooks.progress({"status": "downloading", "downloaded_bytes": 300, "tmpfilename": "b"})
    assert taken == [1000, 4000, 7000, 300]


def test_the_keeper_sets_the_limit_of_a_window_and_pauses_in_a_pause_window() -> None:
    windows = parse_schedule(
        [
            {"days": ["mon"], "from": "09:00", "to": "17:00", "limit": "1M"},
            {"days": ["mon"], "from": "20:00", "to": "22:00", "pause": True},
        ]
    )
    wall = [datetime(2026, 12, 7, 10, 0, tzinfo=UTC)]  # a Monday
    budgets = Budgets()
    settings = SpeedSettings(4_000_000, 500_000, windows, "UTC")
    keeper = SpeedKeeper(budgets, lambda: settings, now=lambda: wall[0])
    state = keeper.look()
    assert budgets.global_limit == 1_000_000 and budgets.owner_limit == 500_000
    assert state.until == datetime(2026, 12, 7, 17, 0, tzinfo=UTC) and not keeper.paused
    wall[0] += timedelta(hours=8)  # 18:00
    keeper.look()
    assert budgets.global_limit == 4_000_000 and not keeper.paused
    wall[0] += timedelta(hours=3)  # 21:00
    keeper.look()
    assert keeper.paused and keeper.state.until == datetime(2026, 12, 7, 22, 0, tzinfo=UTC)


async def test_the_keeper_tells_when_a_pause_window_begins_and_ends() -> None:
    start = datetime(2026, 12, 7, 19, 59, 59, 900_000, tzinfo=UTC)
    began = asyncio.get_running_loop().time()

    def now() -> datetime:
        return start + timedelta(seconds=asyncio.get_running_loop().time() - began)

    windows = parse_schedule([{"days": ["mon"], "from": "20:00", "to": "20:00", "pause": True}])
    settings = [SpeedSettings(schedule=windows)]
    keeper = SpeedKeeper(Budgets(), lambda: settings[0], now=now)
    told: list[str] = []
    running = asyncio.ensure_future(
        keeper.run(lambda: True, lambda: told.append("paused"), lambda: told.append("resumed"))
    )
    try:
        for _ in range(100):
            if told:
                break
            await asyncio.sleep(0.02)
        assert told == ["paused"]
        settings[0] = SpeedSettings()  # the schedule removed: resumed at once
        keeper.changed()
        for _ in range(100):
            if len(told) == 2:
                break
            await asyncio.sleep(0.02)
        assert told == ["paused", "resumed"]
    finally:
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await running
