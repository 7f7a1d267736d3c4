"""The job store over haul's database (SQLite or PostgreSQL): the named queries of
:mod:`haul.store.downloads`, each in the transaction the worker needs."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy.orm import Session

from haul.store import downloads as q
from haul.store import sql_outcomes as outcomes
from haul.store.database import Database
from haul.store.jobs import (
    Completion,
    DesiredState,
    Failure,
    JobStore,
    JobTransaction,
    Learned,
    PlaylistEntry,
    QueueState,
    Recorded,
    WorkerInfo,
)
from haul.store.models import Download
from haul.store.models import Worker as WorkerRow
from haul.store.sql_completions import CompletionWriter
from haul.store.sql_transaction import SqlTransaction

T = TypeVar("T")


class SqlJobStore:
    """:class:`~haul.store.jobs.JobStore` over a :class:`Database`. Claims skip rows another
    transaction locked on PostgreSQL; SQLite has one writer at a time."""

    def __init__(self, db: Database, worker_id: str | None = None) -> None:
        self.db = db
        #: Completions waiting together are written in one transaction (``worker_id``: the
        #: worker that records them keeps their lease, to process their files).
        self.completions = CompletionWriter(db, worker_id)

    def transaction(self, session: Session) -> JobTransaction:
        """Admission and claims inside a transaction someone else opened (a completion's)."""
        return SqlTransaction(session, skip_locked=not self.db.is_sqlite)

    async def register_worker(self, worker: WorkerInfo) -> None:
        row = WorkerRow(id=worker.id, hostname=worker.hostname, pid=worker.pid)
        if worker.heartbeat_at is not None:
            row.heartbeat_at = worker.heartbeat_at
        async with self.db.write() as s:
            await q.register_worker(s, row)

    async def heartbeat(self, worker_id: str) -> None:
        async with self.db.write() as s:
            await q.heartbeat(s, worker_id)

    async def workers(self) -> list[WorkerInfo]:
        async with self.db.read() as s:
            rows = await q.workers(s)
        return [WorkerInfo(w.id, w.hostname, w.pid, w.heartbeat_at) for w in rows]

    async def transfers_by_worker(self) -> dict[str, dict[str, int]]:
        async with self.db.read() as s:
            return await q.transfers_by_worker(s)

    async def reap_workers(self, dead_ids: Iterable[str]) -> int:
        ids = list(dead_ids)
        async with self.db.write() as s:
            return await q.reap_workers(s, ids)

    async def queue_state(self, now: datetime) -> QueueState:
        async with self.db.read() as s:
            return await q.queue_state(s, now)

    async def admission(self, work: Callable[[JobTransaction], T]) -> T:
        return await self.db.run(lambda s: work(self.transaction(s)), admission=True)

    async def desired_states(self, ids: Sequence[int]) -> dict[int, DesiredState]:
        async with self.db.read() as s:
            wanted = await q.desired_states(s, ids)
        return {i: DesiredState(*state) for i, state in wanted.items()}

    async def release_dropped(
        self, worker_id: str, ids: Collection[int], running: Callable[[int], bool]
    ) -> int:
        return await self.db.run(lambda s: q.release_dropped(s, worker_id, ids, running))

    async def finished_ids(self, ids: Sequence[int]) -> set[int]:
        return await self.db.query(lambda s: q.finished_ids(s, ids))

    async def stopped(self, download_id: int, learned: Learned, *, paused: bool) -> Download | None:
        async with self.db.write() as s:
            return await outcomes.stopped(s, download_id, learned, paused=paused)

    async def waiting_for_space(
        self, download_id: int, learned: Learned, message: str, code: str, until: datetime
    ) -> Download | None:
        async with self.db.write() as s:
            return await outcomes.waiting_for_space(s, download_id, learned, message, code, until)

    async def noted(self, download_id: int, kind: str, messages: Sequence[str]) -> None:
        async with self.db.write() as s:
            outcomes.noted(s, download_id, kind, messages)

    async def recording(self, download_id: int, learned: Learned, message: str) -> None:
        async with self.db.write() as s:
            await outcomes.recording(s, download_id, learned, message)

    async def released(self, download_id: int, learned: Learned) -> None:
        async with self.db.write() as s:
            await outcomes.released(s, download_id, learned)

    async def failed(
        self,
        download_id: int,
        learned: Learned,
        failure: Failure,
        retry: Callable[[int], float | None] | None,
        now: datetime,
    ) -> Download | None:
        async with self.db.write() as s:
            return await outcomes.failed(s, download_id, learned, failure, retry, now)

    async def expand(
        self, parent_id: int, title: str | None, entries: Sequence[PlaylistEntry]
    ) -> Download:
        async with self.db.write() as s:
            return await outcomes.expand(s, parent_id, title, entries)

    async def complete(self, completion: Completion) -> Recorded:
        return await self.completions.record(completion)


if TYPE_CHECKING:  # the store has every operation of the protocol
    _conforms: type[JobStore] = SqlJobStore
