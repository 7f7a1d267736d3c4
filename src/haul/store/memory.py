"""The job store in memory: the behaviour of :class:`~haul.store.sql_jobs.SqlJobStore`
without a database, for fast tests of the worker's decisions (the same contract tests run
against both). One asyncio lock stands for the database's write lock."""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from haul.core import lifecycle
from haul.core.admission import Active, Candidate, Limits, choose, next_rank
from haul.core.lifecycle import Change
from haul.core.sites import site_of
from haul.core.sources import domain_of
from haul.core.status import SLOT_PHASES, Phase
from haul.errors import InvalidTransition
from haul.store import completion_rows
from haul.store import outcome_rows as rows
from haul.store.changes import apply, record, snapshot
from haul.store.completion_rows import FINISHED
from haul.store.downloads import BUILTIN, dropped
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
from haul.store.memory_state import (
    MemoryState,
    StoredError,
    StoredEvent,
    StoredJob,
    StoredUnsupported,
    StoredWorker,
)
from haul.store.models import Download, utcnow

T = TypeVar("T")

_SLOT = {p.value for p in SLOT_PHASES}


def _waiting(job: StoredJob, now: datetime) -> bool:
    return (
        job.phase == Phase.QUEUED.value
        and not job.desired_paused
        and job.canceled_at is None
        and (job.retry_next_at is None or job.retry_next_at <= now)
    )


def _claimable(job: StoredJob) -> bool:
    return (
        job.phase in (Phase.ADMITTED.value, Phase.ACTIVE.value)
        and job.lease_worker_id is None
        and job.client in (None, BUILTIN)
        and not job.desired_paused
        and job.canceled_at is None
    )


def _candidate(job: StoredJob) -> Candidate:
    return Candidate(job.id, job.owner_key, job.client, job.queue_rank, site_of(job.source_url))


class MemoryTransaction:
    """Admission and claims on the state, under the store's lock."""

    def __init__(self, state: MemoryState) -> None:
        self.state = state

    def _take(self, job: StoredJob, change: Change, at: datetime) -> None:
        apply(job, change)
        if change.event is not None:
            event = StoredEvent(job.id, at, change.event, change.message, dict(change.event_data))
            self.state.events.append(event)

    def admit_waiting(self, limits: Limits, *, now: datetime | None = None) -> list[int]:
        now = now or utcnow()
        jobs = self.state.jobs.values()
        holding = [j for j in jobs if j.phase in _SLOT]
        active = Active().taking((_candidate(j) for j in holding), limits)
        waiting = {j.id: j for j in jobs if _waiting(j, now)}
        chosen = choose((_candidate(j) for j in waiting.values()), active, limits)
        admitted = [waiting[i] for i in chosen]
        for job in admitted:
            self._take(job, lifecycle.admit(snapshot(job), at=now), now)
        return [job.id for job in admitted]

    def claim(self, worker_id: str, limit: int) -> list[Download]:
        if worker_id not in self.state.workers:
            raise KeyError(f"no worker {worker_id}")  # the database's foreign key
        found = sorted(
            (j for j in self.state.jobs.values() if _claimable(j)),
            key=lambda j: (j.admitted_at is None, j.admitted_at or utcnow(), j.id),
        )[:limit]
        now = utcnow()
        taken = []
        for job in found:
            engine = (job.meta.get("resolved") or {}).get("kind")
            with contextlib.suppress(InvalidTransition):  # only claimable jobs were found
                change = lifecycle.claim(snapshot(job), worker=worker_id, at=now, engine=engine)
                self._take(job, change, now)
                taken.append(job.row())
        return taken


