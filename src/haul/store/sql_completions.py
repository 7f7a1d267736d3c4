"""Group commit of completed jobs: the downloads that finish while a completion is being written
are recorded together, in the next transaction.

Each completion is one UPDATE and one event, plus what the worker does in the same transaction
(admitting and leasing the jobs that take the freed slots). On SQLite every write transaction
of the process waits for the one before it, and on a loop busy with transfers a transaction
holds that turn for several milliseconds (a trip to the database thread and back), which with
ten downloads finishing every few tens of milliseconds made the completions a queue of their
own. Writing what has piled up in one transaction turns that queue into one turn per batch;
each caller still gets its own row's outcome and its
:class:`~haul.store.jobs.Successor`'s result.
"""

from __future__ import annotations

import asyncio
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, partial
from typing import Any

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Update

from haul.core.lifecycle import Snapshot
from haul.core.status import Phase
from haul.store import completion_rows
from haul.store.database import Database
from haul.store.jobs import Completion, Recorded
from haul.store.models import Download, DownloadEvent, MediaFile
from haul.store.sql_transaction import SqlTransaction

_TABLE = typing.cast(Table, Download.__table__)
_EVENTS = insert(typing.cast(Table, DownloadEvent.__table__))
_FILES = insert(typing.cast(Table, MediaFile.__table__))
_RECORDED = (_TABLE.c.phase, _TABLE.c.completed_at, _TABLE.c.canceled_at, _TABLE.c.lease_worker_id)
#: The phase a built-in job's completion is recorded from: the lifecycle's changes are made
#: for it, and the statement writes them only to a row still in it and not canceled (else the
#: row is read, and left as it is or given the files that arrived).
_FROM = Phase.ACTIVE
_CURRENT = select(*_RECORDED).where(_TABLE.c.id == bindparam("row"))
#: A completion the lifecycle refuses: the files that arrived are kept, no worker holds it.
_REFUSED = (
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("row"))
    .values(
        files=bindparam("v_files", type_=_TABLE.c.files.type),
        title=bindparam("v_title", type_=_TABLE.c.title.type),
        meta=bindparam("v_meta", type_=_TABLE.c.meta.type),
        lease_worker_id=bindparam("v_lease_worker_id", type_=_TABLE.c.lease_worker_id.type),
    )
    .returning(*_RECORDED)
)


@cache
def _complete(columns: tuple[str, ...]) -> Update:
    """Write a completion's columns to a row still live in :data:`_FROM` (built once per
    shape, as the hot statements of :mod:`haul.store.downloads`: see there why). Bind names
    differ from column names: SQLAlchemy reserves those in an UPDATE."""
    return (
        update(_TABLE)
        .where(
            _TABLE.c.id == bindparam("row"),
            _TABLE.c.phase == _FROM.value,
            _TABLE.c.canceled_at.is_(None),
        )
        .values({c: bindparam(f"v_{c}", type_=_TABLE.c[c].type) for c in columns})
        .returning(*_RECORDED)
    )


#: What a completion of a download deleted meanwhile finds (nothing is written for it).
_GONE = Recorded(Phase.CANCELED.value, None, None, None, None)


@dataclass(frozen=True, slots=True)
class _Entry:
    completion: Completion
    done: asyncio.Future[Recorded]


class CompletionWriter:
    """Records completions, those waiting at the same time in one transaction."""

    def __init__(self, db: Database, worker_id: str | None = None) -> None:
        self.db = db
        self.worker_id = worker_id
        self._pending: list[_Entry] = []
        self._writer: asyncio.Task[None] | None = None

    async def record(self, completion: Completion) -> Recorded:
        """Write ``completion`` (with whatever else is waiting); raises what the write raised.
        Cancelling the caller does not take the completion back."""
        done: asyncio.Future[Recorded] = asyncio.get_running_loop().create_future()
        self._pending.append(_Entry(completion, done))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._drain(), name="haul-completions")
        return await asyncio.shield(done)

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            completions = [entry.completion for entry in batch]
            admission = any(c.successor is not None for c in completions)
            try:
                write = partial(
                    _write,
                    batch=completions,
                    worker=self.worker_id,
                    skip_locked=not self.db.is_sqlite,
                )
                recorded = await self.db.run(write, admission=admission)
            except Exception as exc:
                for entry in batch:
                    successor = entry.completion.successor
                    if successor is not None and successor.rolled_back is not None:
                        successor.rolled_back()
                    if not entry.done.done():
                        entry.done.set_exception(exc)
                continue  # each caller fails on its own; the next batch may do better
            except BaseException:  # cancelled (the loop is closing): so are the callers
                for entry in [*batch, *self._pending]:
                    entry.done.cancel()
                raise
            for entry, outcome in zip(batch, recorded, strict=True):
                successor = entry.completion.successor
                if successor is not None and successor.committed is not None:
                    try:
                        successor.committed(outcome.follow)
                    except Exception as exc:
                        entry.done.set_exception(exc)
                        continue
                if not entry.done.done():
                    entry.done.set_result(outcome)


def _write(
    s: Session, batch: Sequence[Completion], worker: str | None, *, skip_locked: bool
) -> list[Recorded]:
    """In the database thread: every completion of the batch, then their successors (which
    then find every slot the batch frees)."""
    rows: list[Any] = []
    events: list[dict[str, Any]] = []
    records: list[dict[str, Any]] = []
    for c in batch:
        made = completion_rows.changes(Snapshot(c.download_id, _FROM), c, worker)
        values = completion_rows.updates(made, c)
        bound = {f"v_{k}": v for k, v in values.items()}
        row = s.execute(_complete(tuple(values)), {"row": c.download_id, **bound}).one_or_none()
        if row is None:  # refused, finished already, or deleted meanwhile
            made = []
            row = s.execute(_CURRENT, {"row": c.download_id}).one_or_none()
            if row is not None and row.phase not in completion_rows.FINISHED:
                refused = {f"v_{k}": v for k, v in completion_rows.updates(made, c).items()}
                row = s.execute(_REFUSED, {"row": c.download_id, **refused}).one()
            else:
                rows.append(row if row is not None else _GONE)
                continue
        rows.append(row)
        history = completion_rows.history(made, c)
        events += [
            {"download_id": c.download_id, "at": c.at, "kind": k, "message": m, "data": d}
            for k, m, d in history
        ]
        if c.records is not None and row.phase == Phase.COMPLETED:
            records += [{"download_id": c.download_id, "probed_at": c.at, **r} for r in c.records]
    if events:
        s.execute(_EVENTS, events)
    if records:
        s.execute(_FILES, records)
    tx = SqlTransaction(s, skip_locked=skip_locked)
    return [
        Recorded(
            row.phase,
            row.completed_at,
            row.canceled_at,
            row.lease_worker_id,
            c.successor.within(tx) if c.successor is not None else None,
        )
        for c, row in zip(batch, rows, strict=True)
    ]
