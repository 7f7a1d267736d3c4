from haul.events.bus import EventBus


async def test_subscribers_get_only_their_channels() -> None:
    bus = EventBus()
    mine = bus.subscribe(["download.1"])
    owner = bus.subscribe(["owner.alice"])
    everything = bus.subscribe()
    bus.publish("status", 1, "bob", status="downloading")
    bus.publish("status", 2, "alice", status="queued")
    assert [e.download_id for e in [await mine.get(0.1)]] == [1]
    assert await mine.get(0.05) is None
    first = await owner.get(0.1)
    assert first is not None and first.download_id == 2
    assert [(await everything.get(0.1)).download_id, (await everything.get(0.1)).download_id] == [
        1,
        2,
    ]  # type: ignore[union-attr]


async def test_a_slow_subscriber_drops_old_progress_first() -> None:
    bus = EventBus(queue_size=3)
    sub = bus.subscribe()
    bus.publish("status", 1, "a", status="downloading")
    for n in range(10):
        bus.publish("progress", 1, "a", downloaded_bytes=n)
    kinds = []
    while (event := await sub.get(0.01)) is not None:
        kinds.append((event.type, event.data.get("downloaded_bytes")))
    assert kinds[0] == ("status", None)
    assert kinds[-1] == ("progress", 9)
    assert len(kinds) == 3


async def test_closed_subscriptions_stop_receiving() -> None:
    bus = EventBus()
    sub = bus.subscribe()
    sub.close()
    bus.publish("status", 1, "a")
    assert bus.subscriber_count == 0
    assert await sub.get(0.01) is None
