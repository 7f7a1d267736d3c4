"""How a built-in job ends, in the database: completed, stopped (paused, canceled, shut down,
stalled), or failed (retried later or for good). Every write here is a state change, and each
keeps what the job learned of its source (``meta["resolved"]``, the title) for the next
attempt."""

from __future__ import annotations

import asyncio
import logging
import shutil
import typing
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.orm.attributes import set_committed_value

from haul.clients.builtin.client import LiveJob
from haul.core.paths import folder_under, free_name, inside
from haul.core.sources import domain_of
from haul.core.status import Phase
from haul.core.units import duration_text
from haul.engine.base import EngineResult
from haul.engine.completions import Completion, CompletionWriter, Successor
from haul.engine.context import JobContext
from haul.errors import TransferError, TransientTransferError, UnsupportedSource
from haul.store import downloads as q
from haul.store.models import Download, ErrorLog, UnsupportedUrl, utcnow

log = logging.getLogger(__name__)

T = TypeVar("T")


class Outcomes:
    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.writer = CompletionWriter(ctx.db, lambda: ctx.worker_id())

    async def completed(
        self,
        row: Download,
        result: EngineResult,
        successor: Successor[T] | None = None,
    ) -> T | None:
        """Move the files into the download root and record the download completed, with its
        ``successor`` (see :class:`~haul.engine.completions.Successor`); returns what the
        successor's part in the transaction returned."""
        profile = await self.ctx.profiles(row.profile_id) if row.profile_id else None
        folder = profile.target_dir if profile else None
        if self.ctx.owner_folder is not None:
            mine = await self.ctx.owner_folder(row.owner_key)
            folder = "/".join(part for part in (mine, folder) if part) or None
        files = await self._file(row.id, result.files, folder)
        title = row.title or result.title
        meta = {**row.meta, "result": result.meta}
        records: list[dict[str, Any]] | None = None
        events: list[tuple[str, str | None, dict[str, Any]]] = []
        if row.media_id is None and self.ctx.probe is not None:
            # Nothing to import: the probe (milliseconds) goes with this write, which then
            # completes the download; a processing step would cost a write and a read more.
            name = profile.name if profile is not None else None
            records, events = await asyncio.to_thread(self.ctx.probe, row.id, files, name)
        recorded = await self.writer.record(
            Completion(row.id, files, title, meta, utcnow(), successor, records, events)
        )
        # What the row now is in the database (without the ORM's change tracking: no session
        # holds it, and tracking a JSON value costs more than the whole update).
        now = {
            "files": files,
            "title": title,
            "meta": meta,
            "lease_worker_id": recorded.lease_worker_id,
            "phase": recorded.phase,
            "completed_at": recorded.completed_at,
            "canceled_at": recorded.canceled_at,
        }
        finished = recorded.phase in (Phase.PROCESSING, Phase.COMPLETED)
        if finished:
            now.update(last_error_code=None, last_error_message=None, retry_next_at=None)
        for key, value in now.items():
            set_committed_value(row, key, value)
        await self.ctx.notify(row)
        if recorded.phase == Phase.COMPLETED and self.ctx.completed is not None:
            self.ctx.completed(row)
        elif (
            recorded.phase == Phase.PROCESSING
            and self.ctx.processed is not None
            and recorded.lease_worker_id is not None
        ):
            self.ctx.processed(row.id)
        return typing.cast(T | None, recorded.follow)

    async def _file(
        self, download_id: int, paths: tuple[Path, ...], folder: str | None = None
    ) -> list[dict[str, Any]]:
        """Move the results out of the work folder into the download root (into ``folder``
        under it, the profile's target folder, when that stays inside) under free names, then
        remove the work folder. A rename in one filesystem is a single quick call, made on
        the loop (in a thread it measured no faster: the trip cost what it saved); only a copy
        to another filesystem goes to a thread."""
        root = self.ctx.builtin.root
        dest = folder_under(root, folder)
        files = []
        for path in paths:
            if not inside(path, self.ctx.builtin.work_root) or not path.exists():
                continue
            final = free_name(dest, path.name)
            try:
                path.replace(final)  # the work folder lies inside the root
            except OSError:
                await asyncio.to_thread(shutil.move, path, final)  # a mount inside the root
            stat = final.stat()
            files.append(
                {"path": str(final.relative_to(root)), "name": final.name, "size": stat.st_size}
            )
        self.ctx.builtin.delete_partial(download_id)
        return files

    async def stopped(self, row: Download, job: LiveJob) -> None:
        reason = job.stop.reason or "shutdown"
        if reason == "stall":
            idle = job.idle_for()
            message = f"The transfer stalled: no data received for {duration_text(round(idle))}."
            await self.failed(row, TransientTransferError(message, code="stalled"))
            return
        async with self.ctx.db.write() as s:
            db_row = await s.get(Download, row.id)
            if db_row is None:
                return
            db_row.lease_worker_id = None
            _keep_learned(db_row, row)
            if reason == "pause" and db_row.canceled_at is None:
                db_row.phase = Phase.QUEUED.value
                q.add_event(s, row.id, "paused")
        if reason == "cancel" and db_row.cancel_delete_partial:
            self.ctx.builtin.delete_partial(row.id)
        await self.ctx.notify(db_row)

    async def released(self, row: Download) -> None:
        """Give the job back (its task was cancelled): another worker, or this one after a
        restart, takes it up again."""
        async with self.ctx.db.write() as s:
            db_row = await s.get(Download, row.id)
            if db_row is not None:
                db_row.lease_worker_id = None
                _keep_learned(db_row, row)

    async def failed(self, row: Download, exc: TransferError) -> None:
        now = utcnow()
        async with self.ctx.db.write() as s:
            db_row = await s.get(Download, row.id)
            if db_row is None:
                return
            db_row.lease_worker_id = None
            _keep_learned(db_row, row)
            db_row.last_error_code = exc.code
            db_row.last_error_message = exc.message
            if db_row.canceled_at is not None:
                pass
            elif (
                exc.transient
                and (
                    delay := self.ctx.retry.delay(db_row.retry_attempt, retry_after=exc.retry_after)
                )
                is not None
            ):
                db_row.retry_attempt += 1
                db_row.retry_next_at = now + timedelta(seconds=delay)
                db_row.phase = Phase.QUEUED.value
                q.add_event(
                    s,
                    row.id,
                    "retry_scheduled",
                    exc.message,
                    code=exc.code,
                    attempt=db_row.retry_attempt,
                    delay=round(delay, 1),
                )
            else:
                db_row.phase = Phase.FAILED.value
                db_row.failed_at = now
                q.add_event(s, row.id, "failed", exc.message, code=exc.code)
                s.add(
                    ErrorLog(
                        download_id=row.id,
                        domain=domain_of(row.source_url),
                        error_code=exc.code,
                        message=exc.message,
                        media_type=(db_row.meta.get("resolved") or {}).get("kind"),
                    )
                )
                if isinstance(exc, UnsupportedSource):
                    s.add(
                        UnsupportedUrl(
                            url=row.source_url,
                            domain=domain_of(row.source_url),
                            error=exc.message,
                            owner_key=row.owner_key,
                        )
                    )
        await self.ctx.notify(db_row)
        if db_row.phase == Phase.FAILED and self.ctx.failed is not None:
            self.ctx.failed(db_row)


def _keep_learned(db_row: Download, row: Download) -> None:
    """Copy what this attempt learned of the source (kept on ``row`` by the job runner) onto
    the row being written."""
    resolved = row.meta.get("resolved")
    if resolved is not None and db_row.meta.get("resolved") != resolved:
        db_row.meta = {**db_row.meta, "resolved": resolved}
    db_row.title = db_row.title or row.title
