"""The lifecycle's changes written to stored downloads, the same way by every store.

:func:`snapshot` is what a command of :mod:`haul.core.lifecycle` reads of a row (an ORM row or
a record of the in-memory store); :func:`apply` writes the :class:`~haul.core.lifecycle.Change`
it returns onto that row and :func:`record` adds its history event. :func:`write` writes the
changes of many rows read by a hot path with Core statements: one UPDATE per shape of change
(rows whose changes write the same values share one ``WHERE id IN``), and one INSERT of
their events. A change's queue rank is its caller's to place.
"""

from __future__ import annotations

import typing
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Update

from haul.core.lifecycle import Change, Snapshot
from haul.core.status import Phase
from haul.store.models import Download, DownloadEvent

if TYPE_CHECKING:
    from haul.store.memory_state import StoredJob

_TABLE = typing.cast(Table, Download.__table__)
_EVENTS = insert(typing.cast(Table, DownloadEvent.__table__))


class Record(Protocol):
    """Adds one event to the download's history."""

    def __call__(self, kind: str, message: str | None = None, **data: Any) -> None: ...


def snapshot(row: Download | StoredJob) -> Snapshot:
    """What the lifecycle's commands read of a stored download."""
    return Snapshot(
        row.id,
        Phase(row.phase),
        desired_paused=bool(row.desired_paused),
        leased=row.lease_worker_id is not None,
        client=row.client,
        client_ref=row.client_ref,
        canceled=row.canceled_at is not None,
        started=row.started_at is not None,
        retry_attempt=row.retry_attempt or 0,
        retry_next_at=row.retry_next_at,
        last_error_code=row.last_error_code,
        live=((row.meta or {}).get("resolved") or {}).get("kind") == "live",
        stop_requested=bool((row.meta or {}).get("stop_requested")),
        resolved=bool((row.meta or {}).get("resolved")),
    )


def apply(row: Download | StoredJob, change: Change) -> None:
    """Write ``change``'s columns onto ``row`` and drop the ``meta`` keys it forgets."""
    for column, value in change.updates.items():
        setattr(row, column, value)
    if change.forget:
        row.meta = {k: v for k, v in row.meta.items() if k not in change.forget}
    if change.remember:
        row.meta = {**row.meta, **change.remember}


def record(change: Change, add: Record) -> None:
    """Add ``change``'s event (if it has one) to the history through ``add``."""
    if change.event is not None:
        add(change.event, change.message, **change.event_data)


def write(s: Session, changes: Sequence[tuple[int, Change]], at: datetime) -> None:
    """Write the changes of the rows of these ids and their events (at ``at``), in one
    statement per shape of change and one for the events."""
    shapes: dict[tuple[str, ...], list[tuple[int, Change]]] = {}
    for row_id, change in changes:
        if change.forget or change.remember or change.rank is not None:
            raise ValueError("meta keys and queue ranks are not written by id")
        if change.updates:
            shapes.setdefault(tuple(sorted(change.updates)), []).append((row_id, change))
    for columns, rows in shapes.items():
        first = rows[0][1].updates
        if all(change.updates == first for _, change in rows):
            values = {f"v_{c}": first[c] for c in columns}
            s.execute(_by_ids(columns), {"ids": [i for i, _ in rows], **values})
        else:
            s.execute(
                _by_id(columns),
                [{"row": i, **{f"v_{c}": ch.updates[c] for c in columns}} for i, ch in rows],
            )
    events = [
        {
            "download_id": row_id,
            "at": at,
            "kind": change.event,
            "message": change.message,
            "data": dict(change.event_data),
        }
        for row_id, change in changes
        if change.event is not None
    ]
    if events:
        s.execute(_EVENTS, events)


def _values(columns: tuple[str, ...]) -> dict[str, Any]:
    return {c: bindparam(f"v_{c}", type_=_TABLE.c[c].type) for c in columns}


@cache
def _by_ids(columns: tuple[str, ...]) -> Update:
    """The same values for every row of ``ids`` (built once per shape: see
    :mod:`haul.store.downloads` on the cost of building a statement)."""
    ids = _TABLE.c.id.in_(bindparam("ids", expanding=True))
    return update(_TABLE).where(ids).values(_values(columns))


@cache
def _by_id(columns: tuple[str, ...]) -> Update:
    """Each row its own values (run once for many rows)."""
    return update(_TABLE).where(_TABLE.c.id == bindparam("row")).values(_values(columns))
