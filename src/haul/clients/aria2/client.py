"""haul's :class:`~haul.clients.base.DownloadClient` on top of an aria2 daemon.

The GID of a download is derived from haul's download id (16 hex digits), so adding the same
download twice finds the first transfer instead of starting a second one, and the mapping
between haul and aria2 survives restarts of either (aria2 keeps GIDs in its session file).

A magnet's GID fetches the torrent's metadata only; aria2 then completes it and follows it
with a new GID for the torrent's files (``followedBy``). haul keeps its GID as the download's
ref and reads and acts on the one that follows it (:func:`~haul.clients.aria2.mapping.followed`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import time
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from haul.clients.aria2.mapping import (
    ITEM_KEYS,
    LIVE_STATES,
    MAX_FOLLOW,
    file_paths,
    followed,
    follower,
    is_retryable,
    to_item,
)
from haul.clients.aria2.wire import Aria2RpcError, Aria2Wire, Call
from haul.clients.base import AddRequest, ClientHealth
from haul.core.client_items import ClientItem
from haul.core.paths import inside
from haul.errors import ClientError, ClientItemNotFound

#: How many waiting and stopped downloads one listing asks for (aria2 keeps 1000 results).
LIST_LIMIT = 1000
_REMOVE_KEYS = ("gid", "status", "dir", "files", "bittorrent")


def gid_for(download_id: int) -> str:
    """The GID of a haul download in aria2: its id as 16 hex digits (aria2 refuses 0)."""
    if not 0 < download_id < 1 << 64:
        raise ValueError(f"download id {download_id} does not fit an aria2 GID")
    return f"{download_id:016x}"


class Aria2Client:
    """Downloads handed to one aria2 daemon over JSON-RPC. Close it with :meth:`aclose`."""

    kind = "aria2"

    def __init__(
        self,
        url: str,
        secret: str | None = None,
        *,
        name: str = "aria2",
        timeout: float = 10.0,
        settle_timeout: float = 10.0,
        wire: Aria2Wire | None = None,
    ) -> None:
        self.name = name
        self.wire = wire or Aria2Wire(url, secret, timeout=timeout)
        #: How long :meth:`remove` waits for aria2 to let go of a removed transfer's files.
        self.settle_timeout = settle_timeout

    async def aclose(self) -> None:
        await self.wire.aclose()

    def failure_passes(self, item: ClientItem) -> bool:
        """aria2 names a passing problem (a timeout, a refused connection ...) by error code."""
        return is_retryable(item.raw.get("errorCode"))

    async def __aenter__(self) -> Aria2Client:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def add(self, request: AddRequest) -> str:
        gid = gid_for(request.download_id)
        options = {key: _option(value) for key, value in request.options.items()}
        options.update(gid=gid, dir=str(request.dest_dir))
        if request.speed_limit:
            options["max-download-limit"] = str(request.speed_limit)
        if request.paused:
            options["pause"] = "true"
        try:
            return await self._add(request, options)
        except Aria2RpcError as refused:
            # aria2 refuses a GID it already holds (with "No URI to download."). A live
            # transfer is the one asked for; a finished result is forgotten and added again.
            try:
                held = await self.wire.tell_status(gid, ["gid", "status"])
            except Aria2RpcError:
                raise refused from None
            if held.get("status") in LIVE_STATES:
                return gid
            await self.wire.remove_download_result(gid)
            return await self._add(request, options)

    async def _add(self, request: AddRequest, options: dict[str, Any]) -> str:
        if request.torrent is not None:
            encoded = base64.b64encode(request.torrent).decode("ascii")
            return await self.wire.add_torrent(encoded, options)
        return await self.wire.add_uri([request.url], options)

    async def items(self, refs: Collection[str] | None = None) -> dict[str, ClientItem]:
        keys = list(ITEM_KEYS)
        calls: list[Call] = [
            ("aria2.tellActive", [keys]),
            ("aria2.tellWaiting", [0, LIST_LIMIT, keys]),
            ("aria2.tellStopped", [0, LIST_LIMIT, keys]),
        ]
        listed: dict[str, dict[str, Any]] = {}
        for answer in await self.wire.multicall(calls):
            if isinstance(answer, ClientError):
                raise answer
            for raw in answer:
                if (gid := raw.get("gid")) and gid not in listed:
                    listed[str(gid)] = raw
        if refs is None:  # every download, those that follow another shown as that one
            refs = [gid for gid, raw in listed.items() if not raw.get("following")]
        found: dict[str, ClientItem] = {}
        for ref in refs:
            if (raw := followed(listed, ref)) is not None:
                found[ref] = dataclasses.replace(to_item(raw), ref=ref)
        return found

    async def pause(self, ref: str) -> None:
        ref = await self._current(ref)
        try:
            await self.wire.force_pause(ref)
        except Aria2RpcError as exc:
            if isinstance(exc, ClientItemNotFound) or await self._status(ref) != "paused":
                raise

    async def resume(self, ref: str) -> None:
        ref = await self._current(ref)
        try:
            await self.wire.unpause(ref)
        except Aria2RpcError as exc:
            # Already running, or it finished meanwhile: nothing is left to resume.
            if isinstance(exc, ClientItemNotFound) or await self._status(ref) not in (
                "active",
                "waiting",
                "complete",
            ):
                raise

    async def remove(self, ref: str, *, delete_data: bool) -> None:
        current = await self._current(ref)
        raw = await self.wire.tell_status(current, _REMOVE_KEYS)
        if raw.get("status") in LIVE_STATES:
            try:
                await self.wire.force_remove(current)
            except Aria2RpcError:
                if await self._status(current) in LIVE_STATES:
                    raise
                # it stopped on its own between the two calls: forget it all the same
            raw = await self._settle(current)
        await self.wire.remove_download_result(current)
        if current != ref:  # the magnet's metadata download it followed
            with contextlib.suppress(ClientItemNotFound):
                await self.wire.remove_download_result(ref)
        if delete_data:
            await asyncio.to_thread(_delete_data, raw)

    async def set_speed_limit(self, rate: int | None) -> None:
        """aria2's ``max-overall-download-limit`` (bytes per second; 0: none)."""
        await self.wire.change_global_option({"max-overall-download-limit": str(rate or 0)})

    async def set_item_speed_limits(self, limits: Mapping[str, int | None]) -> None:
        """Each transfer's ``max-download-limit`` (bytes per second; 0: none), all in one
        multicall. A transfer aria2 no longer holds, or holds finished or failed ("Cannot
        change option"), is passed over: the answer of one call is about its transfer alone."""
        if not limits:
            return
        asked: list[Call] = [
            ("aria2.tellStatus", [gid, ["status", "followedBy"]]) for gid in limits
        ]
        current = {}  # a magnet's GID: the one that follows it
        for gid, raw in zip(limits, await self.wire.multicall(asked), strict=True):
            known = raw if isinstance(raw, dict) else {}  # an error: passed over below
            current[gid] = follower(known) or gid
        calls: list[Call] = [
            ("aria2.changeOption", [current[gid], {"max-download-limit": str(rate or 0)}])
            for gid, rate in limits.items()
        ]
        await self.wire.multicall(calls)

    async def health(self) -> ClientHealth:
        try:
            version = await self.wire.get_version()
        except ClientError as exc:
            return ClientHealth.failed(exc)
        return ClientHealth(True, version=str(version.get("version") or "unknown"))

    async def _current(self, ref: str) -> str:
        """The GID that goes on for ``ref``: itself, or the one that follows it (a magnet's
        torrent download after its metadata's)."""
        gid = ref
        for _ in range(MAX_FOLLOW):
            after = follower(await self.wire.tell_status(gid, ["status", "followedBy"]))
            if after is None:
                break
            gid = after
        return gid

    async def _status(self, ref: str) -> str:
        return str((await self.wire.tell_status(ref, ["status"])).get("status"))

    async def _settle(self, ref: str) -> dict[str, Any]:
        """Wait until a force-removed transfer has stopped (its files are closed)."""
        deadline = time.monotonic() + self.settle_timeout
        delay = 0.01
        while True:
            raw = await self.wire.tell_status(ref, _REMOVE_KEYS)
            if raw.get("status") not in LIVE_STATES:
                return raw
            if time.monotonic() > deadline:
                raise ClientError(
                    f"aria2 did not stop {ref} within {self.settle_timeout:g} s of removing it"
                )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.2)


def _option(value: object) -> Any:
    """aria2 wants option values as strings (lists of strings for repeatable options)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return [str(item) for item in value]
    return str(value)


def _delete_data(raw: dict[str, Any]) -> None:
    """Delete a transfer's files and ``.aria2`` control files, never outside its ``dir``."""
    if not raw.get("dir"):
        return
    root = Path(str(raw["dir"]))
    targets = [Path(path) for path in file_paths(raw, selected_only=False)]
    top = ((raw.get("bittorrent") or {}).get("info") or {}).get("name")
    if top:
        targets.append(root / str(top))  # a multi-file torrent's folder and its control file
    folders: set[Path] = set()
    for target in targets:
        for path in (target, target.with_name(target.name + ".aria2")):
            if not inside(path, root):
                continue
            if path.is_dir() and not path.is_symlink():
                folders.add(path)
                continue
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        folders.update(p for p in target.parents if inside(p, root))
    # Empty folders the transfer made go too, deepest first; anything else stays.
    for folder in sorted(folders, key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):
            folder.rmdir()
