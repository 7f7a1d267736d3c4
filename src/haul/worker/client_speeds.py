"""The speed limits in force, passed on to the external clients.

The global limit goes to each client's own global limit: aria2's
``max-overall-download-limit``, qBittorrent's global download limit, Transmission's
``speed-limit-down`` (each :class:`~haul.clients.base.LimitsSpeed`).

Each client keeps to the global limit on its own (the built-in engine's transfers keep to it
among themselves): the limit says how fast one program may pull, which is what a client's own
setting can hold. A client haul never limited keeps its own setting until an administrator
sets a limit in haul; after that, haul's value wins (none included). The value is set again
every few minutes, so a daemon restarted meanwhile gets it back. (A pause window of the
schedule pauses the clients' items for haul: :mod:`haul.worker.monitor`.)

A download's own limit and its owner's go to the item's own limit in its client (aria2's
``max-download-limit``, qBittorrent's and Transmission's per-torrent limits: each
:class:`~haul.clients.base.LimitsItemSpeed`): an owner's limit is shared by all of the
owner's running transfers, the built-in engine's and the clients' items
(:func:`~haul.core.bandwidth.item_limits`), among the items the clients move (not those
they queue). As with the global limit, items keep the client's own setting until haul has a
limit for any of them; after that, each is set when it is first seen, when what it should
keep to changes, and, while it is limited, again every few minutes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence

from haul.clients.base import DownloadClient, LimitsItemSpeed, LimitsSpeed
from haul.core.bandwidth import item_limits, rate_text
from haul.core.routing import BUILTIN
from haul.core.status import Phase
from haul.errors import ClientError
from haul.store.jobs import Watched

log = logging.getLogger(__name__)

#: Seconds after which a limit is set again although it did not change.
AGAIN_AFTER = 300.0
#: Seconds one client may take to answer.
TIMEOUT = 10.0


class ClientSpeeds:
    """See the module docstring. ``clients``: the configured clients by name; ``rate``: the
    global limit in force, ``owner_rate`` the per-owner one (bytes per second, None: none)."""

    def __init__(
        self,
        clients: Callable[[], Mapping[str, DownloadClient]],
        rate: Callable[[], int | None],
        *,
        owner_rate: Callable[[], int | None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clients = clients
        self.rate = rate
        self.owner_rate = owner_rate
        self.clock = clock
        self._applied: dict[str, tuple[int, int | None, float]] = {}  # name -> client, rate, at
        self._limited = False  # whether haul has had a limit to pass on
        #: (client name, ref) -> client, rate, at: what each item was last given.
        self._items: dict[tuple[str, str], tuple[int, int | None, float]] = {}
        self._items_limited = False  # whether haul has had a limit for any item
        self._failing: dict[str, str] = {}  # name -> why setting its items' limits failed

    async def apply(self) -> int:
        """Set the limit on every client whose value is not it (or is old); returns how many
        were set. A client that cannot be reached is tried again at the next pass."""
        rate = self.rate()
        self._limited = self._limited or rate is not None
        if not self._limited:
            return 0
        now, changed = self.clock(), 0
        for name, client in list(self.clients().items()):
            if name == BUILTIN or not isinstance(client, LimitsSpeed):
                continue
            known = self._applied.get(name)
            if (
                known is not None
                and known[:2] == (id(client), rate)
                and now - known[2] < AGAIN_AFTER
            ):
                continue
            try:
                await asyncio.wait_for(client.set_speed_limit(rate), TIMEOUT)
            except (ClientError, TimeoutError) as exc:
                log.info("could not set the speed limit of %s: %s", name, exc)
                continue
            if known is None or known[1] != rate:
                log.info("%s: download speed limit %s", name, rate_text(rate))
            self._applied[name] = (id(client), rate, now)
            changed += 1
        return changed

    async def apply_items(self, rows: Sequence[Watched], elsewhere: Mapping[str, int]) -> int:
        """Set the limit of each running item of ``rows`` (what the monitor watches) whose
        value is not it, or is old; ``elsewhere``: the built-in engine's running transfers by
        owner. Returns how many items were set; a client that cannot be reached (or refuses)
        is tried again at the next pass."""
        running = [row for row in rows if row.phase == Phase.ACTIVE.value]
        owner_rate = self.owner_rate()
        self._items_limited = self._items_limited or bool(
            owner_rate or any(row.speed_limit for row in running)
        )
        if not self._items_limited:
            return 0
        wanted = item_limits(
            (((row.client, row.client_ref), row.owner_key, row.speed_limit) for row in running),
            owner_rate,
            elsewhere,
        )
        now, clients = self.clock(), self.clients()
        due: dict[str, tuple[LimitsItemSpeed, dict[str, int | None]]] = {}
        for (name, ref), rate in wanted.items():
            client = clients.get(name)
            if not isinstance(client, LimitsItemSpeed):
                continue
            known = self._items.get((name, ref))
            fresh = known is not None and (rate is None or now - known[2] < AGAIN_AFTER)
            if known is not None and fresh and known[:2] == (id(client), rate):
                continue
            due.setdefault(name, (client, {}))[1][ref] = rate
        changed = 0
        for name, (holder, limits) in due.items():
            try:
                await asyncio.wait_for(holder.set_item_speed_limits(limits), TIMEOUT)
            except (ClientError, TimeoutError) as exc:
                if self._failing.get(name) != str(exc):  # said once, not at every pass
                    log.info("could not set the speed limits of %s's items: %s", name, exc)
                self._failing[name] = str(exc)
                continue
            self._failing.pop(name, None)
            for ref, rate in limits.items():
                self._items[(name, ref)] = (id(holder), rate, now)
            changed += len(limits)
        for key in self._items.keys() - wanted.keys():
            del self._items[key]  # finished, paused or gone: set again if it comes back
        return changed
