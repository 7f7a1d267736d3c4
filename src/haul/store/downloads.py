"""Named queries over downloads: submit under limits, fair admission, claims, transitions.

Each function takes an open session inside the caller's transaction; callers choose the
transaction (``Database.write(admission=True)`` where limits are decided).
"""

from __future__ import annotations

import contextlib
import typing
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    bindparam,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from haul.core import lifecycle
from haul.core.admission import Active, Candidate, Limits, choose, next_rank
from haul.core.lifecycle import Change, Snapshot
from haul.core.sites import per_rule
from haul.core.sources import Source
from haul.core.status import OPEN_PHASES, SLOT_PHASES, Phase
from haul.core.submit_options import DEFAULT_OPTIONS, SubmitOptions
from haul.errors import HaulError, InvalidTransition
from haul.store import changes
from haul.store.changes import snapshot
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
    options: SubmitOptions = DEFAULT_OPTIONS,
) -> Download:
    """Store one new download, or raise why not (batches: :func:`submits.submit_many`)."""
    item = NewDownload(source, owner_key, options, owner_limit=owner_limit)
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


# The statements of the hot path, built once: every finished download runs them (admission and
# claim of its successor, in its completion transaction). Building a statement and its cache
# key costs more CPU than SQLite spends running it, and Core statements on the table skip the
# ORM's bookkeeping where no objects are needed.
_TABLE = typing.cast(Table, Download.__table__)
_SLOTS_USED = select(func.count()).select_from(_TABLE).where(_TABLE.c.phase.in_(_SLOT))
_SLOTS_PER_OWNER = (
    select(_TABLE.c.owner_key, func.count())
    .where(_TABLE.c.phase.in_(_SLOT))
    .group_by(_TABLE.c.owner_key)
)
_SLOTS_PER_CLIENT = (
    select(_TABLE.c.client, func.count())
    .where(_TABLE.c.phase.in_(_SLOT), _TABLE.c.client.in_(bindparam("names", expanding=True)))
    .group_by(_TABLE.c.client)
)
_SLOTS_PER_SITE = (
    select(_TABLE.c.site, func.count())
    .where(_TABLE.c.phase.in_(_SLOT), _TABLE.c.site.is_not(None))
    .group_by(_TABLE.c.site)
)
_WAITING = (
    select(_TABLE.c.id, _TABLE.c.owner_key, _TABLE.c.queue_rank, _TABLE.c.client, _TABLE.c.site)
    .where(
        _TABLE.c.phase == Phase.QUEUED.value,
        _TABLE.c.desired_paused.is_(False),
        _TABLE.c.canceled_at.is_(None),
        or_(_TABLE.c.retry_next_at.is_(None), _TABLE.c.retry_next_at <= bindparam("now")),
    )
    .order_by(_TABLE.c.queue_rank, _TABLE.c.id)
    .limit(bindparam("batch"))
)
_WAITING_AFTER = _WAITING.where(
    or_(
        _TABLE.c.queue_rank > bindparam("after_rank"),
        and_(
            _TABLE.c.queue_rank == bindparam("after_rank"),
            _TABLE.c.id > bindparam("after_id"),
        ),
    )
)


def active_counts(session: Session, limits: Limits, *, total: int | None = None) -> Active:
    """What holds a slot now: in all, and per owner, client and site rule where ``limits``
    caps them (``total``: already counted)."""
    if total is None:
        total = int(session.scalar(_SLOTS_USED) or 0)
    per_owner: dict[str, int] = {}
    if limits.per_owner is not None:
        counts = session.execute(_SLOTS_PER_OWNER)
        per_owner = {key: int(count) for key, count in counts.all()}
    per_client: dict[str, int] = {}
    if limits.per_client:
        counts = session.execute(_SLOTS_PER_CLIENT, {"names": list(limits.per_client)})
        per_client = {str(name): int(count) for name, count in counts.all()}
    per_site: dict[str, int] = {}
    if limits.per_site:
        # one row per site holding a slot (at most the global limit of them)
        counts = session.execute(_SLOTS_PER_SITE)
        per_site = per_rule({str(h): int(n) for h, n in counts.all()}, limits.per_site)
    return Active(total, per_owner, per_client, per_site)


