"""Passing the global limit on to external clients (an injected clock, clients that count
what they were told): once per change, again after a while, and again after a failure."""

from __future__ import annotations

from typing import Any

from haul.errors import ClientUnavailable
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
