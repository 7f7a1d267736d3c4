"""The subscription store's behaviour, the same in memory, on SQLite and on PostgreSQL: leases
taken once, and every entry one download at most however many checks record it at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Protocol

import pytest
from sqlalchemy import func, select

from haul.core.status import Phase
from haul.core.subscriptions import Decision, Entry, Plan, Rules
from haul.store.database import Database
from haul.store.memory_subscriptions import MemorySubscriptionStore
from haul.store.migrate import upgrade
from haul.store.models import Download, Subscription, SubscriptionEntry, User, utcnow
from haul.store.sql_subscriptions import SqlSubscriptionStore
from haul.store.subscriptions import Checked, SubscriptionStore

LEASE = timedelta(minutes=5)


class Subs(Protocol):
    @property
    def store(self) -> SubscriptionStore: ...

    async def add(self, **fields: Any) -> int: ...

    async def downloads(self) -> int: ...

    async def complete(self, download_id: int) -> None: ...

    async def disable_owner(self, sub: int) -> None: ...


@dataclass
class MemorySubs:
    store: MemorySubscriptionStore

    async def add(self, **fields: Any) -> int:
        rules = Rules(backfill=fields.pop("backfill", "none"))
        return self.store.add("alice", "https://videos.example/c", rules=rules, **fields)

    async def downloads(self) -> int:
        return len(self.store.downloads)

    async def complete(self, download_id: int) -> None:
        self.store.complete(download_id)

    async def disable_owner(self, sub: int) -> None:
        stored = self.store.subscriptions[sub]
        stored.due = replace(stored.due, owner_key=f"user:{sub}")
        self.store.disabled.add(f"user:{sub}")


@dataclass
class SqlSubs:
    store: SqlSubscriptionStore
    db: Database

    async def add(self, **fields: Any) -> int:
        async with self.db.write() as s:
            row = Subscription(
                owner_key="alice",
                url="https://videos.example/c",
                kind="playlist",
                interval_minutes=60,
                backfill=fields.pop("backfill", "none"),
                paused=fields.pop("paused", False),
                primed=False,
                failures=0,
                next_check_at=fields.pop("next_check_at", utcnow()),
                **fields,
            )
            s.add(row)
            await s.flush()
            return row.id

    async def downloads(self) -> int:
        async with self.db.read() as s:
            return int(await s.scalar(select(func.count()).select_from(Download)) or 0)

    async def complete(self, download_id: int) -> None:
        async with self.db.write() as s:
            row = await s.get(Download, download_id)
            assert row is not None
            row.phase = Phase.COMPLETED.value

    async def disable_owner(self, sub: int) -> None:
        async with self.db.write() as s:
            user = User(username=f"owner-of-{sub}", role="user", disabled=True)
            s.add(user)
            await s.flush()
            row = await s.get(Subscription, sub)
            assert row is not None
            row.user_id = user.id
            row.owner_key = f"user:{user.id}"


@pytest.fixture
async def subs(store_url: str | None) -> AsyncIterator[Subs]:
    if store_url is None:
        yield MemorySubs(MemorySubscriptionStore())
        return
    await asyncio.to_thread(upgrade, store_url)
    db = Database(store_url)
    try:
        yield SqlSubs(SqlSubscriptionStore(db), db)
    finally:
        await db.dispose()


def checked(sub: int, worker: str, *keys: str, skipped: tuple[str, ...] = ()) -> Checked:
    now = utcnow()
    decisions = [Decision(Entry(k, f"https://videos.example/{k}", title=k)) for k in keys]
    decisions += [Decision(Entry(k, f"https://videos.example/{k}"), "backfill") for k in skipped]
    return Checked(
        subscription_id=sub,
        worker_id=worker,
        plan=Plan(tuple(decisions)),
        kind="playlist",
        title="A channel",
        at=now,
        next_at=now + timedelta(hours=1),
    )


async def test_a_due_subscription_is_leased_to_one_worker_until_its_lease_runs_out(
    subs: Subs,
) -> None:
    now = utcnow()
    sub = await subs.add(next_check_at=now - timedelta(seconds=1))
    await subs.add(next_check_at=now + timedelta(hours=1))  # not due
    await subs.add(next_check_at=now - timedelta(hours=1), paused=True)
    taken = await subs.store.claim_due("w1", 10, now, LEASE)
    assert [d.id for d in taken] == [sub]
    assert taken[0].url == "https://videos.example/c" and not taken[0].primed
    assert await subs.store.claim_due("w2", 10, now, LEASE) == []
    later = now + LEASE + timedelta(seconds=1)  # w1 died: its lease ran out
    assert [d.id for d in await subs.store.claim_due("w2", 10, later, LEASE)] == [sub]


async def test_check_now_takes_one_subscription_due_or_not_but_never_a_leased_one(
    subs: Subs,
) -> None:
    now = utcnow()
    sub = await subs.add(next_check_at=now + timedelta(hours=1))
    assert [d.id for d in await subs.store.claim_due("w1", 1, now, LEASE, only=sub)] == [sub]
    assert await subs.store.claim_due("w2", 1, now, LEASE, only=sub) == []
    await subs.store.release(sub, "w2")  # not w2's: stays w1's
    assert await subs.store.claim_due("w2", 1, now, LEASE, only=sub) == []
    await subs.store.release(sub, "w1")
    assert [d.id for d in await subs.store.claim_due("w2", 1, now, LEASE, only=sub)] == [sub]


async def test_an_entry_recorded_twice_is_one_download(subs: Subs) -> None:
    sub = await subs.add()
    first = await subs.store.record(checked(sub, "w1", "a", "b", skipped=("old",)))
    assert len(first.downloads) == 2 and first.remembered == 1
    assert await subs.store.seen(sub, ["a", "b", "old", "new"]) == {"a", "b", "old"}
    again = await subs.store.record(checked(sub, "w2", "a", "b", "c", skipped=("old",)))
    assert len(again.downloads) == 1 and again.remembered == 0
    assert await subs.downloads() == 3
    taken = await subs.store.claim_due("w3", 1, utcnow(), LEASE, only=sub)
    assert taken[0].primed and taken[0].failures == 0 and taken[0].title == "A channel"


async def test_checks_recording_at_the_same_moment_make_each_entry_once(subs: Subs) -> None:
    sub = await subs.add()
    keys = [f"e{i}" for i in range(40)]
    results = await asyncio.gather(
        *(subs.store.record(checked(sub, f"w{n}", *keys)) for n in range(4))
    )
    assert sum(len(r.downloads) for r in results) == 40
    assert await subs.downloads() == 40


async def test_a_failure_is_kept_counted_and_cleared_by_the_next_check(subs: Subs) -> None:
    sub = await subs.add()
    now = utcnow()
    await subs.store.claim_due("w1", 1, now, LEASE)
    await subs.store.failed(sub, "w1", "The server answered 503.", now, now + timedelta(minutes=1))
    await subs.store.claim_due("w1", 1, now, LEASE, only=sub)
    await subs.store.failed(sub, "w1", "The server answered 503.", now, now + timedelta(minutes=2))
    assert await subs.store.claim_due("w1", 1, now, LEASE) == []  # backing off
    later = now + timedelta(minutes=3)
    taken = await subs.store.claim_due("w1", 1, later, LEASE)
    assert [t.failures for t in taken] == [2]
    await subs.store.record(checked(sub, "w1", "a"))
    taken = await subs.store.claim_due("w1", 1, later, LEASE, only=sub)
    assert taken[0].failures == 0


async def test_a_disabled_accounts_subscriptions_are_not_checked(subs: Subs) -> None:
    now = utcnow()
    theirs = await subs.add(next_check_at=now - timedelta(minutes=1))
    other = await subs.add(next_check_at=now - timedelta(minutes=1))
    await subs.disable_owner(theirs)
    assert [d.id for d in await subs.store.claim_due("w1", 10, now, LEASE)] == [other]
    assert await subs.store.claim_due("w1", 1, now, LEASE, only=theirs) == []


async def test_a_stale_workers_failure_does_not_overwrite_a_newer_check(subs: Subs) -> None:
    sub = await subs.add()
    now = utcnow()
    await subs.store.claim_due("w1", 1, now, LEASE)
    later = now + LEASE + timedelta(seconds=1)  # w1 stalled: its lease ran out
    assert [d.id for d in await subs.store.claim_due("w2", 1, later, LEASE)] == [sub]
    await subs.store.record(checked(sub, "w2", "a"))
    await subs.store.failed(sub, "w1", "The listing did not answer in time.", later, later)
    taken = await subs.store.claim_due("w3", 1, later, LEASE, only=sub)
    assert taken[0].failures == 0 and taken[0].primed
    assert await subs.store.claim_due("w3", 1, later, LEASE) == []  # not due: w2's schedule


async def test_kept_lists_the_completed_downloads_of_the_subscription(subs: Subs) -> None:
    sub = await subs.add()
    made = (await subs.store.record(checked(sub, "w1", "a", "b"))).downloads
    assert await subs.store.kept(sub) == []
    await subs.complete(made[0])
    assert [i for i, _, _ in await subs.store.kept(sub)] == [made[0]]


async def test_a_deleted_subscription_records_nothing(subs: Subs) -> None:
    if isinstance(subs, MemorySubs):
        sub = await subs.add()
        del subs.store.subscriptions[sub]
    else:
        assert isinstance(subs, SqlSubs)
        sub = await subs.add()
        async with subs.db.write() as s:
            row = await s.get(Subscription, sub)
            await s.delete(row)
    done = await subs.store.record(checked(sub, "w1", "a"))
    assert done.downloads == [] and await subs.downloads() == 0
    if isinstance(subs, SqlSubs):
        async with subs.db.read() as s:
            assert await s.scalar(select(func.count()).select_from(SubscriptionEntry)) == 0


@pytest.mark.parametrize(  # the memory store makes no download rows
    "store_url", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
async def test_an_entry_taken_by_its_place_keeps_its_id_for_its_download(subs: Subs) -> None:
    assert isinstance(subs, SqlSubs)
    sub = await subs.add()
    now = utcnow()
    entry = Entry("Generic:v2", "https://videos.example/c", playlist_index=2, entry_id="v2")
    made = await subs.store.record(
        Checked(sub, "w1", Plan((Decision(entry),)), "playlist", None, now, now)
    )
    async with subs.db.read() as s:
        row = await s.get(Download, made.downloads[0])
    assert row is not None and row.playlist_index == 2
    assert row.meta["playlist_entry_id"] == "v2"
