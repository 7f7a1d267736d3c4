"""A per-provider cache of catalogue lists with a time to live.

A provider's VOD catalogue can hold 50,000 films; paging and searching through it must not
fetch it again for every page. Each (provider, list) is fetched once per TTL, and concurrent
askers wait for the one fetch in flight instead of starting their own. A failed fetch is not
cached. Changing or removing a provider drops its entries.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

DEFAULT_TTL = 15 * 60.0


@dataclass(slots=True)
class _Entry:
    value: Any
    expires: float


class CatalogueCache:
    def __init__(
        self, ttl: float = DEFAULT_TTL, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl = ttl
        self.clock = clock
        self._entries: dict[tuple[int, Hashable], _Entry] = {}
        self._locks: dict[tuple[int, Hashable], asyncio.Lock] = {}
        self._generation: dict[int, int] = {}
        self._loads: dict[tuple[int, Hashable], int] = {}

    async def get(
        self,
        provider_id: int,
        what: Hashable,
        load: Callable[[], Awaitable[T]],
        *,
        refresh: bool = False,
    ) -> T:
        """The cached value of ``(provider_id, what)``, loaded with ``load`` when missing,
        expired, or ``refresh`` is asked."""
        key = (provider_id, what)
        self._sweep()
        entry = self._fresh(key)
        if entry is not None and not refresh:
            return entry.value  # type: ignore[no-any-return]
        lock = self._locks.setdefault(key, asyncio.Lock())
        loads_before = self._loads.get(key, 0)
        async with lock:
            entry = self._fresh(key)
            # Someone else loaded it while we waited: that answer is as fresh as ours would be.
            if entry is not None and (not refresh or self._loads.get(key, 0) != loads_before):
                return entry.value  # type: ignore[no-any-return]
            generation = self._generation.get(provider_id, 0)
            value = await load()
            self._loads[key] = self._loads.get(key, 0) + 1
            if self._generation.get(provider_id, 0) == generation:  # not changed meanwhile
                self._entries[key] = _Entry(value, self.clock() + self.ttl)
            return value

    def _fresh(self, key: tuple[int, Hashable]) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires <= self.clock():
            del self._entries[key]
            return None
        return entry

    def _sweep(self) -> None:
        """Drop every expired list: a catalogue nobody browses any more frees its memory."""
        now = self.clock()
        for key in [k for k, entry in self._entries.items() if entry.expires <= now]:
            del self._entries[key]

    def invalidate(self, provider_id: int) -> None:
        """Forget a provider's lists (and what a fetch in flight brings back)."""
        self._generation[provider_id] = self._generation.get(provider_id, 0) + 1
        for key in [k for k in self._entries if k[0] == provider_id]:
            del self._entries[key]

    def clear(self) -> None:
        self._entries.clear()
