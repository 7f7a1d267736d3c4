"""Handing downloads to external clients (aria2, qBittorrent, Transmission).

An admitted download meant for one of them is leased (so two workers never add it twice),
added to its client, and recorded as active with the client's id for it (:meth:`dispatch`).
A source the built-in engine resolved (a ``.torrent`` URL, a direct file an aria2 is
preferred for) is handed over from the job (:meth:`handoff`). A client that cannot be reached
leaves the download admitted for it, no attempt used up; one that refuses it fails the
download.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from haul.clients.base import AddRequest
from haul.clients.directory import ClientDirectory
from haul.core.bandwidth import tightest
from haul.core.owners import is_anonymous
from haul.core.paths import folder_under, free_name, sanitize_filename
from haul.core.routing import SourceKind, route
from haul.core.status import Status
from haul.errors import (
    ClientError,
    ClientGone,
    ClientUnavailable,
    HaulError,
    InputError,
    PermanentTransferError,
    TorrentsNotAllowed,
    TransferError,
)
from haul.store.jobs import HandoffStore, Handover
from haul.store.models import Download, utcnow
from haul.worker.context import IptvStreams, storable
from haul.worker.torrent_checks import check_addresses, fetch_torrent, info_hash

if TYPE_CHECKING:
    from haul.worker.external import ExternalConfig

log = logging.getLogger(__name__)

Publish = Callable[[Download], Awaitable[None]]
Fail = Callable[[Download, TransferError], Awaitable[None]]

#: Where a row keeps the name haul chose for its file on an external client.
FILE_NAME = "file_name"


def _file_name(row: Download, dest: Path) -> str | None:
    """The name a direct file is saved under on an external client, chosen by haul the way the
    built-in engine names files (``clip (1).mp4`` beside a ``clip.mp4``, never the client's
    own ``clip.1.mp4``), and kept on the row so that a later attempt resumes the same file.
    None: the source's name is not known yet (the client names the file itself)."""
    kept = row.meta.get(FILE_NAME)
    if isinstance(kept, str) and kept:
        return kept
    proposed = (row.meta.get("resolved") or {}).get("filename")
    name = sanitize_filename(proposed) if isinstance(proposed, str) else ""
    return free_name(dest, name).name if name else None


def _is_torrent(row: Download) -> bool:
    return row.source_url.lower().startswith("magnet:")  # uploads are shown as magnets too


