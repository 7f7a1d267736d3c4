"""The PostgreSQL event bridge across a restart of PostgreSQL: it connects again by itself,
events flow again both ways, and the process is told to catch up on what it missed. Runs on
a throwaway cluster of its own (never the shared server, which other tests use)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from haul.events.bus import EventBus
from haul.events.pg import Listeners, PgEventBridge
from tests.conftest import App
from tests.support.pg import Cluster, throwaway_cluster
from tests.support.wait import await_for


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    with throwaway_cluster() as running:
        yield running


async def test_events_flow_again_after_postgresql_restarts(cluster: Cluster) -> None:
    caught_up: list[datetime] = []
    woken: list[int] = []

    async def catch_up(since: datetime) -> None:
        caught_up.append(since)

    here, there = EventBus(), EventBus()
    sender = PgEventBridge(cluster.url, here)
    receiver = PgEventBridge(cluster.url, there)
    await sender.start()
    await receiver.start(Listeners(on_wake=lambda: woken.append(1), on_reconnect=catch_up))
    sub = there.subscribe()
    try:
        here.publish("status", 1, "local", step="before")
        got = await sub.get(timeout=10)
        assert got is not None and got.data["step"] == "before"

        restarted_at = datetime.now(UTC)
        await asyncio.to_thread(cluster.restart)
        await await_for(lambda: receiver.reconnections == 1, 30, what="the receiver to reconnect")
        await await_for(lambda: sender.reconnections == 1, 30, what="the sender to reconnect")
        assert caught_up and caught_up[0] < restarted_at  # told to catch up since the loss
        assert woken  # wake-ups sent meanwhile were lost: assume the queue changed

        here.publish("status", 1, "local", step="after")

        async def arrived() -> bool:
            event = await sub.get(timeout=0.2)
            return event is not None and event.data.get("step") == "after"

        await await_for(arrived, 20, what="an event sent after the restart to arrive")
    finally:
        sub.close()
        await receiver.stop()
        await sender.stop()


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
async def test_catching_up_tells_subscribers_what_changed_while_events_were_cut(
    app: App,
) -> None:
    before = datetime.now(UTC) - timedelta(seconds=1)
    kept = await app.post("/downloads", json={"url": "http://example.org/a", "paused": True})
    ended = await app.post("/downloads", json={"url": "http://example.org/b", "paused": True})
    await app.post(f"/downloads/{ended.json()['id']}/cancel", json={})
    after = datetime.now(UTC) + timedelta(seconds=1)
    sub = app.runtime.bus.subscribe()
    try:
        await app.runtime.service.caught_up(after)
        assert await sub.get(timeout=0.2) is None  # nothing changed since then
        await app.runtime.service.caught_up(before)
        told = await sub.get(timeout=5)
        assert told is not None and told.type == "status"
        assert told.download_id == ended.json()["id"] != kept.json()["id"]
        assert told.data["download"]["status"] == "canceled"
        assert await sub.get(timeout=0.2) is None  # the paused one did not change
    finally:
        sub.close()