class MemoryJobStore:
    """:class:`~haul.store.jobs.JobStore` in memory. ``state`` is open to tests: they put
    downloads in (``state.add``) and read what became of them."""

    def __init__(
        self,
        state: MemoryState | None = None,
        worker_id: str | None = None,
    ) -> None:
        self.state = state or MemoryState()
        self.worker_id = worker_id
        self.lock = asyncio.Lock()
        self.write_count = 0

    async def register_worker(self, worker: WorkerInfo) -> None:
        async with self.lock:
            if worker.id in self.state.workers:
                raise KeyError(f"worker {worker.id} exists")  # the primary key
            at = worker.heartbeat_at or utcnow()
            self.state.workers[worker.id] = StoredWorker(worker.id, worker.hostname, worker.pid, at)

    async def heartbeat(self, worker_id: str) -> None:
        async with self.lock:
            found = self.state.workers.get(worker_id)
            if found is not None:
                found.heartbeat_at = utcnow()

    async def workers(self) -> list[WorkerInfo]:
        return [
            WorkerInfo(w.id, w.hostname, w.pid, w.heartbeat_at) for w in self.state.workers.values()
        ]

    async def transfers_by_worker(self) -> dict[str, dict[str, int]]:
        counts: dict[str, dict[str, int]] = {}
        for job in self.state.jobs.values():
            if job.lease_worker_id is not None and job.phase in _SLOT:
                owners = counts.setdefault(job.lease_worker_id, {})
                owners[job.owner_key] = owners.get(job.owner_key, 0) + 1
        return counts

    async def reap_workers(self, dead_ids: Iterable[str]) -> int:
        ids = set(dead_ids)
        if not ids:
            return 0
        async with self.lock:
            released = 0
            for job in self.state.jobs.values():
                if job.lease_worker_id in ids:
                    job.lease_worker_id = None
                    released += 1
            for worker_id in ids:
                self.state.workers.pop(worker_id, None)
            return released

    async def queue_state(self, now: datetime) -> QueueState:
        jobs = list(self.state.jobs.values())
        retries = [
            j.retry_next_at
            for j in jobs
            if j.phase == Phase.QUEUED.value
            and j.retry_next_at is not None
            and j.retry_next_at > now
        ]
        return QueueState(
            sum(1 for j in jobs if j.phase in _SLOT),
            any(_waiting(j, now) for j in jobs),
            min(retries, default=None),
            any(_claimable(j) for j in jobs),
        )

    async def admission(self, work: Callable[[JobTransaction], T]) -> T:
        async with self.lock:
            self.write_count += 1
            return work(MemoryTransaction(self.state))

    async def desired_states(self, ids: Sequence[int]) -> dict[int, DesiredState]:
        found = {i: self.state.jobs.get(i) for i in ids}
        return {
            i: DesiredState(False, True)
            if job is None
            else DesiredState(
                job.desired_paused,
                job.canceled_at is not None,
                bool((job.meta or {}).get("stop_requested")),
                job.speed_limit,
            )
            for i, job in found.items()
        }

    async def release_dropped(
        self, worker_id: str, ids: Collection[int], running: Callable[[int], bool]
    ) -> int:
        async with self.lock:
            released = [
                job
                for i in ids
                if (job := self.state.jobs.get(i)) is not None
                and job.lease_worker_id == worker_id
                and job.client == BUILTIN
                and job.phase != Phase.PROCESSING.value
            ]
            gone = [job for job in released if not running(job.id)]
            for job in gone:
                job.lease_worker_id = None
                if (change := dropped(snapshot(job))) is not None:
                    apply(job, change)
            return len(gone)

    async def finished_ids(self, ids: Sequence[int]) -> set[int]:
        return {
            i for i in ids if (job := self.state.jobs.get(i)) is not None and job.phase in FINISHED
        }

    async def stopped(self, download_id: int, learned: Learned, *, paused: bool) -> Download | None:
        async with self.lock:
            job = self.state.jobs.get(download_id)
            if job is None:
                return None
            rows.stop(job, learned, partial(self.state.event, download_id), paused=paused)
            return job.row()

    async def waiting_for_space(
        self, download_id: int, learned: Learned, message: str, code: str, until: datetime
    ) -> Download | None:
        async with self.lock:
            job = self.state.jobs.get(download_id)
            if job is None:
                return None
            record = partial(self.state.event, download_id)
            rows.wait_for_space(job, learned, record, message, code, until)
            return job.row()

    async def noted(self, download_id: int, kind: str, messages: Sequence[str]) -> None:
        async with self.lock:
            if download_id not in self.state.jobs:
                raise KeyError(f"no download {download_id}")  # the database's foreign key
            for message in messages:
                self.state.event(download_id, kind, message)

    async def recording(self, download_id: int, learned: Learned, message: str) -> None:
        async with self.lock:
            job = self.state.jobs.get(download_id)
            if job is not None:
                rows.keep_learned(job, learned)
                self.state.event(download_id, "recording", message)

    async def released(self, download_id: int, learned: Learned) -> None:
        async with self.lock:
            job = self.state.jobs.get(download_id)
            if job is not None:
                rows.release(job, learned)

    async def failed(
        self,
        download_id: int,
        learned: Learned,
        failure: Failure,
        retry: Callable[[int], float | None] | None,
        now: datetime,
    ) -> Download | None:
        async with self.lock:
            job = self.state.jobs.get(download_id)
            if job is None:
                return None
            if rows.fail(job, learned, partial(self.state.event, download_id), failure, retry, now):
                domain = domain_of(failure.source_url)
                kind = (job.meta.get("resolved") or {}).get("kind")
                self.state.errors.append(
                    StoredError(download_id, domain, failure.code, failure.message, kind)
                )
                if failure.unsupported:
                    self.state.unsupported.append(
                        StoredUnsupported(
                            failure.source_url, domain, failure.message, failure.owner_key
                        )
                    )
            return job.row()

    async def expand(
        self, parent_id: int, title: str | None, entries: Sequence[PlaylistEntry]
    ) -> Download:
        async with self.lock:
            parent = self.state.jobs[parent_id]
            try:
                change = lifecycle.expand(snapshot(parent), entries=len(entries))
            except InvalidTransition:  # canceled meanwhile: no entry is queued
                parent.lease_worker_id = None
                return parent.row()
            apply(parent, change)
            parent.title = parent.title or title
            parent.meta = {**parent.meta, "resolved": {"kind": "playlist", "count": len(entries)}}
            children = [
                self.state.add(
                    parent.owner_key,
                    source_url=entry.source_url,
                    dedupe_key=entry.dedupe_key,
                    title=entry.title,
                    profile_id=parent.profile_id,
                    format=parent.format,
                    audio_format=parent.audio_format,
                    audio_quality=parent.audio_quality,
                    speed_limit=parent.speed_limit,
                    parent_id=parent_id,
                    playlist_index=entry.playlist_index,
                    queue_rank=self._rank_for(parent.owner_key),
                    meta={"source_kind": "url"},
                )
                for entry in entries
            ]
            for child in children:
                self.state.event(child.id, "created", parent=parent_id)
            record(change, partial(self.state.event, parent_id))
            return parent.row()

    def _rank_for(self, owner_key: str) -> int:
        """The rank of a download its owner queues now (as the database's ``queue_rank_for``)."""
        queued = [j for j in self.state.jobs.values() if j.phase == Phase.QUEUED.value]
        lowest = min((j.queue_rank for j in queued), default=None)
        mine = max((j.queue_rank for j in queued if j.owner_key == owner_key), default=None)
        return next_rank(mine, lowest)

    async def complete(self, completion: Completion) -> Recorded:
        c = completion
        successor = c.successor
        try:
            async with self.lock:
                self.write_count += 1
                before = copy.deepcopy(self.state) if successor is not None else self.state
                job = self.state.jobs.get(c.download_id)
                if job is None:  # deleted meanwhile: nothing is written for it
                    recorded = Recorded(Phase.CANCELED.value, None, None, None, None)
                else:
                    if job.phase not in FINISHED:
                        self._finish(job, c)
                    # else finished already (the write made again): left as it is
                    recorded = Recorded(
                        job.phase, job.completed_at, job.canceled_at, job.lease_worker_id, None
                    )
                if successor is not None:
                    try:
                        follow = successor.within(MemoryTransaction(self.state))
                    except Exception:
                        self.state.__dict__.update(before.__dict__)  # the transaction rolls back
                        raise
                    recorded = replace(recorded, follow=follow)
        except Exception:
            if successor is not None and successor.rolled_back is not None:
                successor.rolled_back()
            raise
        if successor is not None and successor.committed is not None:
            successor.committed(recorded.follow)
        return recorded

    def _finish(self, job: StoredJob, c: Completion) -> None:
        try:
            made = completion_rows.changes(snapshot(job), c, self.worker_id)
        except InvalidTransition:  # a cancel that raced the end wins
            made = []
        for column, value in completion_rows.updates(made, c).items():
            setattr(job, column, copy.copy(value))
        for kind, message, data in completion_rows.history(made, c):
            self.state.events.append(StoredEvent(job.id, c.at, kind, message, data))
        if c.records is not None and job.phase == Phase.COMPLETED:
            self.state.media_files += [
                (job.id, {"probed_at": c.at, **record}) for record in c.records
            ]


if TYPE_CHECKING:  # the store has every operation of the protocol
    _conforms: type[JobStore] = MemoryJobStore
