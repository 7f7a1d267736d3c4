"""Passing the global limit on to external clients (an injected clock, clients that count
what they were told): once per change, again after a while, and again after a failure."""

from __future__ import annotations

from typing import Any

from haul.core.bandwidth import RATE_MIN, item_limits
from haul.core.status import Phase
from haul.errors import ClientUnavailable
from haul.store.jobs import Watched
from haul.worker.client_speeds import AGAIN_AFTER, ClientSpeeds


class Told:
    def __init__(self, fails: int = 0) -> None:
        self.told: list[int | None] = []
        self.fails = fails

    async def set_speed_limit(self, rate: int | None) -> None:
        if self.fails:
            self.fails -= 1
            raise ClientUnavailable("down")
        self.told.append(rate)


class NoLimit:
    """A client without a speed limit of its own."""


async def test_a_limit_is_told_once_per_change_and_again_after_a_while() -> None:
    now: list[float] = [0.0]
    rate: list[int | None] = [None]
    client, flaky, builtin = Told(), Told(fails=1), Told()
    clients: dict[str, Any] = {"builtin": builtin, "aria2": client, "qbit": flaky}
    clients["other"] = NoLimit()
    speeds = ClientSpeeds(lambda: clients, lambda: rate[0], clock=lambda: now[0])
    assert await speeds.apply() == 0  # haul has no limit: the clients keep their own
    rate[0] = 1_000_000
    assert await speeds.apply() == 1  # qbit failed: tried again next time
    assert await speeds.apply() == 1
    assert await speeds.apply() == 0
    now[0] = AGAIN_AFTER + 1
    assert await speeds.apply() == 2  # a daemon restarted meanwhile gets it back
    rate[0] = None
    assert await speeds.apply() == 2  # lifted in haul: lifted in the clients
    assert client.told == [1_000_000, 1_000_000, None]
    assert flaky.told == [1_000_000, 1_000_000, None]
    assert builtin.told == []


def test_an_items_limit_is_its_own_or_its_part_of_its_owners_whichever_is_tighter() -> None:
    items = [(1, "alice", None), (2, "alice", 100_000), (3, "bob", 3_000_000)]
    assert item_limits(items, None, {}) == {1: None, 2: 100_000, 3: 3_000_000}
    # alice runs two items and two built-in transfers: a quarter of her limit each, but item 2
    # keeps to its own 100 KB/s and what it leaves goes to the three others
    assert item_limits(items, 4_000_000, {"alice": 2}) == {1: 1_300_000, 2: 100_000, 3: 3_000_000}
    assert item_limits(items, 2_000_000, {}) == {1: 1_900_000, 2: 100_000, 3: 2_000_000}
    alone = [(1, "alice", None), (2, "alice", None)]
    assert item_limits(alone, 2_000_000, {"alice": 2}) == {1: 500_000, 2: 500_000}
    assert item_limits([(1, "a", None)], 5000, {"a": 99}) == {1: RATE_MIN}


class ItemsTold:
    def __init__(self) -> None:
        self.told: list[dict[str, int | None]] = []
        self.down = False

    async def set_item_speed_limits(self, limits: dict[str, int | None]) -> None:
        if self.down:
            raise ClientUnavailable("down")
        self.told.append(dict(limits))


def watched(ref: str, owner: str, own: int | None, phase: Phase = Phase.ACTIVE) -> Watched:
    return Watched(int(ref[1:]), "qbit", ref, phase.value, False, False, False, owner, own, False)


async def test_items_are_told_their_limit_when_first_seen_when_it_changes_and_after_a_while() -> (
    None
):
    now: list[float] = [0.0]
    owner_rate: list[int | None] = [None]
    qbit = ItemsTold()
    clients: dict[str, Any] = {"qbit": qbit, "other": NoLimit()}
    speeds = ClientSpeeds(
        lambda: clients, lambda: None, owner_rate=lambda: owner_rate[0], clock=lambda: now[0]
    )
    rows = [watched("h1", "alice", None), watched("h2", "alice", 500_000)]
    assert await speeds.apply_items(rows[:1], {}) == 0  # no limit in haul: the client's own
    assert qbit.told == []
    rows.append(watched("h3", "alice", None, Phase.QUEUED))  # paused: not running
    other = Watched(4, "other", "x", Phase.ACTIVE.value, False, False, False, "a", 1000, False)
    rows.append(other)
    assert await speeds.apply_items(rows, {}) == 2  # first seen: set, none included
    assert qbit.told == [{"h1": None, "h2": 500_000}]
    assert await speeds.apply_items(rows, {}) == 0
    owner_rate[0] = 3_000_000  # alice's limit, shared with her built-in transfer (h2 keeps
    assert await speeds.apply_items(rows, {"alice": 1}) == 1  # to its own 500 KB/s)
    assert qbit.told[-1] == {"h1": 1_250_000}
    qbit.down = True
    now[0] = AGAIN_AFTER + 1
    assert await speeds.apply_items(rows, {"alice": 1}) == 0  # tried again at the next pass
    qbit.down = False
    assert await speeds.apply_items(rows, {"alice": 1}) == 2  # limited ones, again after a while
    assert qbit.told[-1] == {"h1": 1_250_000, "h2": 500_000}
    owner_rate[0] = None
    assert await speeds.apply_items(rows[1:], {}) == 0  # h1 ended: forgotten; h2 keeps its own
    assert await speeds.apply_items(rows, {}) == 1  # h1 back (resumed): set again
    assert qbit.told[-1] == {"h1": None}
