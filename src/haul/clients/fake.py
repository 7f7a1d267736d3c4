"""An honest in-memory download client for fast unit tests of haul's own logic.

It keeps items in a dict, moves bytes when :meth:`FakeClient.advance` is called, and can be
told to be unreachable. It behaves like a real client where haul depends on it: an unknown ref
raises :class:`~haul.errors.ClientItemNotFound` as the real adapters do, ``items`` is one call
and leaves unknown refs out, pause and resume change the item's state.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection
from dataclasses import replace

from haul.clients.base import AddRequest, ClientHealth
from haul.core.client_items import ClientItem
from haul.core.status import Status
from haul.errors import ClientItemNotFound, ClientUnavailable


class FakeClient:
    kind = "fake"

    def __init__(self, name: str = "fake", *, total_bytes: int = 1000) -> None:
        self.name = name
        self.total_bytes = total_bytes
        self.store: dict[str, ClientItem] = {}
        self.calls: list[str] = []
        self.down: str | None = None  # an error message while "unreachable"
        self._ids = itertools.count(1)

    def _check(self, call: str) -> None:
        self.calls.append(call)
        if self.down is not None:
            raise ClientUnavailable(self.down)

    def _get(self, ref: str) -> ClientItem:
        try:
            return self.store[ref]
        except KeyError:
            raise ClientItemNotFound(f"{self.name} holds no item {ref}", ref=ref) from None

    async def add(self, request: AddRequest) -> str:
        self._check("add")
        ref = f"{self.name}-{next(self._ids)}"
        status = Status.PAUSED if request.paused else Status.DOWNLOADING
        self.store[ref] = ClientItem(
            ref,
            status,
            name=request.url.rsplit("/", 1)[-1],
            total_bytes=self.total_bytes,
            save_path=str(request.dest_dir),
        )
        return ref

    async def items(self, refs: Collection[str] | None = None) -> dict[str, ClientItem]:
        self._check("items")
        if refs is None:
            return dict(self.store)
        return {ref: self.store[ref] for ref in refs if ref in self.store}

    async def pause(self, ref: str) -> None:
        self._check("pause")
        item = self._get(ref)
        if item.status is Status.DOWNLOADING:
            self.store[ref] = replace(item, status=Status.PAUSED, speed=0.0)

    async def resume(self, ref: str) -> None:
        self._check("resume")
        item = self._get(ref)
        if item.status is Status.PAUSED:
            self.store[ref] = replace(item, status=Status.DOWNLOADING)

    async def remove(self, ref: str, *, delete_data: bool) -> None:
        self._check(f"remove(delete_data={delete_data})")
        self._get(ref)
        del self.store[ref]

    async def health(self) -> ClientHealth:
        if self.down is not None:
            return ClientHealth(False, self.down)
        return ClientHealth(True, version="fake-1")

    def advance(self, ref: str, nbytes: int) -> None:
        """Move ``nbytes`` of a downloading item; it completes at its total size."""
        item = self._get(ref)
        if item.status is not Status.DOWNLOADING:
            return
        done = min(item.downloaded_bytes + nbytes, item.total_bytes or 0)
        status = Status.COMPLETED if done >= (item.total_bytes or 0) else Status.DOWNLOADING
        self.store[ref] = replace(item, downloaded_bytes=done, status=status, speed=float(nbytes))
