"""The subscription checker's decisions over the in-memory store: what a check downloads, how
a failure backs off and is shown, how many checks run at once, what keep_last lets go."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from haul.core.subscriptions import SLOW_FILTER, Entry, Rules
from haul.errors import PermanentTransferError
from haul.store.memory_subscriptions import MemorySubscriptionStore
from haul.store.subscriptions import Due
from haul.worker.subscriptions import Checker, CheckerConfig, Listing, Outcome, Telling

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


class Channel:
    """A listing the test changes, and a lister that can be held in the middle of a check."""

    def __init__(self, *keys: str) -> None:
        self.keys = list(keys)
        self.calls = 0
        self.fail: Exception | None = None
        self.hold: asyncio.Event | None = None
        self.entered = asyncio.Event()

    async def __call__(self, sub: Due) -> Listing:
        self.calls += 1
        self.entered.set()
        if self.hold is not None:
            await self.hold.wait()
        if self.fail is not None:
            raise self.fail
        listed = [Entry(k, f"https://videos.example/{k}", title=k) for k in self.keys]
        return Listing("playlist", "A channel", listed)


def checker(
    store: MemorySubscriptionStore, channel: Channel, **config: object
) -> tuple[Checker, list[Outcome]]:
    told: list[Outcome] = []

    async def tell(sub: Due, outcome: Outcome) -> None:
        told.append(outcome)

    made = Checker(
        store,
        channel,
        worker_id="w1",
        config=CheckerConfig(jitter=0, **config),  # type: ignore[arg-type]
        telling=Telling(told=tell),
        rng=random.Random(3),
        clock=lambda: NOW,
    )
    return made, told


async def test_backfill_all_then_only_what_is_new() -> None:
    store = MemorySubscriptionStore()
    sub = store.add("alice", "https://videos.example/c", rules=Rules("all"), next_check_at=NOW)
    channel = Channel("b", "a")
    check, told = checker(store, channel)
    first = await check.check_now(sub)
    assert first is not None and len(first.downloads) == 2 and first.error is None
    channel.keys.insert(0, "c")
    second = await check.check_now(sub)
    assert second is not None and len(second.downloads) == 1
    third = await check.check_now(sub)
    assert third is not None and third.downloads == []
    assert sorted(k for _, k in store.downloads.values()) == ["a", "b", "c"]
    assert [len(o.downloads) for o in told] == [2, 1, 0]
    state = store.subscriptions[sub]
    assert state.due.title == "A channel" and state.due.primed
    assert state.next_check_at >= NOW + timedelta(minutes=60)
    assert state.lease_worker_id is None


async def test_a_failed_check_is_shown_and_backs_off() -> None:
    store = MemorySubscriptionStore()
    sub = store.add("alice", "https://videos.example/c", next_check_at=NOW)
    channel = Channel("a")
    channel.fail = PermanentTransferError("The server answered 503 Service Unavailable.")
    check, told = checker(store, channel)
    waits = []
    for _ in range(3):
        outcome = await check.check_now(sub)
        assert outcome is not None and outcome.error == channel.fail.message
        waits.append(store.subscriptions[sub].next_check_at - NOW)
    assert store.subscriptions[sub].last_error == channel.fail.message
    assert store.subscriptions[sub].due.failures == 3
    assert waits[0] < waits[1] < waits[2] < timedelta(minutes=10)
    channel.fail = None
    assert (await check.check_now(sub)) is not None
    state = store.subscriptions[sub]
    assert state.last_error is None and state.due.failures == 0
    assert [o.error is None for o in told] == [False, False, False, True]


async def test_a_pass_checks_what_is_due_a_few_at_once() -> None:
    store = MemorySubscriptionStore()
    due = [store.add("alice", f"https://v.example/{i}", next_check_at=NOW) for i in range(5)]
    store.add("alice", "https://v.example/later", next_check_at=NOW + timedelta(hours=1))
    store.add("alice", "https://v.example/paused", next_check_at=NOW, paused=True)
    channel = Channel("a")
    channel.hold = asyncio.Event()
    check, _ = checker(store, channel, at_once=2)
    assert await check.run_pass() == 2
    assert await check.run_pass() == 0  # no room: two run already
    await channel.entered.wait()
    channel.hold.set()
    await check.wait_idle()
    assert await check.run_pass() == 2
    await check.wait_idle()
    assert await check.run_pass() == 1
    await check.wait_idle()
    assert await check.run_pass() == 0
    assert all(store.subscriptions[i].last_checked_at == NOW for i in due)


async def test_a_check_stopped_midway_gives_its_subscription_back() -> None:
    store = MemorySubscriptionStore()
    sub = store.add("alice", "https://videos.example/c", rules=Rules("all"), next_check_at=NOW)
    channel = Channel("a")
    channel.hold = asyncio.Event()
    check, _ = checker(store, channel)
    assert await check.run_pass() == 1
    await channel.entered.wait()
    await check.stop()
    assert store.subscriptions[sub].lease_worker_id is None
    assert store.entries == {}  # nothing recorded, nothing downloaded
    channel.hold.set()
    assert await check.check_now(sub) is not None
    assert len(store.downloads) == 1


async def test_links_haul_refuses_are_remembered_never_downloaded() -> None:
    store = MemorySubscriptionStore()
    sub = store.add("alice", "https://videos.example/c", rules=Rules("all"), next_check_at=NOW)

    async def lister(_: Due) -> Listing:
        return Listing(
            "feed",
            None,
            [
                Entry("ok", "https://media.example/ep.mp3"),
                Entry("meta", "http://169.254.169.254/latest/"),
                Entry("file", "file:///etc/passwd"),
            ],
        )

    check = Checker(store, lister, worker_id="w1", config=CheckerConfig(jitter=0))
    outcome = await check.check_now(sub)
    assert outcome is not None and len(outcome.downloads) == 1 and outcome.remembered == 2
    skipped = {k: e.skipped for (_, k), e in store.entries.items()}
    assert skipped == {"ok": None, "meta": "refused", "file": "refused"}


async def test_keep_last_lets_the_oldest_files_go() -> None:
    store = MemorySubscriptionStore()
    sub = store.add("alice", "https://videos.example/c", rules=Rules("all"), next_check_at=NOW)
    store.subscriptions[sub].due = Due(
        sub, "alice", "https://videos.example/c", "playlist", 60, Rules("all"), keep_last=2
    )
    pruned: list[list[int]] = []

    async def prune(_: Due, ids: list[int]) -> None:
        pruned.append(ids)

    moments = iter(NOW + timedelta(minutes=i) for i in range(10))
    channel = Channel("a")
    check = Checker(
        store,
        channel,
        worker_id="w1",
        config=CheckerConfig(jitter=0),
        telling=Telling(prune=prune),
        clock=lambda: next(moments),
    )
    for key in ("b", "c"):
        outcome = await check.check_now(sub)
        assert outcome is not None
        for download_id in outcome.downloads:
            store.complete(download_id)
        channel.keys.insert(0, key)
    await check.check_now(sub)
    for download_id in list(store.downloads):
        store.complete(download_id)
    await check.check_now(sub)
    assert pruned[-1] == [1]  # "a", seen first, goes; the newest two stay


async def test_prepare_readies_only_what_is_downloaded() -> None:
    store = MemorySubscriptionStore()
    sub = store.add("alice", "iptv://1/series/9", kind="iptv_series", next_check_at=NOW)
    channel = Channel("e2", "e1")
    prepared: list[Sequence[str]] = []

    async def prepare(_: Due, chosen: Sequence[Entry]) -> Sequence[Entry]:
        prepared.append([e.key for e in chosen])
        return chosen

    forgotten: list[int] = []
    check = Checker(
        store,
        channel,
        worker_id="w1",
        config=CheckerConfig(jitter=0),
        prepare=prepare,
        forget=lambda due: forgotten.append(due.id),
    )
    await check.check_now(sub)  # backfill none: nothing to ready
    channel.keys.insert(0, "e3")
    await check.check_now(sub)
    assert prepared == [["e3"]]
    channel.fail = PermanentTransferError("The provider refused.")
    await check.check_now(sub)
    assert forgotten == [sub] * 3  # what a listing kept goes with every check, failed or not


async def test_a_title_filter_too_slow_is_shown_on_its_subscription() -> None:
    store = MemorySubscriptionStore()
    rules = Rules("all", title_filter=r"(a|aa)+$")
    sub = store.add("alice", "https://videos.example/c", rules=rules, next_check_at=NOW)
    channel = Channel(*(f"{'a' * 40}!{i}" for i in range(30)))
    check, _ = checker(store, channel)
    done = await check.check_now(sub)
    assert done is not None and done.downloads == [] and done.error is None
    assert store.subscriptions[sub].last_error == SLOW_FILTER
    channel.keys = ["aaaa"]  # titles it finishes with: the check is clean again
    again = await check.check_now(sub)
    assert again is not None and len(again.downloads) == 1
    assert store.subscriptions[sub].last_error is None
