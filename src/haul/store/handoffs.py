"""Named queries for downloads held by external clients: claims to hand over, the rows the
monitor watches, and the transitions it records."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection
from typing import Any

from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.orm import Session, undefer

from haul.core.bandwidth import HELD_MARK
from haul.core.routing import BUILTIN
from haul.core.status import Phase
from haul.store.downloads import add_event
from haul.store.jobs import Watched
from haul.store.models import Download, utcnow

_EXTERNAL = and_(Download.client.is_not(None), Download.client != BUILTIN)


def claim_handoffs(
    s: Session,
    worker_id: str,
    room: dict[str, int | None],
    *,
    skip_locked: bool,
    instead: Callable[[Download], str | None] = lambda row: None,
) -> list[Download]:
    """Lease admitted downloads meant for external clients; ``room`` caps each named client
    (None: no cap). Rows for a client not in ``room`` are leased too: the caller re-routes
    them (their client was removed or disabled). ``instead`` names another client for a row
    whose own cannot be reached; the row moves to it (recorded) when it has room."""
    query = (
        select(Download)
        .options(undefer(Download.source_blob))
        .where(
            Download.phase == Phase.ADMITTED.value,
            _EXTERNAL,
            Download.lease_worker_id.is_(None),
            Download.desired_paused.is_(False),
            Download.canceled_at.is_(None),
        )
        .order_by(Download.admitted_at, Download.id)
        .limit(200)
    )
    if skip_locked:
        query = query.with_for_update(skip_locked=True)
    taken: list[Download] = []
    left = dict(room)
    for row in s.scalars(query).all():
        name = str(row.client)
        other = instead(row)
        if other is not None and other != name and left.get(other, 0) != 0:
            message = f"{name} cannot be reached; sent to {other}"
            add_event(s, row.id, "rerouted", message, unreachable=name, client=other)
            row.client = name = other
        cap = left.get(name)
        if cap is not None:
            if cap <= 0:
                continue
            left[name] = cap - 1
        taken.append(row)
    if taken:
        s.execute(
            update(Download)
            .where(Download.id.in_([row.id for row in taken]))
            .values(lease_worker_id=worker_id)
        )
    return taken


def active_per_client(s: Session, names: Collection[str]) -> Counter[str]:
    rows = s.execute(
        select(Download.client, func.count())
        .where(Download.phase == Phase.ACTIVE.value, Download.client.in_(list(names)))
        .group_by(Download.client)
    ).all()
    return Counter({str(name): int(count) for name, count in rows})


def watched(s: Session, releasing: Collection[str]) -> list[Watched]:
    """What the monitor looks at: active downloads on external clients, paused ones (queued
    again, their item still on the client), canceled ones whose removal from the client is
    still owed, and finished ones on clients that remove finished items (``releasing``) not
    yet removed."""
    owed = and_(
        Download.client_released_at.is_(None),
        or_(
            Download.phase == Phase.CANCELED.value,
            and_(Download.phase == Phase.COMPLETED.value, Download.client.in_(list(releasing))),
        ),
    )
    paused = and_(Download.phase == Phase.QUEUED.value, Download.desired_paused.is_(True))
    query = select(
        Download.id,
        Download.client,
        Download.client_ref,
        Download.phase,
        Download.desired_paused,
        Download.cancel_delete_partial,
        Download.meta["resume_owed"].as_boolean(),
        Download.owner_key,
        Download.speed_limit,
        Download.meta[HELD_MARK].as_boolean(),
    ).where(
        _EXTERNAL,
        Download.client_ref.is_not(None),
        or_(Download.phase == Phase.ACTIVE.value, paused, owed),
    )
    return [
        Watched(int(i), str(c), str(r), str(p), bool(d), bool(x), bool(o), str(k), limit, bool(h))
        for i, c, r, p, d, x, o, k, limit, h in s.execute(query).all()
    ]


def load(s: Session, download_id: int, *, lock: bool = False) -> Download | None:
    """The download (``lock``: its row locked until the transaction ends, on PostgreSQL; a
    SQLite write holds the whole database already)."""
    return s.get(Download, download_id, with_for_update=lock)


def set_fields(s: Session, download_id: int, **values: Any) -> None:
    s.execute(update(Download).where(Download.id == download_id).values(**values))


def handed_phase() -> Any:
    """The phase of a row just handed over: active; queued if paused meanwhile (it holds no
    slot while paused); its own if canceled meanwhile."""
    return case(
        (Download.canceled_at.is_not(None), Download.phase),
        (Download.desired_paused.is_(True), Phase.QUEUED.value),
        else_=Phase.ACTIVE.value,
    )


def holder(s: Session, client: str, ref: str, besides: int) -> tuple[int, str] | None:
    """Another download that has ``ref`` on ``client`` recorded, and its phase."""
    found = s.execute(
        select(Download.id, Download.phase).where(
            Download.client == client, Download.client_ref == ref, Download.id != besides
        )
    ).first()
    return (int(found[0]), str(found[1])) if found is not None else None


def take_over(s: Session, download_id: int) -> None:
    """A finished download gives its client item up to a new download of the same source
    (its history stays; it no longer owns anything on the client)."""
    set_fields(s, download_id, client_ref=None, client_released_at=utcnow())


def phase_of(s: Session, download_id: int) -> str:
    return str(s.scalar(select(Download.phase).where(Download.id == download_id)))


def still_active(s: Session, download_id: int) -> bool:
    query = select(Download.id).where(
        Download.id == download_id,
        Download.phase == Phase.ACTIVE.value,
        Download.canceled_at.is_(None),
    )
    return s.scalar(query) is not None


def unlease(s: Session, download_id: int, worker_id: str) -> None:
    s.execute(
        update(Download)
        .where(Download.id == download_id, Download.lease_worker_id == worker_id)
        .values(lease_worker_id=None)
    )


def release(s: Session, download_id: int) -> None:
    set_fields(s, download_id, client_released_at=utcnow())
