"""How a built-in job ends, in the database: completed, stopped (paused, canceled, shut down,
stalled), or failed (retried later or for good). Every write here is a state change, and each
keeps what the job learned of its source (``meta["resolved"]``, the title) for the next
attempt."""

from __future__ import annotations

import asyncio
import logging
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar

from haul.core.paths import folder_under, inside
from haul.core.status import Phase
from haul.core.units import duration_text
from haul.engine import faults, filing
from haul.engine.base import EngineResult, StopSignal
from haul.engine.diskspace import free_bytes, waiting_message
from haul.engine.http_errors import disk_error
from haul.engine.live import LiveJob
from haul.errors import (
    DiskFull,
    StorageError,
    TransferError,
    TransferStopped,
    TransientTransferError,
    UnsupportedSource,
)
from haul.store.jobs import Completion, Failure, Learned, Successor
from haul.store.models import Download, utcnow
from haul.store.recorded_rows import settle
from haul.worker.context import JobContext

log = logging.getLogger(__name__)

T = TypeVar("T")
U = TypeVar("U")


class Outcomes:
    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx

    async def completed(
        self,
        row: Download,
        result: EngineResult,
        successor: Successor[T] | None = None,
        stop: StopSignal | None = None,
    ) -> T | None:
        """Move the files into the download root and record the download completed, with its
        ``successor`` (see :class:`~haul.store.jobs.Successor`); returns what the
        successor's part in the transaction returned. The order of the steps, and why a crash
        in between loses and duplicates nothing, is in :mod:`haul.engine.filing`."""
        folder = await self._retried(lambda: self._folder(row), row.id, "read", stop)
        filed = await self._file(row.id, result, folder)
        await faults.hold("filed", row.id)
        return await self.record(row, filed, successor, stop)

    async def _folder(self, row: Download) -> str | None:
        """The folder under the download root ``row``'s files go to (its owner's, then its
        profile's target folder); None for the root itself. Both are read from the database."""
        profile = await self.ctx.profiles(row.profile_id) if row.profile_id else None
        folder = profile.target_dir if profile else None
        if self.ctx.owner_folder is not None:
            mine = await self.ctx.owner_folder(row.owner_key)
            folder = "/".join(part for part in (mine, folder) if part) or None
        return folder

    async def refiled(self, row: Download) -> Filed | None:
        """What an earlier attempt of this job finished and moved (or began to move) into the
        download root before it could record it; None when there is no such thing (then the
        job is run as usual)."""
        work = self.ctx.builtin.work_dir(row.id)
        note = filing.read(work)
        if note is None:
            return None
        root, work_root = self.ctx.builtin.root, self.ctx.builtin.work_root
        places = await asyncio.to_thread(filing.recover, note, work_root, root, _mover)
        if places is None:
            log.warning("download %s: its finished files are gone; fetching it again", row.id)
            await asyncio.to_thread(filing.forget, work, note, work_root, root)
            return None
        log.info("download %s: finished before, recorded now (not fetched again)", row.id)
        return Filed(places, note.title, note.meta)

    async def record(
        self,
        row: Download,
        filed: Filed,
        successor: Successor[T] | None = None,
        stop: StopSignal | None = None,
    ) -> T | None:
        """Record files already in the download root: the download is finished (processing,
        or completed with their probe when nothing waits to be imported). A write the
        database refuses is made again, with a growing pause, until it is taken; only a
        worker shutting down (``stop``) gives up, leaving the files noted for the next
        attempt (which records them without fetching them again)."""
        root = self.ctx.builtin.root
        files = [
            {"path": str(p.relative_to(root)), "name": p.name, "size": p.stat().st_size}
            for p in filed.places
        ]
        title = row.title or filed.title
        meta = {**row.meta, "result": filed.meta}
        records: list[dict[str, Any]] | None = None
        events: list[tuple[str, str | None, dict[str, Any]]] = []
        if row.media_id is None and self.ctx.probe is not None:
            # Nothing to import: the probe (milliseconds) goes with this write, which then
            # completes the download; a processing step would cost a write and a read more.
            name = await self._retried(lambda: self._profile_name(row), row.id, "read", stop)
            records, events = await asyncio.to_thread(self.ctx.probe, row.id, files, name)
        completion = Completion(row.id, files, title, meta, utcnow(), successor, records, events)
        recorded = await self._retried(
            lambda: self.ctx.jobs.complete(completion), row.id, "take", stop
        )
        await faults.hold("recorded", row.id)
        filing.remove_folder(self.ctx.builtin.work_dir(row.id), self.ctx.builtin.work_root)
        settle(row, completion, recorded)  # what the row now is in the store
        try:  # recorded: a subscriber not told now is told by its next read, not a failure
            await self.ctx.publish(row)
        except StorageError as exc:
            log.warning("download %s: recorded, but not announced (%s)", row.id, exc.message)
        if recorded.phase == Phase.COMPLETED and self.ctx.completed is not None:
            self.ctx.completed(row)
        elif (
            recorded.phase == Phase.PROCESSING
            and self.ctx.processed is not None
            and recorded.lease_worker_id is not None
        ):
            self.ctx.processed(row.id)
        return typing.cast(T | None, recorded.follow)

    async def _profile_name(self, row: Download) -> str | None:
        profile = await self.ctx.profiles(row.profile_id) if row.profile_id else None
        return profile.name if profile is not None else None

    async def _retried(
        self,
        call: Callable[[], Awaitable[U]],
        download_id: int,
        verb: Literal["read", "take"],
        stop: StopSignal | None,
    ) -> U:
        """What ``call`` (a database read or write of a finished download) returns, however
        many tries that takes: a refusal is tried again with a growing pause (see
        :meth:`record`); only a worker shutting down gives up (TransferStopped: the job is
        given back, its finished files noted for the next attempt)."""
        attempt = 0
        while True:
            try:
                return await call()
            except StorageError as exc:
                attempt += 1
                delay = self.ctx.storage_backoff.delay(attempt)
                what = "did not say where it goes" if verb == "read" else "did not take it"
                log.warning(
                    "download %s: finished, but the database %s (%s); trying again in %.1f s",
                    download_id,
                    what,
                    exc.message,
                    delay,
                )
                if await _stopping(stop, delay):
                    raise TransferStopped() from exc

    async def _file(self, download_id: int, result: EngineResult, folder: str | None) -> Filed:
        """Note where the results go, then move them out of the work folder into the download
        root (into ``folder`` under it, the profile's target folder, when that stays inside)
        under free names. A rename in one filesystem is a single quick call, made on the loop
        (in a thread it measured no faster: the trip cost what it saved); only a copy to
        another filesystem goes to a thread."""
        root = self.ctx.builtin.root
        work = self.ctx.builtin.work_dir(download_id)
        found = [
            path
            for path in result.files
            if inside(path, self.ctx.builtin.work_root) and path.exists()
        ]
        note = filing.plan(work, found, folder_under(root, folder), result.title, result.meta)
        if note.moves:
            filing.write(work, note)
        for item in note.moves:
            try:
                item.source.replace(item.final)  # the work folder lies inside the root
            except OSError:  # a mount inside the root: a copy, which may find that disk full
                await asyncio.to_thread(_mover, item.source, item.final, across=True)
        return Filed([m.final for m in note.moves], result.title, result.meta)

    async def stopped(self, row: Download, job: LiveJob) -> None:
        reason = job.stop.reason or "shutdown"
        if reason == "stall":
            idle = job.idle_for()
            message = f"The transfer stalled: no data received for {duration_text(round(idle))}."
            await self.failed(row, TransientTransferError(message, code="stalled"))
            return
        db_row = await self.ctx.jobs.stopped(row.id, _learned(row), paused=reason == "pause")
        if db_row is None:
            return
        if reason == "cancel" and db_row.cancel_delete_partial:
            self.ctx.builtin.delete_partial(row.id)
        await self.ctx.publish(db_row)

    async def waiting_for_space(self, row: Download, exc: DiskFull) -> None:
        """The disk is full: the download goes back to the queue, its part kept, and looks
        again in ``space_recheck`` seconds. No retry is spent (the source did nothing wrong)
        and its slot is free for downloads that fit meanwhile. The history says so once, when
        the wait begins; the message says how much is free and, when known, needed."""
        free = exc.free if exc.free is not None else free_bytes(self.ctx.builtin.work_root)
        message = waiting_message(free, exc.needed)
        until = utcnow() + timedelta(seconds=self.ctx.space_recheck)
        db_row = await self.ctx.jobs.waiting_for_space(
            row.id, _learned(row), message, DiskFull.code, until
        )
        if db_row is None:
            return
        await self.ctx.publish(db_row)

    async def noted(self, row: Download, notices: list[str], kind: str = "restarted") -> None:
        """Add the engine's notices to the download's history (a part dropped because the
        file changed, say); a failure to write them is logged and fails nothing."""
        try:
            await self.ctx.jobs.noted(row.id, kind, notices)
        except Exception:
            log.exception("download %s: could not record %s", row.id, notices)

    async def released(self, row: Download) -> None:
        """Give the job back (its task was cancelled): another worker, or this one after a
        restart, takes it up again."""
        await self.ctx.jobs.released(row.id, _learned(row))

    async def failed(self, row: Download, exc: TransferError) -> None:
        retry: Callable[[int], float | None] | None = None
        if exc.transient:
            policy = self.ctx.retry()

            def retry(attempt: int) -> float | None:
                return policy.delay(attempt, retry_after=exc.retry_after)

        failure = Failure(
            exc.code,
            exc.message,
            row.source_url,
            row.owner_key,
            unsupported=isinstance(exc, UnsupportedSource),
        )
        db_row = await self.ctx.jobs.failed(row.id, _learned(row), failure, retry, utcnow())
        if db_row is None:
            return
        await self.ctx.publish(db_row)
        if db_row.phase == Phase.FAILED and self.ctx.failed is not None:
            self.ctx.failed(db_row)


