"""Downloads held by external clients: handing them over, and watching them to the end.

- **Hand over**: an admitted download meant for aria2, qBittorrent or Transmission is leased
  (so two workers never add it twice), added to its client, and recorded as active with the
  client's id for it. A source the built-in engine resolved (a ``.torrent`` URL, a direct file
  an aria2 is preferred for) is handed over from the job through :meth:`handoff`.
- **Monitor**: one bulk call per client for every download it holds. Finished (seeding counts)
  becomes completed with the files recorded; a client-side failure goes through the retry
  policy; a pause asked of haul is re-applied if the client resumed on its own; a removal that
  could not be made when asked (the client was down) is made when the client is back; finished
  items leave the client when its seeding goal is met.

Nothing live is stored: a client that does not know an item leaves it ``missing``, one that
cannot be reached leaves it ``unknown``, and no row is deleted for either.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.orm import Session

from haul.clients.base import AddRequest, DownloadClient, JudgesFailures, ListsFiles
from haul.clients.directory import ClientDirectory
from haul.core import trackers
from haul.core.client_items import ClientItem
from haul.core.owners import is_anonymous
from haul.core.paths import folder_under, free_name, inside, sanitize_filename
from haul.core.routing import SourceKind, route
from haul.core.status import OPEN_PHASES, Phase, Status
from haul.core.torrents import MAX_TORRENT_BYTES, magnet_info_hash, parse_torrent
from haul.engine.http_errors import network_error, status_error
from haul.errors import (
    AddressRefused,
    ClientError,
    ClientGone,
    ClientItemNotFound,
    ClientUnavailable,
    HaulError,
    InputError,
    PermanentTransferError,
    TorrentsNotAllowed,
    TransferError,
    TransientTransferError,
)
from haul.iptv.redact import redact_url
from haul.net.guard import AddressPolicy, reworded
from haul.store import downloads as q
from haul.store import handoffs as hq
from haul.store.database import Database
from haul.store.models import Download, utcnow
from haul.worker.context import IptvStreams, storable

log = logging.getLogger(__name__)

Publish = Callable[[Download], Awaitable[None]]
Fail = Callable[[Download, TransferError], Awaitable[None]]


@dataclass
class ExternalConfig:
    root: Path  # where clients are told to save (the download root)
    monitor_interval: float = 1.0
    #: What a torrent's trackers and web seeds may resolve to (None: unchecked).
    addresses: AddressPolicy | None = None
    #: Whether an anonymous visitor's .torrent URL may go to a torrent client.
    visitor_torrents: bool = True
    #: How long looking up one tracker's host name may take (seconds).
    lookup_timeout: float = 5.0
    #: The folder under the root an owner's files go to ("": the root itself).
    owner_folder: Callable[[str], Awaitable[str]] | None = None


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


OPEN = frozenset(p.value for p in OPEN_PHASES)


class ExternalClients:
    def __init__(
        self,
        db: Database,
        directory: ClientDirectory,
        http: httpx.AsyncClient,
        config: ExternalConfig,
        *,
        publish: Publish,
        fail: Fail,
        worker_id: Callable[[], str],
        processed: Callable[[int], None] | None = None,
        iptv: IptvStreams | None = None,
    ) -> None:
        self.db = db
        self.directory = directory
        self.http = http
        self.config = config
        self.publish = publish
        self.fail = fail
        self.worker_id = worker_id
        #: Hands a download whose transfer the client finished to the processing step.
        self.processed = processed
        self.iptv = iptv
        self._pending: set[asyncio.Task[None]] = set()

    # -- hand over ------------------------------------------------------------------------

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
        blob = await self._fetch_torrent(url) if kind == "torrent" else None
        await self._hand_over(row, name, url=url, torrent=blob)
        return True

    async def dispatch(self) -> int:
        """One pass: hand every admitted download meant for an external client to it."""
        names = list(self.directory.specs)
        if not names:
            return 0  # no external client: nothing can be meant for one (and no transaction)
        room: dict[str, int | None] = {}

        down = {name for name in names if self.directory.unreachable(name)}
        candidates = self.directory.candidates()

        def instead(row: Download) -> str | None:
            """Another torrent client for a torrent whose client is down (not one the user
            named, nor one an earlier attempt left on its client)."""
            if row.client not in down or row.requested_client or row.client_ref:
                return None
            if not _is_torrent(row):
                return None
            return route("torrent", candidates, down=down)

        def claim(s: Session) -> list[Download]:
            busy = hq.active_per_client(s, names)
            for name in names:
                spec = self.directory.specs[name]
                room[name] = None if spec.slot_limit is None else spec.slot_limit - busy[name]
                if name in down:
                    room[name] = 0  # backed off: its downloads wait, admitted, untouched
            return hq.claim_handoffs(
                s, self.worker_id(), room, skip_locked=not self.db.is_sqlite, instead=instead
            )

        rows = await self.db.run(claim)
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
            await self.db.run(lambda s: hq.unlease(s, download_id, self.worker_id()))
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
                    await self.db.run(
                        lambda s: hq.set_fields(s, row.id, client=None, lease_worker_id=None)
                    )
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
        await self._check_addresses(url, torrent)
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
                    recorded_ref=await self._record_intent(row, name, url, torrent),
                )
                ref = await self.directory.call(name, lambda client: client.add(request))
        except ClientUnavailable as exc:
            raise ClientGone(exc.message, code=exc.code) from exc
        except (ClientError, InputError) as exc:
            await self._forget_intent(row)
            raise PermanentTransferError(exc.message, code=exc.code) from exc
        now = utcnow()
        values: dict[str, Any] = {
            "phase": Phase.ACTIVE.value,
            "client": name,
            "client_ref": ref,
            "client_released_at": None,
            "lease_worker_id": None,
            "started_at": row.started_at or now,
            "meta": {k: v for k, v in row.meta.items() if k != "handing"},
        }
        if torrent is not None:
            values["source_blob"] = torrent

        def write(s: Session) -> str:
            holder = hq.holder(s, name, str(ref), row.id)
            if holder is not None:
                other, other_phase = holder
                if other_phase in OPEN:
                    raise PermanentTransferError(
                        f"{name} already holds this as download {other}; "
                        "one item on a client belongs to one download.",
                        code="duplicate_item",
                    )
                hq.take_over(s, other)  # a finished download's item, fetched again
            # A cancel or a pause that came while the client was adding it wins: a canceled
            # row keeps its phase (the monitor removes the item), a paused one goes back to
            # the queue holding no slot (the monitor keeps the item paused).
            hq.set_fields(s, row.id, **{**values, "phase": hq.handed_phase()})
            if resumed:
                q.add_event(s, row.id, "resumed", f"resumed on {name}", client=name, ref=ref)
            else:
                q.add_event(s, row.id, "handed_over", f"added to {name}", client=name, ref=ref)
            return hq.phase_of(s, row.id)

        phase = await self.db.run(write)
        for key, value in values.items():
            setattr(row, key, value)
        row.phase = phase
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
        try:
            if torrent is not None:
                info_hash = parse_torrent(torrent).info_hash
            elif url.lower().startswith("magnet:"):
                info_hash = magnet_info_hash(url)
            else:
                return None
        except InputError:
            return None  # the client refuses it with its own words
        handing = {"client": name, "ref": info_hash}
        if row.meta.get("handing") == handing:
            return info_hash
        row.meta = {**row.meta, "handing": handing}
        meta = row.meta
        await self.db.run(lambda s: hq.set_fields(s, row.id, meta=meta))
        return None

    async def _forget_intent(self, row: Download) -> None:
        """Drop the recorded intent of a hand-over the client refused: the client did not add
        it, so an item with that hash it holds later (the user's own, say) is not haul's, and
        a retry must not take it over."""
        if "handing" not in row.meta:
            return
        row.meta = {k: v for k, v in row.meta.items() if k != "handing"}
        meta = row.meta
        await self.db.run(lambda s: hq.set_fields(s, row.id, meta=meta))

    async def _check_addresses(self, url: str, torrent: bytes | None) -> None:
        """Refuse a torrent whose trackers or web seeds are, or resolve to, addresses the
        policy forbids: the client contacts them itself, out of haul's sight (see
        :mod:`haul.core.trackers`). A name that does not resolve is the client's problem."""
        policy = self.config.addresses
        if policy is None:
            return
        try:
            if torrent is not None:
                found = parse_torrent(torrent).addresses
            elif url.lower().startswith("magnet:"):
                found = tuple(trackers.magnet_addresses(url))
            else:
                return
            trackers.check(found, allow_private=policy.allow_private)
        except InputError as exc:
            raise PermanentTransferError(exc.message, code=exc.code) from exc
        names = trackers.hosts(found)
        looked_up = await asyncio.gather(*(self._lookup(host) for host in names))
        for (host, (what, link)), addresses in zip(names.items(), looked_up, strict=True):
            for address in addresses:
                refusal = policy.check(address, host)
                if refusal is not None:
                    raise PermanentTransferError(
                        f"The torrent's {what} {link} resolves to {refusal.words}.",
                        code="forbidden_address",
                    )

    async def _lookup(self, host: str) -> list[str]:
        """Every address ``host`` resolves to now (none when it does not resolve)."""
        loop = asyncio.get_running_loop()
        try:
            found = await asyncio.wait_for(
                loop.getaddrinfo(host, None, type=socket.SOCK_STREAM), self.config.lookup_timeout
            )
        except (OSError, TimeoutError):
            return []
        return [str(sockaddr[0]) for *_, sockaddr in found]

    def saved_inside_root(self, item: ClientItem) -> bool:
        """Whether the client keeps the item inside haul's download root: data is deleted only
        there (an adopted item, or one a person moved, keeps its files)."""
        return saved_inside(item, self.config.root)

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

    async def _fetch_torrent(self, url: str) -> bytes:
        try:
            async with self.http.stream("GET", url) as response:
                if response.status_code >= 400:
                    raise status_error(response)
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_TORRENT_BYTES:
                        raise PermanentTransferError(
                            f"The .torrent at {url} is larger than "
                            f"{MAX_TORRENT_BYTES // (1024 * 1024)} MB.",
                            code="invalid_torrent",
                        )
        except httpx.HTTPError as exc:
            raise network_error(exc, url) from exc
        except AddressRefused as exc:  # self.http's transport checks where it connects
            raise reworded(exc, url) from exc
        try:
            parse_torrent(bytes(body))
        except InputError as exc:
            raise PermanentTransferError(exc.message, code=exc.code) from exc
        return bytes(body)

    # -- monitor --------------------------------------------------------------------------

    async def monitor(self) -> int:
        """One pass over every download external clients hold; returns how many changed."""
        releasing = [n for n, spec in self.directory.specs.items() if spec.remove_completed]
        rows = await self.db.query(lambda s: hq.watched(s, releasing))
        by_client: dict[str, list[hq.Watched]] = defaultdict(list)
        for row in rows:
            by_client[row.client].append(row)
        results = await asyncio.gather(
            *(self._watch(name, group) for name, group in by_client.items())
        )
        return sum(results)

    async def _watch(self, name: str, rows: list[hq.Watched]) -> int:
        if name not in self.directory.clients:
            return 0
        refs = [row.client_ref for row in rows]
        try:
            items = await self.directory.items(name, refs)
        except ClientError:
            return 0  # unknown until it answers; nothing changes meanwhile
        changed = 0
        for row in rows:
            try:
                if await self._settle(name, row, items.get(row.client_ref)):
                    changed += 1
            except ClientError as exc:
                log.info("download %s on %s: %s", row.id, name, exc.message)
            except Exception:
                log.exception("download %s on %s: monitor step failed", row.id, name)
        return changed

    async def _settle(self, name: str, row: hq.Watched, item: ClientItem | None) -> bool:
        """Act on what the client says of one download (a full row is read only when its
        state changes)."""
        client = self.directory.clients[name]
        ref = row.client_ref
        if row.phase == Phase.CANCELED:
            if item is not None:
                delete = row.cancel_delete_partial and self.saved_inside_root(item)
                with contextlib.suppress(ClientItemNotFound):  # gone meanwhile: nothing to do
                    await client.remove(ref, delete_data=delete)
            await self.db.run(lambda s: hq.release(s, row.id))
            return True
        if row.phase == Phase.COMPLETED:
            return await self._release_if_seeded(name, client, row.id, ref, item)
        if item is None:
            return False  # missing: shown as such, never deleted
        if row.phase == Phase.QUEUED:  # paused by its owner, holding no slot
            if item.status in (Status.DOWNLOADING, Status.QUEUED):
                log.info("download %s: %s resumed it; pausing it again", row.id, name)
                await client.pause(ref)
            return False
        if item.status in (Status.COMPLETED, Status.SEEDING):
            if (full := await self._load(row.id)) is not None:
                await self._completed(name, client, full, item)
            return True
        if item.status is Status.FAILED:
            if (full := await self._load(row.id)) is not None:
                await self._client_failed(name, full, item)
            return True
        if row.desired_paused and item.status in (Status.DOWNLOADING, Status.QUEUED):
            log.info("download %s: %s resumed it; pausing it again", row.id, name)
            await client.pause(ref)
        elif not row.desired_paused and row.resume_owed:
            await client.resume(ref)

            def settled(s: Session) -> None:
                full = hq.load(s, row.id)
                if full is not None:
                    full.meta = {k: v for k, v in full.meta.items() if k != "resume_owed"}

            await self.db.run(settled)
        return False

    async def _load(self, download_id: int) -> Download | None:
        def read(s: Session) -> Download | None:
            row = hq.load(s, download_id)
            if row is not None:
                s.expunge(row)
            return row

        return await self.db.query(read)

    async def _completed(
        self, name: str, client: DownloadClient, row: Download, item: ClientItem
    ) -> None:
        paths = await _files_of(client, item)
        files = [_file_entry(Path(p), self.config.root) for p in paths]
        now = utcnow()
        seeding = item.status is Status.SEEDING

        def write(s: Session) -> bool:
            if not hq.still_active(s, row.id):
                return False  # canceled (or paused) since the monitor looked: theirs wins
            hq.set_fields(
                s,
                row.id,
                phase=Phase.PROCESSING.value,
                lease_worker_id=worker,  # this worker processes the files
                completed_at=now,
                files=files,
                title=row.title or item.name,
                last_error_code=None,
                last_error_message=None,
            )
            q.add_event(
                s, row.id, "downloaded", f"{name} finished it", files=len(files), seeding=seeding
            )
            return True

        worker = self.worker_id()
        if not await self.db.run(write):
            return
        row.phase, row.completed_at, row.files = Phase.PROCESSING.value, now, files
        row.title = row.title or item.name
        await self.publish(row)
        if self.processed is not None:
            self.processed(row.id)
        # A seeding goal is looked at once the download is completed (after its import, which
        # hardlinks from the client's files while the client holds them).

    async def _release_if_seeded(
        self,
        name: str,
        client: DownloadClient,
        download_id: int,
        ref: str,
        item: ClientItem | None,
    ) -> bool:
        spec = self.directory.spec(name)
        if spec is None or not spec.remove_completed:
            return False
        if item is not None and not _goal_met(spec.seed_ratio, spec.seed_minutes, item):
            return False
        if item is not None:
            await client.remove(ref, delete_data=False)

        def write(s: Session) -> None:
            hq.release(s, download_id)
            q.add_event(s, download_id, "released", f"removed from {name}; the files stay")

        await self.db.run(write)
        return True

    async def _client_failed(self, name: str, row: Download, item: ClientItem) -> None:
        # a client's message may quote the URL it was given (an IPTV stream's has credentials)
        message = redact_url(f"{name}: {item.message or 'the client reported an error'}")
        client = self.directory.clients.get(name)
        # a client that judges its errors may name a passing problem; others' need a person
        retryable = isinstance(client, JudgesFailures) and client.failure_passes(item)
        error: TransferError = (
            TransientTransferError(message, code="client_failed")
            if retryable
            else PermanentTransferError(message, code="client_failed")
        )
        await self.fail(row, error)


