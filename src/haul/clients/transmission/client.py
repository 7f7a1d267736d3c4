"""haul's :class:`~haul.clients.base.DownloadClient` on top of a Transmission daemon.

A torrent is known by its info-hash (``hashString``, 40 lowercase hex digits): Transmission's
numeric ids change when the daemon restarts. haul marks its torrents with a label, but what
makes a torrent haul's is that haul recorded its info-hash: a torrent asked for by hash is
haul's whatever its label (a daemon killed right after a hand-over restarts without the label
it had not saved yet; such a torrent gets its label back when haul next looks at it). Only the
listing of everything haul holds (``items(None)``, what adoption compares against) goes by the
label, so the user's own torrents in the same daemon are never touched. Adding an info-hash the
daemon already holds gives back the torrent it has: haul's own is the idempotent answer, anyone
else's is refused, since removing it later "with data" would delete files that are not haul's.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Mapping
from typing import Any

from haul.clients.base import AddRequest, ClientHealth
from haul.clients.transmission.mapping import (
    FILE_FIELDS,
    ITEM_FIELDS,
    file_paths,
    has_label,
    to_item,
)
from haul.clients.transmission.wire import TransmissionWire
from haul.core.bandwidth import by_rate
from haul.core.client_items import ClientItem
from haul.core.torrents import magnet_info_hash, parse_torrent
from haul.errors import ClientError, ClientItemNotFound, ClientRefused, InvalidTorrent

log = logging.getLogger(__name__)

_HASH = re.compile(r"[0-9a-f]{40}")
_CHECK_FIELDS = ("hashString", "labels")


class TransmissionClient:
    """Torrents handed to one Transmission daemon over its RPC. Close it with :meth:`aclose`."""

    kind = "transmission"

    def __init__(
        self,
        url: str,
        username: str | None = None,
        password: str | None = None,
        *,
        name: str = "transmission",
        label: str = "haul",
        timeout: float = 10.0,
        wire: TransmissionWire | None = None,
    ) -> None:
        if not label or "," in label or label != label.strip():
            raise ValueError("a Transmission label is a non-empty word without commas")
        self.name = name
        self.label = label
        self.wire = wire or TransmissionWire(url, username, password, timeout=timeout)

    async def aclose(self) -> None:
        await self.wire.aclose()

    async def __aenter__(self) -> TransmissionClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def add(self, request: AddRequest) -> str:
        source: bytes | str
        if request.torrent is not None:
            info_hash = parse_torrent(request.torrent).info_hash
            source = request.torrent
        elif request.url.startswith("magnet:"):
            info_hash = magnet_info_hash(request.url)
            source = request.url
        else:
            raise InvalidTorrent(
                "Transmission is handed a .torrent file or a magnet link, and this is neither."
            )
        held = await self._find(info_hash, _CHECK_FIELDS)
        if held is not None:
            if has_label(held, self.label):
                await self._limit_and_start(info_hash, request, held=True)
                return info_hash
            if request.recorded_ref == info_hash:
                await self._relabel(info_hash, held)
                await self._limit_and_start(info_hash, request, held=True)
                return info_hash
            raise ClientRefused(
                "Transmission already holds this torrent outside haul; haul will not take it over."
            )
        # torrent-add takes no speed limit: a limited torrent is added paused, limited, then
        # started, so that it never runs without its limit.
        added = await self.wire.add(
            source,
            download_dir=str(request.dest_dir),
            paused=request.paused or request.speed_limit is not None,
            labels=[self.label],
        )
        ref = str(added.get("hashString") or info_hash).lower()
        # Transmission 3.00 ignores labels on torrent-add: set them right after.
        raw = await self._find(ref, _CHECK_FIELDS)
        if raw is None:
            raise ClientError(f"Transmission took torrent {ref} but does not list it")
        if not has_label(raw, self.label):
            await self.wire.set_labels(ref, [*(raw.get("labels") or ()), self.label])
        await self._limit_and_start(ref, request, held=False)
        return ref

    async def _limit_and_start(self, ref: str, request: AddRequest, *, held: bool) -> None:
        """A limited torrent, added paused for it, gets its limit, then starts unless asked
        paused. One Transmission ``held`` already (an add cut short, asked again: it may
        have stopped before its start) is limited and started the same way."""
        if request.speed_limit is not None:
            await self.set_item_speed_limits({ref: request.speed_limit})
        if not request.paused and (held or request.speed_limit is not None):
            await self.wire.start(ref)

    async def items(self, refs: Collection[str] | None = None) -> dict[str, ClientItem]:
        """The torrents ``refs`` (info-hashes haul recorded), labeled or not; None: every
        torrent carrying haul's label."""
        hashes = None if refs is None else sorted(_valid(refs))
        found: dict[str, ClientItem] = {}
        for raw in await self.wire.torrents(hashes, ITEM_FIELDS):
            if hashes is not None or has_label(raw, self.label):
                item = to_item(raw)
                found[item.ref] = item
                if not has_label(raw, self.label):
                    await self._relabel(item.ref, raw)
        return found

    async def _relabel(self, ref: str, raw: dict[str, Any]) -> None:
        """Give a torrent of haul's its label back (lost in a crash before the daemon saved
        it); best effort: the torrent is haul's by its recorded hash either way."""
        try:
            await self.wire.set_labels(ref, [*(raw.get("labels") or ()), self.label])
        except ClientError as exc:
            log.info("Transmission torrent %s keeps no label for now: %s", ref, exc.message)

    async def files(self, ref: str) -> tuple[str, ...]:
        """Absolute paths of the torrent's files (none before a magnet's metadata arrives)."""
        return file_paths(await self._require(ref, FILE_FIELDS))

    async def pause(self, ref: str) -> None:
        await self.wire.stop(str((await self._require(ref))["hashString"]))

    async def resume(self, ref: str) -> None:
        await self.wire.start(str((await self._require(ref))["hashString"]))

    async def remove(self, ref: str, *, delete_data: bool) -> None:
        held = await self._require(ref)
        await self.wire.remove(str(held["hashString"]), delete_data=delete_data)

    async def set_speed_limit(self, rate: int | None) -> None:
        """Transmission's ``speed-limit-down`` (kB/s of 1,000 bytes, rounded up so that a
        small limit stays one), enabled, or disabled for none."""
        await self.wire.set_download_limit(_kilobytes(rate))

    async def set_item_speed_limits(self, limits: Mapping[str, int | None]) -> None:
        """Each torrent's own ``downloadLimit`` (kB/s, rounded down: the parts of an owner's
        limit never add up to more than it), one call per limit; Transmission passes over a
        hash it does not hold."""
        for rate, hashes in by_rate(limits).items():
            if valid := _valid(hashes):
                kilobytes = None if not rate else max(1, rate // 1000)
                await self.wire.set_torrents_download_limit(sorted(valid), kilobytes)

    async def health(self) -> ClientHealth:
        try:
            session = await self.wire.session()
        except ClientError as exc:
            return ClientHealth.failed(exc)
        version = str(session.get("version") or "?").split(" ", 1)[0]
        return ClientHealth(
            True, version=f"Transmission {version} (RPC {session.get('rpc-version')})"
        )

    async def _find(self, ref: str, fields: Collection[str]) -> dict[str, Any] | None:
        ref = ref.lower()
        if not _HASH.fullmatch(ref):
            return None
        for raw in await self.wire.torrents([ref], list(fields)):
            if str(raw.get("hashString", "")).lower() == ref:
                return raw
        return None

    async def _require(self, ref: str, fields: Collection[str] = _CHECK_FIELDS) -> dict[str, Any]:
        """The torrent ``ref`` (an info-hash haul recorded) if Transmission holds it, else
        not found."""
        raw = await self._find(ref, {*fields, *_CHECK_FIELDS})
        if raw is None:
            raise ClientItemNotFound(
                f"Transmission at {self.wire.where} holds no torrent {ref} of haul's", ref=ref
            )
        return raw


def _valid(refs: Collection[str]) -> set[str]:
    return {r.lower() for r in refs if _HASH.fullmatch(r.lower())}


def _kilobytes(rate: int | None) -> int | None:
    """A limit in bytes per second as Transmission takes it: kB/s of 1,000 bytes, rounded up
    so that a small limit stays one (None: none)."""
    return None if not rate else -(-rate // 1000)