@dataclass(frozen=True, slots=True)
class Filed:
    """Finished files in the download root, not recorded yet, and what the engine said."""

    places: list[Path]
    title: str | None
    meta: dict[str, Any]


def _mover(source: Path, final: Path, *, across: bool = False) -> None:
    """Step 2 of the filing for one file (blocking; ``across``: the rename was tried
    already); a failed write is haul's error for it: a full disk makes the download wait for
    room, saying what is free where the file goes."""
    try:
        if across:
            filing.move_across(source, final)
        else:
            filing.same_filesystem_mover(source, final)
    except OSError as exc:
        needed = source.stat().st_size if source.exists() else None
        error = disk_error(exc, final, needed)
        if isinstance(error, DiskFull):
            error.free = free_bytes(final.parent)
        raise error from exc


async def _stopping(stop: StopSignal | None, delay: float) -> bool:
    """Wait ``delay`` seconds, or less when the worker shuts down; whether it does."""
    deadline = asyncio.get_running_loop().time() + delay
    while True:
        if stop is not None and stop.reason == "shutdown":
            return True
        left = deadline - asyncio.get_running_loop().time()
        if left <= 0:
            return False
        await asyncio.sleep(min(left, 0.1))


def _learned(row: Download) -> Learned:
    """What this attempt learned of the source (kept on ``row`` by the job runner)."""
    return Learned(row.meta.get("resolved"), row.title)
