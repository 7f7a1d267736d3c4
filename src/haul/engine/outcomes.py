"""How a built-in job ends, in the database: completed, stopped (paused, canceled, shut down,
stalled), or failed (retried later or for good). Every write here is a state change."""

from __future__ import annotations

import asyncio
import logging
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import case, update
from sqlalchemy.orm import Session

from haul.clients.builtin.client import LiveJob
from haul.core.paths import free_name, inside
from haul.core.sources import domain_of
from haul.core.status import Phase
from haul.engine.base import EngineResult
from haul.engine.context import JobContext
from haul.errors import TransferError, TransientTransferError, UnsupportedSource
from haul.store import downloads as q
from haul.store.models import Download, ErrorLog, UnsupportedUrl, utcnow

log = logging.getLogger(__name__)


class Outcomes:
    def __init__(self, ctx: JobContext) -> None:
        self.ctx = ctx

    async def completed(self, row: Download, result: EngineResult) -> None:
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

    async def stopped(self, row: Download, job: LiveJob) -> None:
        reason = job.stop.reason or "shutdown"
        if reason == "stall":
            idle = job.idle_for()
            message = f"The transfer stalled: no data received for {idle:.0f} s."
            await self.failed(row, TransientTransferError(message, code="stalled"))
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

    async def released(self, download_id: int) -> None:
        async with self.ctx.db.write() as s:
            await s.execute(
                update(Download).where(Download.id == download_id).values(lease_worker_id=None)
            )

    async def failed(self, row: Download, exc: TransferError) -> None:
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


def _move(src: Path, dst: Path) -> None:
    try:
        src.replace(dst)
    except OSError:
        shutil.move(src, dst)