def admit_waiting(
    session: Session, limits: Limits, *, now: datetime | None = None, batch: int = 200
) -> list[int]:
    """Admit queued downloads into free slots, in fair (rank, id) order; returns their ids.
    The waiting rows are read a batch at a time until the slots are full or none is left:
    :func:`~haul.core.admission.choose` picks from each batch."""
    now = now or utcnow()
    total = int(session.scalar(_SLOTS_USED) or 0)
    if limits.global_active - total <= 0:
        return []
    active = active_counts(session, limits, total=total)
    admitted: list[int] = []
    after: tuple[int, int] | None = None
    # Without a per-owner limit every row read is admitted: read no more than there are slots
    # (a finished download's write admits its successor here, one row at a time).
    capped = limits.per_owner is not None or bool(limits.per_client) or bool(limits.per_site)
    batch = batch if capped else min(batch, limits.global_active - total)
    while active.total < limits.global_active:
        if after is None:
            rows = session.execute(_WAITING, {"now": now, "batch": batch}).all()
        else:
            rows = session.execute(
                _WAITING_AFTER,
                {"now": now, "batch": batch, "after_rank": after[0], "after_id": after[1]},
            ).all()
        if not rows:
            break
        candidates = [
            Candidate(i, owner, client, rank, site) for i, owner, rank, client, site in rows
        ]
        after = (candidates[-1].rank, candidates[-1].id)
        chosen = choose(candidates, active, limits)
        if chosen:
            taken = set(chosen)
            active = active.taking((c for c in candidates if c.id in taken), limits)
            admitted += chosen
    # each row as _WAITING read it: queued, not paused, not canceled
    made = [(i, lifecycle.admit(Snapshot(i, Phase.QUEUED), at=now)) for i in admitted]
    changes.write(session, made, now)
    return admitted


def _claimable_query() -> Any:
    return select(Download).where(
        Download.phase.in_([Phase.ADMITTED.value, Phase.ACTIVE.value]),
        Download.lease_worker_id.is_(None),
        or_(Download.client.is_(None), Download.client == BUILTIN),
        Download.desired_paused.is_(False),
        Download.canceled_at.is_(None),
    )


_CLAIMABLE = (
    _claimable_query().order_by(Download.admitted_at, Download.id).limit(bindparam("limit"))
)
_CLAIMABLE_SKIP_LOCKED = _CLAIMABLE.with_for_update(skip_locked=True)


def claim(session: Session, worker_id: str, limit: int, *, skip_locked: bool) -> list[Download]:
    """Lease up to ``limit`` admitted built-in jobs to ``worker_id`` and record that they start:
    the worker runs them at once, so the claim is their start (phase active on the built-in
    client, ``started``, or ``resumed`` when an earlier attempt started, in their history).
    The rows come back as they now are in the database."""
    query = _CLAIMABLE_SKIP_LOCKED if skip_locked else _CLAIMABLE
    now = utcnow()
    made: list[tuple[Download, Change]] = []
    for job in session.scalars(query, {"limit": limit}).all():
        engine = (job.meta.get("resolved") or {}).get("kind")
        with contextlib.suppress(InvalidTransition):  # the query reads claimable rows only
            made.append(
                (job, lifecycle.claim(snapshot(job), worker=worker_id, at=now, engine=engine))
            )
    changes.write(session, [(job.id, change) for job, change in made], now)
    for job, change in made:
        for key, value in change.updates.items():
            set_committed_value(job, key, value)  # as written above; nothing left to flush
    return [job for job, _ in made]


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


def release_dropped(
    session: Session, worker_id: str, ids: Iterable[int], running: Callable[[int], bool]
) -> int:
    """Give back ``worker_id``'s leases on the built-in jobs of ``ids`` it no longer runs;
    returns how many it gave back. A job it paused meanwhile is queued (paused), not left
    holding a slot. ``running`` says which jobs the worker runs: asked after the leases are
    released, in the same transaction, so that a job leased again while this ran (by a claim
    that committed just before) gets its lease back before anyone sees it free."""
    wanted = list(ids)
    if not wanted:
        return 0
    released = session.execute(
        update(_TABLE)
        .where(
            _TABLE.c.id.in_(wanted),
            _TABLE.c.lease_worker_id == worker_id,
            _TABLE.c.client == BUILTIN,
            _TABLE.c.phase != Phase.PROCESSING.value,
        )
        .values(lease_worker_id=None)
        .returning(_TABLE.c.id, _TABLE.c.phase, _TABLE.c.desired_paused, _TABLE.c.canceled_at)
    ).all()
    again = [i for i, *_ in released if running(i)]
    if again:
        session.execute(
            update(_TABLE).where(_TABLE.c.id.in_(again)).values(lease_worker_id=worker_id)
        )
    gone = [
        Snapshot(i, Phase(phase), desired_paused=paused, canceled=canceled is not None)
        for i, phase, paused, canceled in released
        if i not in again
    ]
    parked = [(s.id, change) for s in gone if (change := dropped(s)) is not None]
    changes.write(session, parked, utcnow())
    return len(gone)


