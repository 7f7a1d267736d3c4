"""Keeps the speed budgets of this worker's transfers (:mod:`haul.engine.bandwidth`) in line
with the runtime settings and the speed schedule, and tells the worker when a pause window
begins and ends.

A pause window stops the built-in engine's running transfers (each keeps its part and goes
back to the queue, holding its slot) and holds the claiming of jobs, until the window ends
(the external clients' items are paused by the monitor: :mod:`haul.worker.monitor`);
then they are taken up again and resume where they stopped. That is what a person who
schedules "no downloads during working hours" expects: the line is free in the window, and
nothing is lost or has to be resumed by hand. Holding connections open without reading would
not free the line for long (servers drop an idle connection after a minute or so, and each
drop would cost a retry), and pausing the downloads themselves would mix the schedule's
pauses with the user's own.

With several workers the limits are shared: each worker's part of the global limit is its
running transfers over all running transfers, and its part of an owner's limit that owner's
transfers it runs over all of that owner's (the owner's items on external clients
included), read from the database at its heartbeat (:func:`share_of`, :func:`owner_shares`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from haul.core.bandwidth import InForce, Window, in_force, rate_text, zone
from haul.core.config import RuntimeValues
from haul.engine.bandwidth import Budgets

log = logging.getLogger(__name__)

#: The longest the keeper sleeps between two looks at the clock (a change of settings wakes
#: it sooner; a clock that jumps is caught within this).
LOOK_EVERY = 30.0


@dataclass(frozen=True, slots=True)
class SpeedSettings:
    """The speed settings in effect (from the runtime settings)."""

    global_limit: int | None = None
    owner_limit: int | None = None
    schedule: tuple[Window, ...] = ()
    timezone: str = "UTC"


def speed_settings(values: RuntimeValues) -> SpeedSettings:
    """The speed settings of the runtime settings in effect."""
    return SpeedSettings(
        values.speed_limit_global,
        values.speed_limit_per_owner,
        values.speed_schedule,
        values.speed_timezone,
    )


#: Running transfers as the database counts them: per worker, per owner.
Counts = Mapping[str, Mapping[str, int]]


def share_of(worker_id: str, mine: int, counts: Counts) -> float:
    """This worker's part of the global limit: its transfers over everyone's (the database's
    ``counts``; ``mine``, its own as it knows them now). A worker with no transfer counts as
    one, so a transfer it starts before the next heartbeat is not starved."""
    own = max(mine, 1)
    others = sum(sum(owners.values()) for worker, owners in counts.items() if worker != worker_id)
    return own / (own + others)


def owner_shares(
    worker_id: str,
    mine: Mapping[str, int],
    counts: Counts,
    external: Mapping[str, int] | None = None,
) -> dict[str, float]:
    """This worker's part of each owner's limit, for the owners it runs transfers of
    (``mine``, as it knows them now): the same rule as :func:`share_of`, owner by owner,
    counting the owner's items external clients run (``external``, by owner) among the
    others: each of those keeps to its part of the limit in its client."""
    shares = {}
    for owner, running in mine.items():
        own = max(running, 1)
        others = sum(
            owners.get(owner, 0) for worker, owners in counts.items() if worker != worker_id
        ) + (external or {}).get(owner, 0)
        shares[owner] = own / (own + others)
    return shares


def by_owner(counts: Counts) -> dict[str, int]:
    """The running transfers of ``counts`` by owner, all workers together."""
    total: dict[str, int] = {}
    for owners in counts.values():
        for owner, running in owners.items():
            total[owner] = total.get(owner, 0) + running
    return total


class SpeedKeeper:
    """See the module docstring. ``settings`` is read at each look; ``now`` is the wall
    clock (injected by tests)."""

    def __init__(
        self,
        budgets: Budgets,
        settings: Callable[[], SpeedSettings],
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.budgets = budgets
        self.settings = settings
        self.now = now
        self.state = InForce(None, None)
        self._wake = asyncio.Event()

    @property
    def paused(self) -> bool:
        return self.state.pause

    def changed(self) -> None:
        """The settings changed: look again now."""
        self._wake.set()

    def look(self) -> InForce:
        """Apply what is in force now to the budgets; returns it."""
        wanted = self.settings()
        try:
            tz = zone(wanted.timezone)
        except ValueError:
            tz = zone("UTC")  # refused when set; a stored value from elsewhere falls back
        state = in_force(wanted.schedule, self.now(), tz)
        limit = state.limit(wanted.global_limit)
        if limit != self.budgets.global_limit:
            log.info("global download speed limit: %s", rate_text(limit))
        self.budgets.set_global(limit)
        self.budgets.set_owner_limit(wanted.owner_limit)
        if state.pause != self.state.pause:
            log.info(
                "the speed schedule %s the downloads",
                "pauses" if state.pause else "resumes",
            )
        self.state = state
        return state

    async def run(
        self, running: Callable[[], bool], paused: Callable[[], None], resumed: Callable[[], None]
    ) -> None:
        """Look at every change of the schedule or the settings while ``running()``; call
        ``paused`` when a pause window begins, ``resumed`` when it ends."""
        while running():
            was = self.paused
            try:
                state = self.look()
            except Exception:
                log.exception("could not apply the speed settings")
                state = self.state
            if state.pause and not was:
                paused()
            elif was and not state.pause:
                resumed()
            wait = LOOK_EVERY
            if state.until is not None:
                wait = min(wait, max(0.05, (state.until - self.now()).total_seconds()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wait)
            self._wake.clear()
