"""Running one built-in job: resolve the source, move the bytes, file the result.

Every database write here is a state change (started, expanded, completed, failed, retry
scheduled, paused); progress stays in memory (:class:`~haul.clients.builtin.client.LiveJob`).
Finished files are moved out of the job's work folder into the download root under a free name.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, TypeVar

from sqlalchemy import update
from sqlalchemy.orm import Session

from haul.clients.builtin.client import LiveJob
from haul.core.status import Phase, Status
from haul.engine.base import EngineJob, EngineResult
from haul.engine.context import JobContext
from haul.engine.outcomes import Outcomes
from haul.engine.playlists import expand
from haul.engine.resolve import Resolution, resolve
from haul.errors import (
    PermanentTransferError,
    TransferError,
    TransferStopped,
)
from haul.logs import current_download
from haul.store import downloads as q
from haul.store.models import Download, utcnow

log = logging.getLogger(__name__)

T = TypeVar("T")


class JobRunner:
    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx
        self.outcomes = Outcomes(ctx)

    async def run(self, row: Download, job: LiveJob) -> None:
        """Run a claimed job to its next resting state; never raises."""
        current_download.set(row.id)
        try:
            await self._run(row, job)
        except TransferStopped:
            await self.outcomes.stopped(row, job)
        except TransferError as exc:
            await self.outcomes.failed(row, exc)
        except asyncio.CancelledError:
            await asyncio.shield(self.outcomes.released(row.id))
            raise
        except Exception as exc:
            log.exception("download %s: unexpected error", row.id)
            await self.outcomes.failed(
                row, PermanentTransferError(f"Internal error: {exc}", code="internal")
            )
        finally:
            self.ctx.builtin.live.pop(row.id, None)

    async def _run(self, row: Download, job: LiveJob) -> None:
        # The row was read in the claiming transaction: it is current; a pause or cancel that
        # comes later reaches the job through its stop signal.
        self._check_stop(job)
        resolved: dict[str, Any] | None = row.meta.get("resolved")
        if resolved is None and row.playlist_index is not None:
            # An entry of a playlist already resolved: yt-dlp takes it by its index.
            resolved = {"kind": "media", "url": row.source_url, "title": row.title}
        if resolved is None:
            job.status = Status.RESOLVING
            resolving = asyncio.ensure_future(resolve(row.source_url, self.ctx.http))
            resolution = await self._until_stopped(resolving, job)
            if resolution.kind == "playlist":
                await expand(self.ctx, row, resolution)
                return
            resolved = _resolution_dict(resolution)
            if self.ctx.handoff is not None and await self.ctx.handoff(row, resolved):
                return  # an external client (a torrent client, a preferred aria2) took it
            if resolution.kind == "torrent":
                raise PermanentTransferError(
                    "Magnet links and .torrent files need a torrent client, "
                    "and none is configured.",
                    code="no_torrent_client",
                )
        row = await self._start(row, resolved)
        job.title = row.title
        job.status = Status.DOWNLOADING
        result = await self._transfer(row, resolved, job)
        job.status = Status.PROCESSING
        await self.outcomes.completed(row, result)

    def _check_stop(self, job: LiveJob) -> None:
        if job.stop.is_set():
            raise TransferStopped()

    async def _transfer(
        self, row: Download, resolved: dict[str, Any], job: LiveJob
    ) -> EngineResult:
        work = self.ctx.builtin.work_dir(row.id)
        work.mkdir(parents=True, exist_ok=True)
        engine_job = EngineJob(
            download_id=row.id,
            url=resolved.get("url") or row.source_url,
            dest_dir=work,
            profile=await self.ctx.profiles(row.profile_id),
            playlist_index=row.playlist_index,
            filename=resolved.get("filename"),
            hints=resolved,
        )
        if resolved["kind"] == "file":
            task = asyncio.ensure_future(
                self.ctx.http_engine.download(engine_job, job.on_progress, job.stop)
            )
            return await self._until_stopped(task, job)
        from haul.engine import ytdlp  # loaded with the first page job, not at start

        async with self.ctx.ytdlp_slots:
            self._check_stop(job)
            return await asyncio.to_thread(
                ytdlp.run_download, engine_job, job.on_progress, job.stop
            )

    @staticmethod
    async def _until_stopped(task: asyncio.Future[T], job: LiveJob) -> T:
        """Await async work (an engine, a resolve), cancelling it at once when the job is told
        to stop. Work running in a thread cannot be cancelled; its result is dropped."""
        while True:
            done, _ = await asyncio.wait({task}, timeout=0.1)
            if done:
                return task.result()
            if job.stop.is_set():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, TransferStopped):
                    await task
                raise TransferStopped()

    async def _start(self, row: Download, resolved: dict[str, Any]) -> Download:
        """Record that the transfer starts: two plain statements on the row the claim read
        (this and :meth:`Outcomes.completed` run for every download, on the hot path)."""
        now = utcnow()
        values = {
            "phase": Phase.ACTIVE.value,
            "client": q.BUILTIN,
            "client_ref": str(row.id),
            "title": row.title or resolved.get("title"),
            "meta": {**row.meta, "resolved": resolved},
            "started_at": row.started_at or now,
        }
        kind = "resumed" if row.started_at is not None else "started"

        def write(s: Session) -> None:
            s.execute(update(Download).where(Download.id == row.id).values(values))
            q.add_event(s, row.id, kind, engine=resolved["kind"])

        await self.ctx.db.run(write)
        for key, value in values.items():
            setattr(row, key, value)
        await self.ctx.notify(row)
        return row


def _resolution_dict(resolution: Resolution) -> dict[str, Any]:
    return {
        "kind": resolution.kind,
        "url": resolution.url,
        "title": resolution.title,
        "filename": resolution.filename,
        "size": resolution.size,
        "content_type": resolution.content_type,
    }
