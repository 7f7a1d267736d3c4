"""The in-process event bus: state changes and coalesced progress, fanned out to subscribers.

Each event goes to the channels ``download.{id}`` and ``owner.{owner}``; a subscriber names
the channels it wants, or none for all (admins, the CLI in single-user mode). A slow subscriber
never slows the publisher: its queue is bounded, and when it is full the oldest *progress*
event is dropped first (a newer one supersedes it anyway).
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import AsyncIterator, Callable, Collection
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Event:
    type: str  # "progress", "status", "created", "removed"
    download_id: int
    owner: str
    data: dict[str, Any] = field(default_factory=dict)
    seq: int = 0

    @property
    def channels(self) -> tuple[str, str]:
        return (f"download.{self.download_id}", f"owner.{self.owner}")

    def as_json(self) -> dict[str, Any]:
        return {"type": self.type, "id": self.download_id, "seq": self.seq, **self.data}


class Subscription:
    def __init__(self, bus: EventBus, channels: frozenset[str] | None, maxlen: int) -> None:
        self._bus = bus
        self.channels = channels
        self._items: deque[Event] = deque()
        self._maxlen = maxlen
        self._ready = asyncio.Event()
        self.closed = False

    def wants(self, event: Event) -> bool:
        return self.channels is None or any(c in self.channels for c in event.channels)

    def push(self, event: Event) -> None:
        if len(self._items) >= self._maxlen:
            self._drop_one()
        self._items.append(event)
        self._ready.set()

    def _drop_one(self) -> None:
        for index, queued in enumerate(self._items):
            if queued.type == "progress":
                del self._items[index]
                return
        self._items.popleft()

    async def get(self, timeout: float | None = None) -> Event | None:
        """The next event, or None after ``timeout`` seconds without one."""
        while not self._items:
            if self.closed:
                return None
            self._ready.clear()
            try:
                await asyncio.wait_for(self._ready.wait(), timeout)
            except TimeoutError:
                return None
        return self._items.popleft()

    def close(self) -> None:
        self.closed = True
        self._bus._subscribers.discard(self)
        self._ready.set()

    async def __aiter__(self) -> AsyncIterator[Event]:
        while not self.closed:
            event = await self.get()
            if event is not None:
                yield event


class EventBus:
    def __init__(self, *, queue_size: int = 1000) -> None:
        self._subscribers: set[Subscription] = set()
        self._queue_size = queue_size
        self._seq = itertools.count(1)
        #: Where events published in this process also go (another process's bus, through
        #: PostgreSQL); events arriving from there are published with ``local=False``.
        self.forward: Callable[[Event], None] | None = None

    def subscribe(self, channels: Collection[str] | None = None) -> Subscription:
        sub = Subscription(
            self, frozenset(channels) if channels is not None else None, self._queue_size
        )
        self._subscribers.add(sub)
        return sub

    def publish(
        self, type: str, download_id: int, owner: str, *, local: bool = True, **data: Any
    ) -> Event:
        event = Event(type, download_id, owner, data, next(self._seq))
        for sub in list(self._subscribers):
            if sub.wants(event):
                sub.push(event)
        if local and self.forward is not None:
            self.forward(event)
        return event

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def close(self) -> None:
        for sub in list(self._subscribers):
            sub.close()
