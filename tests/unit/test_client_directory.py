"""The client directory: adapters rebuilt only when the connection changes, per-client
timeouts, and backoff that makes a dead client answer at once."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Collection

import pytest

from haul.clients.directory import ClientDirectory
from haul.clients.fake import FakeClient
from haul.core.client_items import ClientItem
from haul.core.client_specs import ClientSpec
from haul.core.status import Status
from haul.errors import ClientUnavailable


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class SlowClient(FakeClient):
    async def items(self, refs: Collection[str] | None = None) -> dict[str, ClientItem]:
        await asyncio.sleep(10)
        return {}


def spec(name: str = "q", **changes: object) -> ClientSpec:
    base = ClientSpec(name=name, kind="qbittorrent", url="http://127.0.0.1:1", timeout=0.05)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def directory(clock: Clock | None = None, slow: bool = False) -> ClientDirectory:
    built: list[str] = []

    def build(s: ClientSpec) -> FakeClient:
        built.append(s.name)
        return (SlowClient if slow else FakeClient)(s.name)

    d = ClientDirectory(FakeClient("builtin"), build=build, clock=clock or Clock())
    d.built = built  # type: ignore[attr-defined]
    return d


async def test_adapters_are_rebuilt_only_when_the_connection_changes() -> None:
    d = directory()
    await d.apply([spec()])
    first = d.clients["q"]
    await d.apply([spec(priority=5)])  # not a connection setting
    assert d.clients["q"] is first
    assert d.specs["q"].priority == 5
    await d.apply([spec(secret="new")])
    assert d.clients["q"] is not first
    await d.apply([])
    assert set(d.clients) == {"builtin"}


async def test_a_failing_client_backs_off_and_answers_at_once() -> None:
    clock = Clock()
    d = directory(clock)
    await d.apply([spec()])
    fake = d.clients["q"]
    assert isinstance(fake, FakeClient)
    fake.down = "qbit refused the connection"
    with pytest.raises(ClientUnavailable, match="refused"):
        await d.call("q", lambda c: c.items())
    calls = len(fake.calls)
    with pytest.raises(ClientUnavailable, match=r"asked again in 1 s"):
        await d.call("q", lambda c: c.items())
    assert len(fake.calls) == calls  # not asked while backed off
    clock.now += 1.1
    with pytest.raises(ClientUnavailable):
        await d.call("q", lambda c: c.items())
    assert len(fake.calls) == calls + 1
    assert "asked again in 2 s" in (d.unreachable("q") or "")
    for _ in range(10):
        clock.now += 60
        with pytest.raises(ClientUnavailable):
            await d.call("q", lambda c: c.items())
    assert "asked again in 30 s" in (d.unreachable("q") or "")  # capped
    fake.down = None
    clock.now += 31
    assert await d.call("q", lambda c: c.items()) == {}
    assert d.unreachable("q") is None


async def test_each_client_has_its_own_timeout() -> None:
    d = directory(slow=True)
    await d.apply([spec(timeout=0.05)])
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(ClientUnavailable, match=r"did not answer within 0\.05 s"):
        await d.call("q", lambda c: c.items())
    assert loop.time() - started < 1


async def test_an_unknown_client_is_unavailable_with_its_name() -> None:
    d = directory()
    with pytest.raises(ClientUnavailable, match="'gone' is not configured"):
        await d.call("gone", lambda c: c.items())


async def test_many_ids_ask_for_everything_once_and_narrow_here() -> None:
    d = directory()
    await d.apply([spec()])
    fake = d.clients["q"]
    assert isinstance(fake, FakeClient)
    fake.store = {f"h{i}": ClientItem(f"h{i}", Status.DOWNLOADING) for i in range(200)}
    few = await d.items("q", ["h1", "h2", "nope"])
    assert set(few) == {"h1", "h2"}
    many = await d.items("q", [f"h{i}" for i in range(0, 200, 2)] + ["nope"])
    assert set(many) == {f"h{i}" for i in range(0, 200, 2)}
    # the one id the listing lacked was asked for by name, once
    assert fake.calls == ["items", "items", "items"]


class LabelLost(FakeClient):
    """A client whose listing of haul's items misses one that lost its label in a crash."""

    async def items(self, refs: Collection[str] | None = None) -> dict[str, ClientItem]:
        found = await super().items(refs)
        return {k: v for k, v in found.items() if refs is not None or k != "h7"}


async def test_many_ids_find_an_item_that_lost_its_label() -> None:
    d = ClientDirectory(FakeClient("builtin"), build=lambda s: LabelLost(s.name), clock=Clock())
    await d.apply([spec()])
    fake = d.clients["q"]
    assert isinstance(fake, FakeClient)
    fake.store = {f"h{i}": ClientItem(f"h{i}", Status.DOWNLOADING) for i in range(200)}
    many = await d.items("q", [f"h{i}" for i in range(100)])
    assert set(many) == {f"h{i}" for i in range(100)}
