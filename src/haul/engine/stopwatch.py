"""Turning a :class:`StopSignal` into :class:`TransferStopped` while an async read is stalled."""

from __future__ import annotations

import asyncio
from types import TracebackType

from haul.engine.base import StopSignal
from haul.errors import TransferStopped


class StopWatch:
    """Cancels the current task when ``stop`` is set; the block then raises TransferStopped.

    Between body pieces an engine checks the signal itself; this watcher covers the waits
    (slow headers, a silent server) by cancelling the task, the way ``asyncio.timeout`` does,
    and tells its own cancellation apart from the caller's with ``Task.uncancel``.

        async with StopWatch(stop):
            await transfer()
    """

    def __init__(self, stop: StopSignal, interval: float = 0.05) -> None:
        self._stop = stop
        self._interval = interval
        self._fired = False
        self._task: asyncio.Task[object] | None = None
        self._watcher: asyncio.Task[None] | None = None

    async def __aenter__(self) -> None:
        self._task = asyncio.current_task()
        self._watcher = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        while not self._stop.is_set():  # noqa: ASYNC110 - a threading flag, no await
            await asyncio.sleep(self._interval)
        if self._task is not None:
            self._fired = True
            self._task.cancel()

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._watcher is not None and self._task is not None
        self._watcher.cancel()  # no await: it cannot fire after this line
        if self._fired and self._task.uncancel() == 0 and kind is asyncio.CancelledError:
            raise TransferStopped() from exc
