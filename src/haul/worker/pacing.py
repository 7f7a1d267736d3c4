"""The pause a site rule asks between transfers to that site, kept by one worker process.

Before a transfer to a site whose rule has ``sleep_seconds`` starts, it waits until that long
has passed since the previous transfer to the site started in this process (transfers line
up: each takes the next free moment). yt-dlp also pauses that long between its own requests
(``sleep_interval_requests``, ``sleep_interval``); the number of transfers at once is held by
admission, across every process.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class SitePacer:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        #: domain -> the moment the next transfer to it may start
        self._next: dict[str, float] = {}

    async def turn(self, domain: str, seconds: float) -> float:
        """Wait for the turn of a transfer to ``domain`` (a rule's domain); returns the
        seconds waited."""
        if seconds <= 0:
            return 0.0
        now = self._clock()
        start = max(now, self._next.get(domain, now))
        self._next[domain] = start + seconds  # taken before waiting: the next one lines up
        wait = start - now
        if wait > 0:
            await asyncio.sleep(wait)
        return wait
