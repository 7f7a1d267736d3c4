"""Running one built-in job: resolve the source, move the bytes, file the result.

Every database write here is a state change (started, expanded, completed, failed, retry
scheduled, paused); progress stays in memory (:class:`~haul.clients.builtin.client.LiveJob`).
Finished files are moved out of the job's work folder into the download root under a free name.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from haul.clients.builtin.client import BuiltinClient, LiveJob
from haul.core.paths import free_name, inside
from haul.core.retry import RetryPolicy
from haul.core.sources import _digest, domain_of
from haul.core.status import Phase, Status
from haul.engine.base import EngineJob, EngineResult, Profile
from haul.engine.http import HttpEngine
from haul.engine.resolve import Resolution, resolve
from haul.errors import (
    PermanentTransferError,
    TransferError,
    TransferStopped,
    TransientTransferError,
    UnsupportedSource,
)
from haul.logs import current_download
from haul.store import downloads as q
from haul.store.database import Database
from haul.store.models import Download, ErrorLog, UnsupportedUrl, utcnow

log = logging.getLogger(__name__)

Notify = Callable[[Download], Awaitable[None]]
T = TypeVar("T")


@dataclass
class JobContext:
    db: Database
    builtin: BuiltinClient
    http: httpx.AsyncClient
    http_engine: HttpEngine
    ytdlp_slots: asyncio.Semaphore
    retry: RetryPolicy
    notify: Notify
    profiles: Callable[[int | None], Awaitable[Profile]]


class JobRunner:
    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx

    async def run(self, row: Download, job: LiveJob) -> None:
        """Run a claimed job to its next resting state; never raises."""
        current_download.set(row.id)
        try:
            await self._run(row, job)
        except TransferStopped:
            await self._stopped(row, job)
        except TransferError as exc:
            await self._failed(row, exc)
        except asyncio.CancelledError:
            await asyncio.shield(self._release(row.id))
            raise
        except Exception as exc:
            log.exception("download %s: unexpected error", row.id)
            await self._failed(
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
                await self._expand(row, resolution)
                return
            if resolution.kind == "torrent":
                raise PermanentTransferError(
                    "Magnet links and .torrent files need a torrent client, "
                    "and none is configured.",
                    code="no_torrent_client",
                )
            resolved = _resolution_dict(resolution)
        row = await self._start(row, resolved)
        job.title = row.title
        job.status = Status.DOWNLOADING
        result = await self._transfer(row, resolved, job)
        job.status = Status.PROCESSING
        await self._complete(row, result)

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
        (this and :meth:`_complete` run for every download, on the hot path)."""
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

    async def _expand(self, row: Download, resolution: Resolution) -> None:
        async with self.ctx.db.write() as s:
            parent = await s.get(Download, row.id)
            assert parent is not None
            parent.phase = Phase.PARENT.value
            parent.title = parent.title or resolution.title
            parent.lease_worker_id = None
            parent.meta = {
                **parent.meta,
                "resolved": {"kind": "playlist", "count": len(resolution.entries)},
            }
            for entry in resolution.entries:
                own_url = (
                    entry.url
                    if entry.url and entry.url.startswith(("http://", "https://"))
                    else None
                )
                child_url = own_url or row.source_url
                s.add(
                    Download(
                        owner_key=row.owner_key,
                        user_id=row.user_id,
                        session_id=row.session_id,
                        ip=row.ip,
                        source_url=child_url,
                        dedupe_key=_digest(f"{row.source_url}#{entry.index}"),
                        title=entry.title,
                        profile_id=row.profile_id,
                        parent_id=row.id,
                        playlist_index=None if own_url else entry.index,
                        queue_rank=await q.queue_rank_for(s, row.owner_key),
                        phase=Phase.QUEUED.value,
                        meta={"source_kind": "url"},
                        files=[],
                    )
                )
                await s.flush()
            for child in (
                await s.scalars(select(Download.id).where(Download.parent_id == row.id))
            ).all():
                q.add_event(s, child, "created", parent=row.id)
            q.add_event(s, row.id, "expanded", f"Playlist with {len(resolution.entries)} entries")
        await self.ctx.notify(parent)

    async def _complete(self, row: Download, result: EngineResult) -> None:
        root = self.ctx.builtin.root
        files = []
        for path in result.files:
            if not path.exists() or not inside(path, self.ctx.builtin.work_root):
                continue
            final = free_name(root, path.name)
            await asyncio.to_thread(_move, path, final)
            stat = final.stat()
            files.append(
                {"path": str(final.relative_to(root)), "name": final.name, "size": stat.st_size}
            )
        self.ctx.builtin.delete_partial(row.id)
        now = utcnow()
        live = Download.canceled_at.is_(None)  # a cancel that raced the end wins
        values: dict[str, Any] = {
            "files": files,
            "lease_worker_id": None,
            "title": row.title or result.title,
            "meta": {**row.meta, "result": result.meta},
            "phase": case((live, Phase.COMPLETED.value), else_=Download.phase),
            "completed_at": case((live, now), else_=Download.completed_at),
            "last_error_code": case((live, None), else_=Download.last_error_code),
            "last_error_message": case((live, None), else_=Download.last_error_message),
            "retry_next_at": case((live, None), else_=Download.retry_next_at),
        }
        statement = (
            update(Download)
            .where(Download.id == row.id)
            .values(values)
            .returning(Download.phase, Download.completed_at, Download.canceled_at)
        )

        def write(s: Session) -> tuple[str, datetime | None, datetime | None]:
            outcome = s.execute(statement).one()
            q.add_event(s, row.id, "completed", files=len(files))
            return outcome.phase, outcome.completed_at, outcome.canceled_at

        phase, completed_at, canceled_at = await self.ctx.db.run(write)
        row.files, row.title, row.meta = values["files"], values["title"], values["meta"]
        row.lease_worker_id = None
        row.phase, row.completed_at, row.canceled_at = phase, completed_at, canceled_at
        if phase == Phase.COMPLETED:
            row.last_error_code = row.last_error_message = row.retry_next_at = None
        await self.ctx.notify(row)

    async def _stopped(self, row: Download, job: LiveJob) -> None:
        reason = job.stop.reason or "shutdown"
        if reason == "stall":
            idle = job.idle_for()
            message = f"The transfer stalled: no data received for {idle:.0f} s."
            await self._failed(row, TransientTransferError(message, code="stalled"))
            return
        async with self.ctx.db.write() as s:
            db_row = await s.get(Download, row.id)
            if db_row is None:
                return
            db_row.lease_worker_id = None
            if reason == "pause" and db_row.canceled_at is None:
                db_row.phase = Phase.QUEUED.value
                q.add_event(s, row.id, "paused")
        if reason == "cancel" and db_row.cancel_delete_partial:
            self.ctx.builtin.delete_partial(row.id)
        await self.ctx.notify(db_row)

    async def _release(self, download_id: int) -> None:
        async with self.ctx.db.write() as s:
            await s.execute(
                update(Download).where(Download.id == download_id).values(lease_worker_id=None)
            )

    async def _failed(self, row: Download, exc: TransferError) -> None:
        now = utcnow()
        async with self.ctx.db.write() as s:
            db_row = await s.get(Download, row.id)
            if db_row is None:
                return
            db_row.lease_worker_id = None
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


def _resolution_dict(resolution: Resolution) -> dict[str, Any]:
    return {
        "kind": resolution.kind,
        "url": resolution.url,
        "title": resolution.title,
        "filename": resolution.filename,
        "size": resolution.size,
        "content_type": resolution.content_type,
    }


def _move(src: Path, dst: Path) -> None:
    try:
        src.replace(dst)
    except OSError:
        shutil.move(src, dst)
