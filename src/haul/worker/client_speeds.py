"""The global speed limit in force, passed on to the external clients' own limits: aria2's
``max-overall-download-limit``, qBittorrent's global download limit, Transmission's
``speed-limit-down`` (each :class:`~haul.clients.base.LimitsSpeed`).

Each client keeps to the global limit on its own (the built-in engine's transfers keep to it
among themselves): the limit says how fast one program may pull, which is what a client's own
setting can hold. A client haul never limited keeps its own setting until an administrator
sets a limit in haul; after that, haul's value wins (none included). The value is set again
every few minutes, so a daemon restarted meanwhile gets it back. A pause window of the
schedule does not pause external clients.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping

from haul.clients.base import DownloadClient, LimitsSpeed
from haul.core.bandwidth import rate_text
from haul.core.routing import BUILTIN
from haul.errors import ClientError

log = logging.getLogger(__name__)

#: Seconds after which a limit is set again although it did not change.
AGAIN_AFTER = 300.0
#: Seconds one client may take to answer.
TIMEOUT = 10.0


class ClientSpeeds:
    """See the module docstring. ``clients``: the configured clients by name; ``rate``: the
    global limit in force (bytes per second, None: none)."""

    def __init__(
        self,
        clients: Callable[[], Mapping[str, DownloadClient]],
        rate: Callable[[], int | None],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clients = clients
        self.rate = rate
        self.clock = clock
        self._applied: dict[str, tuple[int, int | None, float]] = {}  # name -> client, rate, at
        self._limited = False  # whether haul has had a limit to pass on

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
