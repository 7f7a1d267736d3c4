"""haul's :class:`~haul.clients.base.DownloadClient` on top of a qBittorrent daemon.

A transfer's ref is its info-hash, computed by haul before the add (qBittorrent never answers
with it). haul keeps its torrents in one category and sees only those: :meth:`items` lists
that category, and pause, resume, remove and files treat a torrent outside it as unknown. A
torrent qBittorrent already holds outside the category is refused, never taken over, so haul
can never pause or delete a person's own torrents.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any, TypeVar

from haul.clients.base import AddRequest, ClientHealth
from haul.clients.qbittorrent.mapping import file_paths, to_item
from haul.clients.qbittorrent.wire import QbitWire
from haul.core.bandwidth import by_rate
from haul.core.client_items import ClientItem
from haul.core.torrents import magnet_info_hash, parse_torrent
from haul.errors import ClientError, ClientItemNotFound, ClientRefused, ClientVersionUnsupported

T = TypeVar("T")

#: The oldest Web API haul speaks (qBittorrent 4.1).
MIN_WEB_API = (2, 0)


class QBittorrentClient:
    """Torrents handed to one qBittorrent over its Web API. Close it with :meth:`aclose`."""

    kind = "qbittorrent"

    def __init__(
        self,
        url: str,
        username: str | None = None,
        password: str | None = None,
        *,
        name: str = "qbittorrent",
        category: str = "haul",
        timeout: float = 10.0,
        wire: QbitWire | None = None,
    ) -> None:
        if not category:
            raise ValueError("haul needs a category of its own in qBittorrent")
        self.name = name
        self.category = category
        #: How long an add, a remove waits for qBittorrent to show its effect.
        self.settle_timeout = timeout
        self.wire = wire or QbitWire(url, username, password, timeout=timeout)
        self._category_ready = False

    async def aclose(self) -> None:
        await self.wire.aclose()

    async def __aenter__(self) -> QBittorrentClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # -- DownloadClient --------------------------------------------------------------------

    async def add(self, request: AddRequest) -> str:
        ref = self._info_hash(request)
        await self._ensure_category()
        held = await self._held(ref)
        if held is not None:
            return self._same(held, ref)
        accepted = await self.wire.add(
            torrent=request.torrent,
            url=None if request.torrent is not None else request.url,
            save_path=str(request.dest_dir),
            category=self.category,
            stopped=request.paused,
            download_limit=request.speed_limit,
        )
        if not accepted:
            # "Fails.": a duplicate added meanwhile, or a torrent qBittorrent cannot use.
            held = await self._held(ref)
            if held is not None:
                return self._same(held, ref)
            raise ClientRefused(
                f"{self.wire.where} refused to add the torrent {ref} "
                '(it answered "Fails."; its log says why).'
            )
        held = await self._settle(lambda: self._held(ref), f"list the torrent {ref} it accepted")
        return self._same(held, ref)

    async def items(self, refs: Collection[str] | None = None) -> dict[str, ClientItem]:
        if refs is not None and not refs:
            return {}
        raws = await self.wire.torrents_info(category=self.category, hashes=refs)
        found: dict[str, ClientItem] = {}
        for raw in raws:
            if raw.get("category") == self.category and raw.get("hash"):
                item = to_item(raw)
                found[item.ref] = item
        return found

    async def files(self, ref: str) -> tuple[str, ...]:
        """Absolute paths of the torrent's files (empty until a magnet has its metadata)."""
        raw = await self._require(ref)
        return file_paths(raw, await self.wire.torrents_files(ref))

    async def pause(self, ref: str) -> None:
        await self._require(ref)
        await self.wire.stop(ref)

    async def resume(self, ref: str) -> None:
        await self._require(ref)
        await self.wire.start(ref)

    async def remove(self, ref: str, *, delete_data: bool) -> None:
        """Remove the torrent; returns once qBittorrent no longer lists it and, with
        ``delete_data``, once its files are gone from disk."""
        raw = await self._require(ref)
        paths = file_paths(raw, await self.wire.torrents_files(ref)) if delete_data else ()
        await self.wire.delete(ref, delete_files=delete_data)
        await self._settle(self._gone(ref), f"drop the torrent {ref}")
        if paths:
            await self._settle(self._deleted(paths), f"delete the files of torrent {ref}")

    async def set_speed_limit(self, rate: int | None) -> None:
        """qBittorrent's global download limit (bytes per second; 0: none). qBittorrent keeps
        whole KiB/s, rounding down: never above the limit."""
        await self.wire.set_download_limit(rate or 0)

    async def set_item_speed_limits(self, limits: Mapping[str, int | None]) -> None:
        """Each torrent's own download limit (bytes per second; -1: none), one call per
        limit; qBittorrent passes over a hash it does not hold."""
        for rate, hashes in by_rate(limits).items():
            await self.wire.set_torrents_download_limit(hashes, rate or -1)

    async def health(self) -> ClientHealth:
        try:
            api = await self.wire.web_api_version()
            number = _version(api)
            if number is None:
                raise ClientError(
                    f"{self.wire.where} answered a Web API version haul cannot read: {api!r}"
                )
            if number < MIN_WEB_API:
                raise ClientVersionUnsupported(
                    f"{self.wire.where} speaks Web API {api}; haul needs 2.0 or newer "
                    "(qBittorrent 4.1 or newer)."
                )
            version = await self.wire.app_version()
        except ClientError as exc:
            return ClientHealth.failed(exc)
        return ClientHealth(True, version=f"qBittorrent {version} / Web API {api}")

    # -- helpers ---------------------------------------------------------------------------

    def _info_hash(self, request: AddRequest) -> str:
        if request.torrent is not None:
            return parse_torrent(request.torrent).info_hash
        if request.url.lower().startswith("magnet:"):
            return magnet_info_hash(request.url)
        raise ClientRefused(
            "qBittorrent takes a .torrent file or a magnet link from haul: given a link to a "
            ".torrent it would fetch the file itself and haul could not know which torrent "
            "it became. Fetch the .torrent first."
        )

    async def _ensure_category(self) -> None:
        if self._category_ready:
            return
        if self.category not in await self.wire.categories():
            try:
                await self.wire.create_category(self.category)
            except ClientRefused:
                if self.category not in await self.wire.categories():
                    raise
        self._category_ready = True

    async def _held(self, ref: str) -> dict[str, Any] | None:
        """qBittorrent's entry for the torrent, in any category, or None."""
        for raw in await self.wire.torrents_info(hashes=[ref]):
            if str(raw.get("hash", "")).lower() == ref:
                return raw
        return None

    async def _require(self, ref: str) -> dict[str, Any]:
        """The torrent's entry in haul's category, or :class:`ClientItemNotFound`."""
        for raw in await self.wire.torrents_info(category=self.category, hashes=[ref]):
            if raw.get("category") == self.category and raw.get("hash") == ref:
                return raw
        raise ClientItemNotFound(
            f"{self.wire.where} holds no torrent {ref} in the category {self.category!r}.",
            ref=ref,
        )

    def _same(self, held: dict[str, Any], ref: str) -> str:
        if held.get("category") != self.category:
            raise ClientRefused(
                f"{self.wire.where} already holds this torrent ({ref}) outside haul's category "
                f"{self.category!r}; haul will not take it over."
            )
        return ref

    def _gone(self, ref: str) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            return await self._held(ref) is None

        return check

    def _deleted(self, paths: tuple[str, ...]) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            return not any(await asyncio.to_thread(lambda: [os.path.lexists(p) for p in paths]))

        return check

    async def _settle(self, check: Callable[[], Awaitable[T | None]], what: str) -> T:
        """Poll ``check`` until it answers something true; :class:`ClientError` after the
        settle timeout."""
        deadline = time.monotonic() + self.settle_timeout
        delay = 0.02
        while True:
            found = await check()
            if found:
                return found
            if time.monotonic() > deadline:
                raise ClientError(
                    f"{self.wire.where} did not {what} within {self.settle_timeout:g} s."
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.2)


def _version(text: str) -> tuple[int, ...] | None:
    try:
        return tuple(int(part) for part in text.strip().split(".")[:3])
    except ValueError:
        return None
