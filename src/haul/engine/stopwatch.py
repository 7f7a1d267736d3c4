"""Turning a :class:`StopSignal` into :class:`TransferStopped` while async work waits: a read
that stalls (:class:`StopWatch`), or a piece of work awaited whole (:func:`until_stopped`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import TypeVar

from haul.engine.base import StopSignal
from haul.errors import TransferError, TransferStopped

T = TypeVar("T")


async def until_stopped(
    work: Awaitable[T],
    stop: StopSignal,
    stopped: Callable[[], BaseException] = TransferStopped,
    interval: float = 0.1,
) -> T:
    """Await ``work`` (a request, an engine, an extraction), dropping it at once when ``stop``
    is set: it is cancelled and awaited, a transfer failure it raises while it is torn down
    is dropped (the stop is what happened, not that failure), then ``stopped()`` is raised.
    Work running in a thread cannot be cancelled: its result is dropped."""
    task = asyncio.ensure_future(work)
    while True:
        done, _ = await asyncio.wait({task}, timeout=interval)
        if done:
            return task.result()
        if stop.is_set():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, TransferError):
                await task
            raise stopped()


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