def dropped(snap: Snapshot) -> Change | None:
    """What a job its worker no longer runs becomes, besides unleased (None: nothing more): a
    job paused meanwhile goes back to the queue, not left holding a slot (its history told
    the pause when it was asked for)."""
    if not snap.desired_paused:
        return None
    try:
        return replace(lifecycle.park(snap), event=None)
    except InvalidTransition:
        return None


def finished_ids(session: Session, ids: Sequence[int]) -> set[int]:
    """Which downloads of ``ids`` are recorded as finished (processing or completed)."""
    if not ids:
        return set()
    query = select(_TABLE.c.id).where(
        _TABLE.c.id.in_(list(ids)),
        _TABLE.c.phase.in_([Phase.PROCESSING.value, Phase.COMPLETED.value]),
    )
    return {int(i) for i in session.scalars(query).all()}


async def workers(session: AsyncSession) -> Sequence[Worker]:
    return (await session.scalars(select(Worker))).all()


async def transfers_by_worker(session: AsyncSession) -> dict[str, dict[str, int]]:
    """How many leased built-in jobs (not being processed) each worker runs, per owner."""
    rows = await session.execute(
        select(Download.lease_worker_id, Download.owner_key, func.count())
        .where(
            Download.lease_worker_id.is_not(None),
            Download.phase.in_([p.value for p in SLOT_PHASES]),
        )
        .group_by(Download.lease_worker_id, Download.owner_key)
    )
    counts: dict[str, dict[str, int]] = {}
    for worker, owner, count in rows.all():
        counts.setdefault(str(worker), {})[str(owner)] = int(count)
    return counts


async def desired_states(
    session: AsyncSession, ids: Sequence[int]
) -> dict[int, tuple[bool, bool, bool, int | None]]:
    """(wants paused, is canceled, wants its live recording ended, its own speed limit) of
    each download in ``ids``; a deleted one counts as canceled."""
    rows = await session.execute(
        select(
            Download.id,
            Download.desired_paused,
            Download.canceled_at,
            Download.meta,
            Download.speed_limit,
        ).where(Download.id.in_(ids))
    )
    found = {
        int(i): (bool(p), c is not None, bool((m or {}).get("stop_requested")), limit)
        for i, p, c, m, limit in rows.all()
    }
    return {i: found.get(i, (False, True, False, None)) for i in ids}


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
) -> list[tuple[int, str, bool, list[Any], datetime | None]]:
    """Each entry of the playlists ``parent_ids``: its parent, phase, wish to be paused, files
    and completion time."""
    if not parent_ids:
        return []
    rows = await session.execute(
        select(
            Download.parent_id,
            Download.phase,
            Download.desired_paused,
            Download.files,
            Download.completed_at,
        ).where(Download.parent_id.in_(parent_ids))
    )
    return [
        (int(p), str(ph), bool(dp), list(files or []), done)
        for p, ph, dp, files, done in rows.all()
        if p is not None
    ]


async def changed_since(session: AsyncSession, since: datetime, limit: int = 1000) -> list[int]:
    """Downloads that finished, failed, were canceled or were handed to an external client at
    or after ``since`` (newest first): what an event stream missed while it was cut. Jobs of
    the built-in engine that started meanwhile are left out: their live state comes back
    with their next progress event."""
    query = (
        select(Download.id)
        .where(
            or_(
                Download.completed_at >= since,
                Download.failed_at >= since,
                Download.canceled_at >= since,
                and_(
                    Download.started_at >= since,
                    Download.client.is_not(None),
                    Download.client != BUILTIN,
                ),
            )
        )
        .order_by(Download.id.desc())
        .limit(limit)
    )
    return [int(i) for i in (await session.scalars(query)).all()]
