"""A small table read once and kept: the profiles and the notification targets, which every
download reads at its start and at its end and which change a few times a year.

The process that changes one forgets what it kept at once (:meth:`Kept.forget`); another
process (a ``haul worker`` beside the server, on PostgreSQL) reads again after ``ttl`` seconds.
Callers that ask while a read is under way share it. A change made during a read makes that
read's value unfit to keep: the next caller reads again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")

TTL_SECONDS = 5.0


class Kept(Generic[T]):
    def __init__(
        self,
        load: Callable[[], Awaitable[T]],
        *,
        ttl: float = TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self.ttl = ttl
        self._clock = clock
        self._value: tuple[T, float] | None = None  # the value, and when it was read
        self._reading: asyncio.Future[T] | None = None
        self._generation = 0

    async def get(self) -> T:
        kept = self._value
        if kept is not None and self._clock() - kept[1] < self.ttl:
            return kept[0]
        if self._reading is None or self._reading.done():
            self._reading = asyncio.ensure_future(self._read())
        return await asyncio.shield(self._reading)

    def forget(self) -> None:
        """The table changed: the next :meth:`get` reads it again."""
        self._generation += 1
        self._value = None
        self._reading = None

    async def _read(self) -> T:
        generation, started = self._generation, self._clock()
        value = await self._load()
        if generation == self._generation:
            self._value = (value, started)
        return value