def saved_inside(item: ClientItem, root: Path) -> bool:
    """Whether a client item's save path is the download root or inside it."""
    if item.save_path is None:
        return False
    where = Path(item.save_path)
    return inside(where, root) or where.resolve() == root.resolve()


def _is_torrent(row: Download) -> bool:
    return row.source_url.lower().startswith("magnet:")  # uploads are shown as magnets too


def _goal_met(ratio: float | None, minutes: int | None, item: ClientItem) -> bool:
    """Whether a finished item may leave its client: no goal, or any goal reached."""
    if ratio is None and minutes is None:
        return True
    if ratio is not None and item.ratio is not None and item.ratio >= ratio:
        return True
    return (
        minutes is not None
        and item.seeding_seconds is not None
        and item.seeding_seconds >= minutes * 60
    )


async def _files_of(client: DownloadClient, item: ClientItem) -> list[str]:
    if isinstance(client, ListsFiles):
        try:
            found = await client.files(item.ref)
            if found:
                return list(found)
        except ClientError as exc:
            log.info("files of %s not listed: %s", item.ref, exc.message)
    return list(item.files)


def _file_entry(path: Path, root: Path) -> dict[str, Any]:
    """A finished file as recorded: relative to the download root when inside it. One the
    client says is elsewhere is recorded by its name only: haul never looks at it (nor
    probes, imports, serves or deletes it)."""
    if not inside(path, root):
        return {"path": str(path), "name": path.name, "size": None, "mtime": None}
    try:
        stat = path.stat()
        size: int | None = stat.st_size
        mtime: float | None = stat.st_mtime
    except OSError:
        size = mtime = None
    shown = str(path.resolve().relative_to(root.resolve()))
    return {"path": shown, "name": path.name, "size": size, "mtime": mtime}
