"""The processing store over haul's database (SQLite or PostgreSQL): the queries of
:class:`~haul.store.processing.ProcessingStore`, each in its own transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, aliased

from haul.core import lifecycle
from haul.core.lifecycle import Snapshot
from haul.core.media_items import Subject
from haul.core.status import Phase
from haul.store.database import Database
from haul.store.models import Download, DownloadEvent, MediaFile, MediaItem, Profile, utcnow
from haul.store.processing import Finished, Job

if TYPE_CHECKING:
    from haul.store.processing import ProcessingStore

_PROCESSING = Phase.PROCESSING.value


def waiting(s: Session, limit: int) -> list[int]:
    """Downloads to process that no live worker holds."""
    query = (
        select(Download.id)
        .where(Download.phase == _PROCESSING, Download.lease_worker_id.is_(None))
        .order_by(Download.id)
        .limit(limit)
    )
    return [int(i) for i in s.scalars(query).all()]


def take(s: Session, ids: Sequence[int], worker_id: str) -> list[int]:
    """Lease what is still unheld of ``ids`` to ``worker_id``; returns what it got."""
    if not ids:
        return []
    result = s.execute(
        update(Download)
        .where(
            Download.id.in_(list(ids)),
            Download.phase == _PROCESSING,
            Download.lease_worker_id.is_(None),
        )
        .values(lease_worker_id=worker_id)
        .returning(Download.id)
    )
    return [int(i) for i in result.scalars().all()]


def jobs(s: Session, ids: Sequence[int], worker_id: str) -> list[Job]:
    """The downloads of ``ids`` this worker holds and that still wait to be processed."""
    parent = aliased(MediaItem)
    query = (
        select(Download, MediaItem, parent, Profile.name)
        .outerjoin(MediaItem, MediaItem.id == Download.media_id)
        .outerjoin(parent, parent.id == MediaItem.parent_id)
        .outerjoin(Profile, Profile.id == Download.profile_id)
        .where(
            Download.id.in_(list(ids)),
            Download.phase == _PROCESSING,
            Download.lease_worker_id == worker_id,
        )
        .order_by(Download.id)
    )
    out = []
    for row, item, parent_item, profile in s.execute(query).all():
        out.append(
            Job(
                id=row.id,
                owner_key=row.owner_key,
                title=row.title,
                source_url=row.source_url,
                client=row.client,
                client_held=row.client not in (None, "builtin") and row.client_released_at is None,
                files=list(row.files or []),
                media_id=row.media_id,
                subject=subject_of(item, parent_item) if item is not None else None,
                profile=profile,
                completed_at=row.completed_at,
                error_code=row.last_error_code,
                error_message=row.last_error_message,
            )
        )
    return out


def subject_of(item: MediaItem, parent: MediaItem | None) -> Subject:
    return Subject(
        kind=item.kind,  # type: ignore[arg-type]
        title=item.title,
        year=item.year,
        season=item.season,
        episode=item.episode,
        parent_kind=parent.kind if parent is not None else None,  # type: ignore[arg-type]
        parent_title=parent.title if parent is not None else None,
        parent_year=parent.year if parent is not None else None,
    )


def finish(s: Session, done: Finished) -> bool:
    """Record ``done`` (see :meth:`~haul.store.processing.ProcessingStore.finish`)."""
    now = utcnow()
    held = Snapshot(done.download_id, Phase.PROCESSING, leased=True)
    change = lifecycle.complete(held, at=now, files=len(done.files))
    result = s.execute(
        update(Download)
        .where(
            Download.id == done.download_id,
            Download.phase == held.phase.value,
            Download.lease_worker_id == done.worker_id,
            Download.canceled_at.is_(None),
        )
        .values(
            **change.updates,
            files=done.files,
            last_error_code=done.error_code,
            last_error_message=done.error_message,
        )
    )
    if not result.rowcount:  # type: ignore[attr-defined]
        return False
    s.execute(delete(MediaFile).where(MediaFile.download_id == done.download_id))
    if done.records:
        s.execute(
            MediaFile.__table__.insert(),  # type: ignore[attr-defined]
            [{"download_id": done.download_id, "probed_at": now, **r} for r in done.records],
        )
    s.execute(
        DownloadEvent.__table__.insert(),  # type: ignore[attr-defined]
        [
            {"download_id": done.download_id, "at": now, "kind": k, "message": m, "data": d}
            for k, m, d in [*done.events, (change.event, change.message, dict(change.event_data))]
        ],
    )
    return True


class SqlProcessingStore:
    """:class:`~haul.store.processing.ProcessingStore` over a :class:`Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def waiting(self, limit: int) -> list[int]:
        return await self.db.query(lambda s: waiting(s, limit))

    async def take(self, ids: Sequence[int], worker_id: str) -> list[int]:
        return await self.db.run(lambda s: take(s, ids, worker_id))

    async def jobs(self, ids: Sequence[int], worker_id: str) -> list[Job]:
        return await self.db.query(lambda s: jobs(s, ids, worker_id))

    async def finish(self, done: Sequence[Finished]) -> list[bool]:
        return await self.db.run(lambda s: [finish(s, f) for f in done])


if TYPE_CHECKING:  # the store has every operation of the protocol
    _conforms: type[ProcessingStore] = SqlProcessingStore
