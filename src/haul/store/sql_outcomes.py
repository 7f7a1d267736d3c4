"""How a built-in job's end other than completion is written: stopped (paused, canceled, shut
down), waiting for disk space, given back, failed (retried later or for good), and notices
added to its history. Each write keeps what the attempt learned of its source."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import partial

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from haul.core import lifecycle
from haul.core.sites import site_of
from haul.core.sources import domain_of
from haul.core.status import Phase
from haul.errors import InvalidTransition
from haul.store import outcome_rows as rows
from haul.store.changes import apply, record, snapshot
from haul.store.downloads import add_event, queue_rank_for
from haul.store.jobs import Failure, Learned, PlaylistEntry
from haul.store.models import Download, ErrorLog, UnsupportedUrl


async def stopped(
    s: AsyncSession, download_id: int, learned: Learned, *, paused: bool
) -> Download | None:
    db_row = await s.get(Download, download_id, with_for_update=True)
    if db_row is not None:
        rows.stop(db_row, learned, partial(add_event, s, download_id), paused=paused)
    return db_row


async def waiting_for_space(
    s: AsyncSession, download_id: int, learned: Learned, message: str, code: str, until: datetime
) -> Download | None:
    db_row = await s.get(Download, download_id, with_for_update=True)
    if db_row is not None:
        record = partial(add_event, s, download_id)
        rows.wait_for_space(db_row, learned, record, message, code, until)
    return db_row


async def recording(s: AsyncSession, download_id: int, learned: Learned, message: str) -> None:
    db_row = await s.get(Download, download_id, with_for_update=True)
    if db_row is not None:
        rows.keep_learned(db_row, learned)
        add_event(s, download_id, "recording", message)


def noted(s: AsyncSession, download_id: int, kind: str, messages: Sequence[str]) -> None:
    for message in messages:
        add_event(s, download_id, kind, message)


async def released(s: AsyncSession, download_id: int, learned: Learned) -> None:
    db_row = await s.get(Download, download_id, with_for_update=True)
    if db_row is not None:
        rows.release(db_row, learned)


async def failed(
    s: AsyncSession,
    download_id: int,
    learned: Learned,
    failure: Failure,
    retry: Callable[[int], float | None] | None,
    now: datetime,
) -> Download | None:
    db_row = await s.get(Download, download_id, with_for_update=True)
    if db_row is None:
        return None
    record = partial(add_event, s, download_id)
    if rows.fail(db_row, learned, record, failure, retry, now):
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
    parent = await s.get(Download, parent_id, with_for_update=True)
    assert parent is not None
    try:
        change = lifecycle.expand(snapshot(parent), entries=len(entries))
    except InvalidTransition:  # canceled meanwhile: no entry is queued
        parent.lease_worker_id = None
        return parent
    apply(parent, change)
    parent.title = parent.title or title
    parent.meta = {**parent.meta, "resolved": {"kind": "playlist", "count": len(entries)}}
    for entry in entries:
        s.add(
            Download(
                owner_key=parent.owner_key,
                user_id=parent.user_id,
                session_id=parent.session_id,
                ip=parent.ip,
                source_url=entry.source_url,
                site=site_of(entry.source_url),
                dedupe_key=entry.dedupe_key,
                title=entry.title,
                profile_id=parent.profile_id,
                format=parent.format,
                audio_format=parent.audio_format,
                audio_quality=parent.audio_quality,
                speed_limit=parent.speed_limit,
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
    record(change, partial(add_event, s, parent_id))
    return parent
