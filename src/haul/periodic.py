"""A job run every so often in the background (the library rescan, retention).

A :class:`Periodic` waits ``first_delay`` seconds, runs its job, then waits ``interval`` seconds
between runs. A run that raises is logged and the next one comes at its time; :meth:`stop`
cancels the wait or the run in progress.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

Job = Callable[[], Awaitable[object]]
Sleep = Callable[[float], Awaitable[None]]


class Periodic:
    def __init__(
        self,
        name: str,
        job: Job,
        interval: float,
        *,
        first_delay: float | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if interval <= 0:
            raise ValueError(f"the interval of {name!r} must be positive, not {interval}")
        self.name = name
        self.job = job
        self.interval = interval
        #: Before the first run (None: one interval).
        self.first_delay = interval if first_delay is None else first_delay
        self._sleep = sleep
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        """Start the loop on the running event loop (once)."""
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name=f"haul-{self.name}")

    async def stop(self) -> None:
        """Cancel the loop and wait for it to end."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        delay = self.first_delay
        while True:
            await self._sleep(delay)
            delay = self.interval
            try:
                await self.job()
            except Exception:
                log.exception("%s failed", self.name)
