"""Watching what external clients hold, and recording what became of it.

One pass makes one bulk call per client for every download it holds. Finished (seeding
counts) becomes processing with the files recorded, once; a client-side failure goes through
the retry policy; a pause asked of haul is re-applied if the client resumed on its own, and a
resume owed is made; a removal that could not be made when asked (the client was down) is
made when the client is back; finished items leave the client when its seeding goal is met.
A pause window of the speed schedule pauses the running items until it ends.

Nothing live is stored: a client that does not know an item leaves it ``missing``, one that
cannot be reached leaves it ``unknown``, and no row is deleted for either.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from pathlib import Path

from haul.clients.base import DownloadClient, JudgesFailures
from haul.clients.directory import ClientDirectory
from haul.core.client_items import ClientItem
from haul.core.status import Phase, Status
from haul.errors import (
    ClientError,
    ClientItemNotFound,
    PermanentTransferError,
    TransferError,
    TransientTransferError,
)
from haul.iptv.redact import redact_url
from haul.store.jobs import HandoffStore, Watched
from haul.store.models import Download, utcnow
from haul.worker.client_files import file_entry, files_of, saved_inside

log = logging.getLogger(__name__)

Publish = Callable[[Download], Awaitable[None]]
Fail = Callable[[Download, TransferError], Awaitable[None]]


def goal_met(ratio: float | None, minutes: int | None, item: ClientItem) -> bool:
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


class Monitor:
    """Follows the downloads external clients hold (:meth:`monitor`, one pass)."""

    def __init__(
        self,
        store: HandoffStore,
        directory: ClientDirectory,
        root: Path,
        *,
        publish: Publish,
        fail: Fail,
        worker_id: str,
        processed: Callable[[int], None] | None = None,
    ) -> None:
        self.store = store
        self.directory = directory
        #: The download root: a finished file is recorded relative to it.
        self.root = root
        self.publish = publish
        self.fail = fail
        self.worker_id = worker_id
        #: Hands a download whose transfer the client finished to the processing step.
        self.processed = processed
        #: The downloads whose items their clients were moving at the last pass (not queued
        #: or paused there, not finished): what the speed limits are shared among.
        self.running: list[Watched] = []
        #: Whether a pause window of the speed schedule is in force (set before each pass).
        self.hold = False

    async def monitor(self) -> int:
        """One pass over every download external clients hold; returns how many changed."""
        releasing = [n for n, spec in self.directory.specs.items() if spec.remove_completed]
        rows = await self.store.watched(releasing)
        by_client: dict[str, list[Watched]] = defaultdict(list)
        for row in rows:
            by_client[row.client].append(row)
        running: list[Watched] = []
        results = await asyncio.gather(
            *(self._watch(name, group, running) for name, group in by_client.items())
        )
        self.running = running
        return sum(results)

    async def _watch(self, name: str, rows: list[Watched], running: list[Watched]) -> int:
        if name not in self.directory.clients:
            return 0
        refs = [row.client_ref for row in rows]
        try:
            items = await self.directory.items(name, refs)
        except ClientError:
            return 0  # unknown until it answers; nothing changes meanwhile
        changed = 0
        for row in rows:
            item = items.get(row.client_ref)
            moving = item is not None and item.status is Status.DOWNLOADING
            if moving and row.phase == Phase.ACTIVE and not row.desired_paused and not self.hold:
                running.append(row)
            try:
                if await self._settle(name, row, item):
                    changed += 1
            except ClientError as exc:
                log.info("download %s on %s: %s", row.id, name, exc.message)
            except Exception:
                log.exception("download %s on %s: monitor step failed", row.id, name)
        return changed

    async def _settle(self, name: str, row: Watched, item: ClientItem | None) -> bool:
        """Act on what the client says of one download (a full row is read only when its
        state changes)."""
        client = self.directory.clients[name]
        ref = row.client_ref
        if row.phase == Phase.CANCELED:
            if item is not None:
                delete = row.cancel_delete_partial and saved_inside(item, self.root)
                with contextlib.suppress(ClientItemNotFound):  # gone meanwhile: nothing to do
                    await client.remove(ref, delete_data=delete)
            await self.store.released(row.id)
            return True
        if row.phase == Phase.COMPLETED:
            return await self._release_if_seeded(name, client, row.id, ref, item)
        if item is None:
            return False  # missing: shown as such, never deleted
        if row.phase == Phase.QUEUED:  # paused by its owner, holding no slot
            if item.status in (Status.DOWNLOADING, Status.QUEUED):
                log.info("download %s: %s resumed it; pausing it again", row.id, name)
                await client.pause(ref)
            if row.held:  # the owner's pause outlasts the schedule's
                message = "Paused by its owner while the speed schedule held it."
                await self.store.schedule_held(row.id, False, message)
            return False
        if item.status in (Status.COMPLETED, Status.SEEDING):
            if row.held:  # it finished as the schedule paused it: it may seed
                await client.resume(ref)
                await self.store.schedule_held(row.id, False, "Finished as the schedule paused it.")
            if (full := await self.store.load(row.id)) is not None:
                await self._completed(name, client, full, item)
            return True
        if item.status is Status.FAILED:
            if (full := await self.store.load(row.id)) is not None:
                await self._client_failed(name, full, item)
            return True
        if await self._follow_schedule(name, client, row, item):
            return False
        if row.desired_paused and item.status in (Status.DOWNLOADING, Status.QUEUED):
            log.info("download %s: %s resumed it; pausing it again", row.id, name)
            await client.pause(ref)
        elif not row.desired_paused and row.resume_owed:
            await client.resume(ref)
            await self.store.resumed(row.id)
        return False

    async def _follow_schedule(
        self, name: str, client: DownloadClient, row: Watched, item: ClientItem
    ) -> bool:
        """A pause window of the speed schedule pauses a running item, the download marked
        first, every time (a crash between the two leaves a mark on a running item, which the
        window's end resumes, harmless; never a paused item nobody resumes, even when another
        worker ended the window a moment before); its end resumes what it paused, then takes
        the mark off (the history says so once, however many workers do it). A pause of its
        owner's meanwhile takes the mark off at once (:meth:`_settle`). True while the window
        holds it."""
        if self.hold and not row.desired_paused:
            if item.status in (Status.DOWNLOADING, Status.QUEUED):
                if await self.store.schedule_held(row.id, True, "Paused by the speed schedule."):
                    log.info("download %s: the speed schedule pauses it on %s", row.id, name)
                await client.pause(row.client_ref)
            return True
        if row.held and not self.hold:
            await client.resume(row.client_ref)
            ended = "The speed schedule's pause ended: resumed."
            if await self.store.schedule_held(row.id, False, ended):
                log.info("download %s: the speed schedule's pause on %s ended", row.id, name)
        return False

    async def _completed(
        self, name: str, client: DownloadClient, row: Download, item: ClientItem
    ) -> None:
        paths = await files_of(client, item)
        files = [file_entry(Path(p), self.root) for p in paths]
        now = utcnow()
        seeding = item.status is Status.SEEDING
        title = row.title or item.name
        message = f"{name} finished it"
        worker = self.worker_id  # this worker processes the files
        if not await self.store.client_finished(
            row.id, worker, now, files, title, message, seeding
        ):
            return  # canceled (or paused) since the monitor looked: theirs wins
        row.phase, row.completed_at, row.files = Phase.PROCESSING.value, now, files
        row.title = title
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
        if item is not None and not goal_met(spec.seed_ratio, spec.seed_minutes, item):
            return False
        if item is not None:
            await client.remove(ref, delete_data=False)
        await self.store.released(download_id, f"removed from {name}; the files stay")
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