class Handovers:
    """Hands admitted downloads (and sources jobs resolved) to external clients."""

    def __init__(
        self,
        store: HandoffStore,
        directory: ClientDirectory,
        http: httpx.AsyncClient,
        config: ExternalConfig,
        *,
        publish: Publish,
        fail: Fail,
        worker_id: str,
        iptv: IptvStreams | None = None,
    ) -> None:
        self.store = store
        self.directory = directory
        self.http = http
        self.config = config
        self.publish = publish
        self.fail = fail
        self.worker_id = worker_id
        self.iptv = iptv
        self._pending: set[asyncio.Task[None]] = set()

    async def handoff(self, row: Download, resolved: dict[str, Any]) -> bool:
        """Offer a source the built-in engine resolved; True when an external client took it."""
        kind: SourceKind = resolved["kind"] if resolved["kind"] in ("torrent", "file") else "media"
        down = [n for n in self.directory.specs if self.directory.unreachable(n)]
        name = route(kind, self.directory.candidates(), row.requested_client, down=down)
        if name is None:
            return False
        if kind == "torrent" and is_anonymous(row.owner_key) and not self.config.visitor_torrents:
            raise PermanentTransferError(
                "Visitors of this instance may not download torrents (magnet links and "
                ".torrent files).",
                code=TorrentsNotAllowed.code,
            )
        url = resolved.get("url") or row.source_url
        row.meta = {**row.meta, "resolved": storable(resolved)}
        blob = await fetch_torrent(self.http, url) if kind == "torrent" else None
        await self._hand_over(row, name, url=url, torrent=blob)
        return True

    async def dispatch(self) -> int:
        """One pass: hand every admitted download meant for an external client to it."""
        names = list(self.directory.specs)
        if not names:
            return 0  # no external client: nothing can be meant for one (and no transaction)
        down = {name for name in names if self.directory.unreachable(name)}
        candidates = self.directory.candidates()
        caps = {name: self.directory.specs[name].slot_limit for name in names}

        def instead(row: Download) -> str | None:
            """Another torrent client for a torrent whose client is down (not one the user
            named, nor one an earlier attempt left on its client)."""
            if row.client not in down or row.requested_client or row.client_ref:
                return None
            if not _is_torrent(row):
                return None
            return route("torrent", candidates, down=down)

        rows = await self.store.claim_handoffs(self.worker_id, caps, down, instead)
        for row in rows:
            # Not awaited here: a slow client must not hold up the scheduler (admission and
            # the built-in engine's claims); the lease keeps a row from being taken twice.
            task = asyncio.create_task(self._dispatch_one(row), name=f"haul-handoff-{row.id}")
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
        return len(rows)

    async def aclose(self, timeout: float = 5.0) -> None:
        """Let hand-overs in flight finish (or give their leases back on cancel)."""
        if self._pending:
            await asyncio.wait(set(self._pending), timeout=timeout)
        for task in list(self._pending):
            task.cancel()

    async def _dispatch_one(self, row: Download) -> None:
        try:
            await self._dispatch_guarded(row)
        except asyncio.CancelledError:
            await asyncio.shield(self._give_back(row.id))
            raise
        except Exception:
            log.exception("download %s: hand-over failed; it waits for the next pass", row.id)
            await self._give_back(row.id)

    async def _give_back(self, download_id: int) -> None:
        """Clear this worker's lease on a row whose hand-over did not finish."""
        try:
            await self.store.give_back(download_id, self.worker_id)
        except Exception:
            log.exception("download %s: lease not given back", download_id)

    async def _dispatch_guarded(self, row: Download) -> None:
        try:
            name = str(row.client)
            spec = self.directory.spec(name)
            if spec is None or not spec.enabled:
                kind: SourceKind = "torrent" if _is_torrent(row) else "file"
                requested = row.requested_client if row.requested_client != name else None
                rerouted = route(kind, self.directory.candidates(), requested)
                if rerouted is None:
                    # back to the built-in engine, which resolves and runs it
                    await self.store.to_builtin(row.id)
                    return
                name = rerouted
            url = row.source_url
            if row.iptv_kind is not None:
                if self.iptv is None:
                    raise PermanentTransferError("IPTV downloads are not available here.")
                url = (await self.iptv(row)).url  # a fresh stream for every attempt
            await self._hand_over(row, name, url=url, torrent=row.source_blob)
        except ClientGone as exc:
            # The client is down: the download waits admitted for it, no attempt used up.
            log.info("download %s waits for %s: %s", row.id, row.client, exc.message)
            await self._give_back(row.id)
        except TransferError as exc:
            await self.fail(row, exc)
        except HaulError as exc:
            await self.fail(row, PermanentTransferError(exc.message, code=exc.code))
        except Exception as exc:
            log.exception("download %s: handing over failed", row.id)
            await self.fail(row, PermanentTransferError(f"Internal error: {exc}", code="internal"))

    async def _dest(self, row: Download) -> Path:
        """Where the client saves: the owner's folder under the root (the root itself when
        the owner has none, or when the folder would lead out of it)."""
        folder = await self.config.owner_folder(row.owner_key) if self.config.owner_folder else ""
        return folder_under(self.config.root, folder)

    async def _hand_over(
        self, row: Download, name: str, *, url: str, torrent: bytes | None
    ) -> None:
        """Add a download to a client and record the association; raises TransferError.

        ``torrent`` is the .torrent (kept on the row, so a retry does not fetch it again)."""
        dest = await self._dest(row)
        chosen = _file_name(row, dest) if torrent is None else None
        if chosen is not None:
            row.meta = {**row.meta, FILE_NAME: chosen}
        previous = row.client_ref if row.client == name else None
        await check_addresses(self.config.addresses, url, torrent, self.config.lookup_timeout)
        try:
            ref = await self._resume_held(name, previous) if previous else None
            resumed = ref is not None
            if ref is None:
                if previous:
                    await self._forget(name, previous)
                request = AddRequest(
                    download_id=row.id,
                    url=url,
                    dest_dir=dest,
                    torrent=torrent,
                    options={"out": chosen} if chosen is not None else {},
                    speed_limit=tightest(row.speed_limit, self.config.owner_limit()),
                    recorded_ref=await self._record_intent(row, name, url, torrent),
                )
                ref = await self.directory.call(name, lambda client: client.add(request))
        except ClientUnavailable as exc:
            raise ClientGone(exc.message, code=exc.code) from exc
        except (ClientError, InputError) as exc:
            await self._forget_intent(row)
            raise PermanentTransferError(exc.message, code=exc.code) from exc
        handover = Handover(
            row.id,
            name,
            str(ref),
            row.started_at or utcnow(),
            {k: v for k, v in row.meta.items() if k != "handing"},
            torrent,
            resumed,
        )
        handed = await self.store.handed_over(handover)
        if handed.held_by is not None:
            raise PermanentTransferError(
                f"{name} already holds this as download {handed.held_by}; "
                "one item on a client belongs to one download.",
                code="duplicate_item",
            )
        row.client, row.client_ref, row.client_released_at = name, ref, None
        row.lease_worker_id, row.started_at, row.meta = None, handover.started_at, handover.meta
        if torrent is not None:
            row.source_blob = torrent
        row.phase = str(handed.phase)
        log.info("download %s handed to %s as %s", row.id, name, ref)
        try:
            await self.publish(row)
        except Exception:
            log.exception("download %s: handed over, but the event was not published", row.id)

    async def _record_intent(
        self, row: Download, name: str, url: str, torrent: bytes | None
    ) -> str | None:
        """Record, before adding, the info-hash a torrent will have on ``name``: were haul to
        crash between the add and its commit, the next attempt finds the item already there
        and knows it for haul's even without its label. Returns the hash when an earlier
        attempt had recorded it (None on a first attempt: an item already there is not
        haul's, and is refused as before)."""
        found = info_hash(url, torrent)
        if found is None:
            return None
        handing = {"client": name, "ref": found}
        if row.meta.get("handing") == handing:
            return found
        row.meta = {**row.meta, "handing": handing}
        await self.store.keep_meta(row.id, row.meta)
        return None

    async def _forget_intent(self, row: Download) -> None:
        """Drop the recorded intent of a hand-over the client refused: the client did not add
        it, so an item with that hash it holds later (the user's own, say) is not haul's, and
        a retry must not take it over."""
        if "handing" not in row.meta:
            return
        row.meta = {k: v for k, v in row.meta.items() if k != "handing"}
        await self.store.keep_meta(row.id, row.meta)

    async def _resume_held(self, name: str, ref: str) -> str | None:
        """Resume the item the client still holds from before (a paused download given a slot
        again); None when there is none worth resuming (a retry adds it afresh)."""
        held = (await self.directory.items(name, [ref])).get(ref)
        if held is None or held.status in (Status.FAILED, Status.UNKNOWN):
            return None
        if held.status in (Status.PAUSED, Status.QUEUED):
            await self.directory.call(name, lambda client: client.resume(ref))
        return ref

    async def _forget(self, name: str, ref: str) -> None:
        """Remove an earlier attempt's item (its data stays for the new one to reuse)."""
        try:
            await self.directory.call(name, lambda client: client.remove(ref, delete_data=False))
        except ClientUnavailable:
            raise
        except ClientError as exc:
            log.debug("earlier item %s on %s not removed: %s", ref, name, exc)
