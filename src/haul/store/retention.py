"""Named queries of retention: finished downloads past their age, a batch at a time.

The conditions of :mod:`haul.core.retention` are repeated here in SQL so that a run reads
only the rows it may remove, and the delete checks them again: a download retried, leased or
given children since it was read is not removed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    and_,
    case,
    delete,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from haul.core.owners import ANONYMOUS_PREFIX
from haul.core.retention import EXPIRING_PHASES
from haul.core.routing import BUILTIN
from haul.core.status import Phase
from haul.store.models import Download, MediaFile, utcnow

_EXPIRING = [p.value for p in EXPIRING_PHASES]
_Child = aliased(Download)

#: The columns :class:`haul.core.retention.Finished` and the file removal need.
COLUMNS = (
    Download.id,
    Download.owner_key,
    Download.phase,
    Download.created_at,
    Download.completed_at,
    Download.failed_at,
    Download.canceled_at,
    Download.lease_worker_id,
    Download.client,
    Download.client_ref,
    Download.client_released_at,
    Download.parent_id,
    Download.files,
    Download.title,
    Download.source_url,
)


@dataclass(frozen=True, slots=True)
class Scope:
    """The downloads of one kind of owner that finished before ``before``."""

    anonymous: bool
    before: datetime


def finished_at() -> ColumnElement[datetime]:
    """SQL of :func:`haul.core.retention.finished_at`."""
    return func.coalesce(
        case(
            (Download.phase == Phase.COMPLETED.value, Download.completed_at),
            (Download.phase == Phase.FAILED.value, Download.failed_at),
            (Download.phase == Phase.CANCELED.value, Download.canceled_at),
        ),
        Download.created_at,
    )


def _has_children() -> ColumnElement[bool]:
    return exists().where(_Child.parent_id == Download.id)


def _expiring(scope: Scope, *, childless: bool, held: bool) -> list[ColumnElement[bool]]:
    """``held``: rows whose item an external client still holds are wanted too (the caller
    asks the client about them)."""
    owners = Download.owner_key.startswith(ANONYMOUS_PREFIX, autoescape=True)
    conditions = [
        Download.phase.in_(_EXPIRING),
        Download.lease_worker_id.is_(None),
        owners if scope.anonymous else ~owners,
        finished_at() < scope.before,
    ]
    if not held:
        conditions.append(
            or_(
                Download.client.is_(None),
                Download.client == BUILTIN,
                Download.client_ref.is_(None),
                Download.client_released_at.is_not(None),
            )
        )
    if childless:
        conditions.append(~_has_children())
    return conditions


async def candidates(
    s: AsyncSession,
    scope: Scope,
    *,
    after_id: int,
    limit: int,
    only: Collection[int] | None = None,
) -> Sequence[Row[Any]]:
    """The next ``limit`` rows past ``after_id`` (by id) that may have expired, those an
    external client holds included. Without ``only`` playlists with children are left out;
    with it (the parents of the rows just removed) they are read too, and the caller looks
    at their children."""
    query = select(*COLUMNS).where(*_expiring(scope, childless=only is None, held=True))
    if only is not None:
        query = query.where(Download.id.in_(list(only)))
    query = query.where(Download.id > after_id).order_by(Download.id).limit(limit)
    return (await s.execute(query)).all()


async def children_of(s: AsyncSession, parent_ids: Collection[int]) -> dict[int, set[int]]:
    """parent id -> the ids of its children still stored."""
    found: dict[int, set[int]] = defaultdict(set)
    if parent_ids:
        rows = await s.execute(
            select(Download.parent_id, Download.id).where(Download.parent_id.in_(list(parent_ids)))
        )
        for parent, child in rows.all():
            if parent is not None:
                found[parent].add(child)
    return found


async def remove(
    s: AsyncSession, scope: Scope, ids: Collection[int], *, released: Collection[int] = ()
) -> list[int]:
    """Delete the rows among ``ids`` still expired (their events and media file records go
    with them: the database cascades), but for the records of files filed into the library:
    those stay with their media item. The ids actually deleted. ``released``: rows whose
    item was just removed from its external client (recorded first)."""
    if not ids:
        return []
    if released:
        await s.execute(
            update(Download)
            .where(Download.id.in_(list(released)), Download.client_released_at.is_(None))
            .values(client_released_at=utcnow())
        )
    still = (
        await s.scalars(
            select(Download.id)
            .where(Download.id.in_(list(ids)), and_(*_expiring(scope, childless=True, held=False)))
            .with_for_update()
        )
    ).all()
    if not still:
        return []
    await s.execute(
        update(MediaFile)
        .where(MediaFile.download_id.in_(still), MediaFile.import_mode.is_not(None))
        .values(download_id=None)
    )
    statement = delete(Download).where(Download.id.in_(still)).returning(Download.id)
    return [int(i) for i in (await s.execute(statement)).scalars().all()]
