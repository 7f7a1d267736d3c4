"""Work started by a request that runs on when the request goes away, counted per person.

Listing a page's formats and checking a subscription now are both slow, started by a click,
and limited to a few at once per person. The asker may leave (a closed tab cancels its
request) but the work is not stopped midway: it is shielded, keeps counting against its
starter until it ends, and its outcome is read even when nobody waits for it any more.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Coroutine, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


class AtOnce:
    """What each person has running, and which pieces of work are running."""

    def __init__(self) -> None:
        self._running: Counter[str] = Counter()
        self._items: set[Hashable] = set()

    def running(self, who: str) -> int:
        """How many pieces of work ``who`` has running."""
        return self._running[who]

    def busy(self, item: Hashable) -> bool:
        """Whether the piece of work named ``item`` is running."""
        return item in self._items

    def start(
        self, who: str, work: Coroutine[Any, Any, T], *, item: Hashable = None
    ) -> asyncio.Future[T]:
        """Run ``work`` counted against ``who`` (and marked as ``item``) until it ends; await
        the answer through :func:`asyncio.shield` so the asker's leaving does not stop it."""
        self._running[who] += 1
        if item is not None:
            self._items.add(item)
        future = asyncio.ensure_future(work)
        future.add_done_callback(lambda _: self._ended(who, item))
        future.add_done_callback(_consume)
        return future

    def _ended(self, who: str, item: Hashable) -> None:
        self._items.discard(item)
        self._running[who] -= 1
        if self._running[who] <= 0:
            del self._running[who]


def _consume(future: asyncio.Future[Any]) -> None:
    """Read the outcome of work nobody waits for any more (no "never retrieved")."""
    if not future.cancelled():
        future.exception()
