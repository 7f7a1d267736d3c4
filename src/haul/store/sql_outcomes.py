"""How a built-in job's end other than completion is written: stopped (paused, canceled, shut
down), waiting for disk space, given back, failed (retried later or for good), and notices
added to its history. Each write keeps what the attempt learned of its source."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from haul.core.sources import domain_of
from haul.core.status import Phase
from haul.store.downloads import add_event, queue_rank_for
from haul.store.jobs import Failure, Learned, PlaylistEntry
from haul.store.models import Download, ErrorLog, UnsupportedUrl


def keep_learned(db_row: Download, learned: Learned) -> None:
    """Copy what this attempt learned of the source onto the row being written."""
    if learned.resolved is not None and db_row.meta.get("resolved") != learned.resolved:
        db_row.meta = {**db_row.meta, "resolved": learned.resolved}
    db_row.title = db_row.title or learned.title


async def stopped(
    s: AsyncSession, download_id: int, learned: Learned, *, paused: bool
) -> Download | None:
    db_row = await s.get(Download, download_id)
    if db_row is None:
        return None
    db_row.lease_worker_id = None
    keep_learned(db_row, learned)
    if paused and db_row.canceled_at is None:
        db_row.phase = Phase.QUEUED.value
        add_event(s, download_id, "paused")
    return db_row


async def waiting_for_space(
    s: AsyncSession, download_id: int, learned: Learned, message: str, code: str, until: datetime
) -> Download | None:
    db_row = await s.get(Download, download_id)
    if db_row is None:
        return None
    db_row.lease_worker_id = None
    keep_learned(db_row, learned)
    if db_row.canceled_at is None:
        if db_row.last_error_code != code:
            add_event(s, download_id, "waiting_for_space", message, code=code)
        db_row.phase = Phase.QUEUED.value
        db_row.retry_next_at = until
    db_row.last_error_code = code
    db_row.last_error_message = message
    return db_row


def noted(s: AsyncSession, download_id: int, kind: str, messages: Sequence[str]) -> None:
    for message in messages:
        add_event(s, download_id, kind, message)


async def released(s: AsyncSession, download_id: int, learned: Learned) -> None:
    db_row = await s.get(Download, download_id)
    if db_row is not None:
        db_row.lease_worker_id = None
        keep_learned(db_row, learned)


async def failed(
    s: AsyncSession,
    download_id: int,
    learned: Learned,
    failure: Failure,
    retry: Callable[[int], float | None] | None,
    now: datetime,
) -> Download | None:
    db_row = await s.get(Download, download_id)
    if db_row is None:
        return None
    db_row.lease_worker_id = None
    keep_learned(db_row, learned)
    db_row.last_error_code = failure.code
    db_row.last_error_message = failure.message
    if db_row.canceled_at is not None:
        pass
    elif retry is not None and (delay := retry(db_row.retry_attempt)) is not None:
        db_row.retry_attempt += 1
        db_row.retry_next_at = now + timedelta(seconds=delay)
        db_row.phase = Phase.QUEUED.value
        add_event(
            s,
            download_id,
            "retry_scheduled",
            failure.message,
            code=failure.code,
            attempt=db_row.retry_attempt,
            delay=round(delay, 1),
        )
    else:
        db_row.phase = Phase.FAILED.value
        db_row.failed_at = now
        add_event(s, download_id, "failed", failure.message, code=failure.code)
        s.add(
            ErrorLog(
                download_id=download_id,
                domain=domain_of(failure.source_url),
                error_code=failure.code,
                message=failure.message,
                media_type=(db_row.meta.get("resolved") or {}).get("kind"),
            )
        )
        if failure.unsupported:
            s.add(
                UnsupportedUrl(
                    url=failure.source_url,
                    domain=domain_of(failure.source_url),
                    error=failure.message,
                    owner_key=failure.owner_key,
                )
            )
    return db_row


async def expand(
    s: AsyncSession, parent_id: int, title: str | None, entries: Sequence[PlaylistEntry]
) -> Download:
    parent = await s.get(Download, parent_id)
    assert parent is not None
    parent.phase = Phase.PARENT.value
    parent.title = parent.title or title
    parent.lease_worker_id = None
    parent.meta = {**parent.meta, "resolved": {"kind": "playlist", "count": len(entries)}}
    for entry in entries:
        s.add(
            Download(
                owner_key=parent.owner_key,
                user_id=parent.user_id,
                session_id=parent.session_id,
                ip=parent.ip,
                source_url=entry.source_url,
                dedupe_key=entry.dedupe_key,
                title=entry.title,
                profile_id=parent.profile_id,
                parent_id=parent_id,
                playlist_index=entry.playlist_index,
                queue_rank=await queue_rank_for(s, parent.owner_key),
                phase=Phase.QUEUED.value,
                meta={"source_kind": "url"},
                files=[],
            )
        )
        await s.flush()
    for child in (
        await s.scalars(select(Download.id).where(Download.parent_id == parent_id))
    ).all():
        add_event(s, child, "created", parent=parent_id)
    add_event(s, parent_id, "expanded", f"Playlist with {len(entries)} entries")
    return parent
