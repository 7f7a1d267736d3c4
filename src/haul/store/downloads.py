"""Named queries over downloads: submit under limits, fair admission, claims, transitions.

Each function takes an open session inside the caller's transaction; callers choose the
transaction (``Database.write(admission=True)`` where limits are decided).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from haul.core.admission import Limits, next_rank
from haul.core.sources import Source
from haul.core.status import OPEN_PHASES, SLOT_PHASES, Phase
from haul.errors import HaulError
from haul.store.models import Download, DownloadEvent, Worker, utcnow
from haul.store.submits import NewDownload, submit_many

BUILTIN = "builtin"
_SLOT = [p.value for p in SLOT_PHASES]
_OPEN = [p.value for p in OPEN_PHASES]


def _slot_holders() -> ColumnElement[bool]:
    return Download.phase.in_(_SLOT)


async def queue_rank_for(session: AsyncSession, owner_key: str, *, front: bool = False) -> int:
    queued = Download.phase == Phase.QUEUED.value
    lowest = await session.scalar(select(func.min(Download.queue_rank)).where(queued))
    if front:
        return int(lowest or 0)
    mine = await session.scalar(
        select(func.max(Download.queue_rank)).where(queued, Download.owner_key == owner_key)
    )
    return next_rank(None if mine is None else int(mine), None if lowest is None else int(lowest))


async def submit(
    session: AsyncSession,
    *,
    source: Source,
    owner_key: str,
    limits: Limits,
    policy: str,
    owner_limit: int | None = None,
    paused: bool = False,
    priority: int = 0,
    **fields: Any,
) -> Download:
    """Store one new download, or raise why not (batches: :func:`submits.submit_many`)."""
    item = NewDownload(source, owner_key, owner_limit, paused, priority, fields)
    outcomes = await session.run_sync(submit_many, [item], limits=limits, policy=policy)
    outcome = outcomes[0]
    if isinstance(outcome, HaulError):
        raise outcome
    return outcome


@dataclass(frozen=True, slots=True)
class QueueState:
    slots_used: int
    waiting_due: bool  # a queued download may be admitted now
    next_retry: datetime | None  # the earliest retry still waiting for its time
    claimable: bool  # an admitted built-in job has no worker


async def queue_state(session: AsyncSession, now: datetime) -> QueueState:
    """What the scheduler needs to know, in one round trip and without the write lock."""
    queued = Download.phase == Phase.QUEUED.value
    row = (
        await session.execute(
            select(
                select(func.count()).where(_slot_holders()).scalar_subquery(),
                select(Download.id)
                .where(
                    queued,
                    Download.desired_paused.is_(False),
                    Download.canceled_at.is_(None),
                    or_(Download.retry_next_at.is_(None), Download.retry_next_at <= now),
                )
                .limit(1)
                .scalar_subquery(),
                select(func.min(Download.retry_next_at))
                .where(queued, Download.retry_next_at > now)
                .scalar_subquery(),
                _claimable_query().with_only_columns(Download.id).limit(1).scalar_subquery(),
            )
        )
    ).one()
    used, waiting, next_retry, claimable = row
    if isinstance(next_retry, str):  # SQLite returns an aggregate of a date column as text
        next_retry = datetime.fromisoformat(next_retry).replace(tzinfo=UTC)
    return QueueState(int(used or 0), waiting is not None, next_retry, claimable is not None)


def admit_waiting(
    session: Session, limits: Limits, *, now: datetime | None = None, batch: int = 200
) -> list[int]:
    """Admit queued downloads into free slots, in fair (rank, id) order; returns their ids."""
    now = now or utcnow()
    total = int(session.scalar(select(func.count()).where(_slot_holders())) or 0)
    free = limits.global_active - total
    if free <= 0:
        return []
    per_owner: dict[str, int] = {}
    if limits.per_owner is not None:
        counts = session.execute(
            select(Download.owner_key, func.count())
            .where(_slot_holders())
            .group_by(Download.owner_key)
        )
        per_owner = {key: int(count) for key, count in counts.all()}
    admitted: list[int] = []
    after: tuple[int, int] | None = None
    while free > 0:
        query = (
            select(Download.id, Download.owner_key, Download.queue_rank)
            .where(
                Download.phase == Phase.QUEUED.value,
                Download.desired_paused.is_(False),
                Download.canceled_at.is_(None),
                or_(Download.retry_next_at.is_(None), Download.retry_next_at <= now),
            )
            .order_by(Download.queue_rank, Download.id)
            .limit(batch)
        )
        if after is not None:
            query = query.where(
                or_(
                    Download.queue_rank > after[0],
                    and_(Download.queue_rank == after[0], Download.id > after[1]),
                )
            )
        rows = (session.execute(query)).all()
        if not rows:
            break
        for download_id, owner_key, rank in rows:
            after = (rank, download_id)
            if limits.per_owner is not None and per_owner.get(owner_key, 0) >= limits.per_owner:
                continue
            admitted.append(download_id)
            per_owner[owner_key] = per_owner.get(owner_key, 0) + 1
            free -= 1
            if free == 0:
                break
    if admitted:
        session.execute(
            update(Download)
            .where(Download.id.in_(admitted))
            .values(phase=Phase.ADMITTED.value, admitted_at=now)
        )
        session.add_all(
            DownloadEvent(download_id=i, at=now, kind="admitted", data={}) for i in admitted
        )
    return admitted


def _claimable_query() -> Any:
    return select(Download).where(
        Download.phase.in_([Phase.ADMITTED.value, Phase.ACTIVE.value]),
        Download.lease_worker_id.is_(None),
        or_(Download.client.is_(None), Download.client == BUILTIN),
        Download.desired_paused.is_(False),
        Download.canceled_at.is_(None),
    )


def claim(session: Session, worker_id: str, limit: int, *, skip_locked: bool) -> list[Download]:
    """Lease up to ``limit`` admitted built-in jobs to ``worker_id``."""
    query = _claimable_query().order_by(Download.admitted_at, Download.id).limit(limit)
    if skip_locked:
        query = query.with_for_update(skip_locked=True)
    jobs = list(session.scalars(query).all())
    if jobs:
        session.execute(
            update(Download)
            .where(Download.id.in_([job.id for job in jobs]))
            .values(lease_worker_id=worker_id)
        )
        for job in jobs:
            job.lease_worker_id = worker_id
    return jobs


async def register_worker(session: AsyncSession, worker: Worker) -> None:
    session.add(worker)


async def heartbeat(session: AsyncSession, worker_id: str) -> None:
    await session.execute(
        update(Worker).where(Worker.id == worker_id).values(heartbeat_at=utcnow())
    )


async def reap_workers(session: AsyncSession, dead_ids: Iterable[str]) -> int:
    """Forget dead workers and return their jobs to the queue; returns jobs released."""
    ids = list(dead_ids)
    if not ids:
        return 0
    result = await session.execute(
        update(Download).where(Download.lease_worker_id.in_(ids)).values(lease_worker_id=None)
    )
    await session.execute(delete(Worker).where(Worker.id.in_(ids)))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def workers(session: AsyncSession) -> Sequence[Worker]:
    return (await session.scalars(select(Worker))).all()


async def desired_states(session: AsyncSession, ids: Sequence[int]) -> dict[int, tuple[bool, bool]]:
    """(wants paused, is canceled) of each download in ``ids``; a deleted one counts as canceled."""
    rows = await session.execute(
        select(Download.id, Download.desired_paused, Download.canceled_at).where(
            Download.id.in_(ids)
        )
    )
    found = {int(i): (bool(p), c is not None) for i, p, c in rows.all()}
    return {i: found.get(i, (False, True)) for i in ids}


def add_event(
    session: Session | AsyncSession,
    download_id: int,
    kind: str,
    message: str | None = None,
    **data: Any,
) -> None:
    """Append to a download's history (no I/O until the transaction flushes)."""
    session.add(
        DownloadEvent(download_id=download_id, at=utcnow(), kind=kind, message=message, data=data)
    )


async def child_status_rows(
    session: AsyncSession, parent_ids: Sequence[int]
) -> list[tuple[int, str, bool]]:
    if not parent_ids:
        return []
    rows = await session.execute(
        select(Download.parent_id, Download.phase, Download.desired_paused).where(
            Download.parent_id.in_(parent_ids)
        )
    )
    return [(int(p), str(ph), bool(dp)) for p, ph, dp in rows.all() if p is not None]
