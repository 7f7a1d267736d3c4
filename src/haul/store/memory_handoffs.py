"""What the hand-over to external clients and their monitor read and write, in memory (the
state and lock of a :class:`~haul.store.memory.MemoryJobStore`); the same behaviour as
:class:`~haul.store.sql_handoffs.SqlHandoffStore`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from haul.core import lifecycle
from haul.core.bandwidth import HELD_MARK, marked
from haul.core.status import OPEN_PHASES, Phase
from haul.store.downloads import BUILTIN
from haul.store.jobs import Handed, Handover, Watched
from haul.store.memory import MemoryJobStore
from haul.store.memory_state import StoredJob
from haul.store.models import Download, utcnow

if TYPE_CHECKING:
    from haul.store.jobs import HandoffStore

OPEN = frozenset(p.value for p in OPEN_PHASES)
#: How many downloads one claim leases at most (as the SQL query's limit).
CLAIM_BATCH = 200


def _external(job: StoredJob) -> bool:
    return job.client not in (None, BUILTIN)


def _watched(job: StoredJob, releasing: Collection[str]) -> bool:
    if not _external(job) or job.client_ref is None:
        return False
    owed = job.client_released_at is None and (
        job.phase == Phase.CANCELED.value
        or (job.phase == Phase.COMPLETED.value and job.client in releasing)
    )
    paused = job.phase == Phase.QUEUED.value and job.desired_paused
    return job.phase == Phase.ACTIVE.value or paused or owed


def _to_hand_over(job: StoredJob) -> bool:
    return (
        job.phase == Phase.ADMITTED.value
        and _external(job)
        and job.lease_worker_id is None
        and not job.desired_paused
        and job.canceled_at is None
    )


class MemoryHandoffStore:
    """:class:`~haul.store.jobs.HandoffStore` in memory."""

    def __init__(self, jobs: MemoryJobStore) -> None:
        self.jobs = jobs
        self.state = jobs.state

    # -- hand over ------------------------------------------------------------------------

    async def claim_handoffs(
        self,
        worker_id: str,
        caps: Mapping[str, int | None],
        down: Collection[str],
        instead: Callable[[Download], str | None],
    ) -> list[Download]:
        async with self.jobs.lock:
            jobs = self.state.jobs.values()
            busy = Counter(
                str(j.client) for j in jobs if j.phase == Phase.ACTIVE.value and j.client in caps
            )
            left: dict[str, int | None] = {
                name: 0 if name in down else None if cap is None else cap - busy[name]
                for name, cap in caps.items()
            }
            found = sorted(
                (j for j in jobs if _to_hand_over(j)),
                key=lambda j: (j.admitted_at is None, j.admitted_at or utcnow(), j.id),
            )[:CLAIM_BATCH]
            taken: list[StoredJob] = []
            for job in found:
                name = str(job.client)
                other = instead(job.row())
                if other is not None and other != name and left.get(other, 0) != 0:
                    message = f"{name} cannot be reached; sent to {other}"
                    self.state.event(job.id, "rerouted", message, unreachable=name, client=other)
                    job.client = name = other
                cap = left.get(name)
                if cap is not None:
                    if cap <= 0:
                        continue
                    left[name] = cap - 1
                taken.append(job)
            for job in taken:
                job.lease_worker_id = worker_id
            return [job.row() for job in taken]

    async def give_back(self, download_id: int, worker_id: str) -> None:
        async with self.jobs.lock:
            job = self.state.jobs.get(download_id)
            if job is not None and job.lease_worker_id == worker_id:
                job.lease_worker_id = None

    async def to_builtin(self, download_id: int) -> None:
        async with self.jobs.lock:
            job = self.state.jobs.get(download_id)
            if job is not None:
                job.client = job.lease_worker_id = None

    async def keep_meta(self, download_id: int, meta: dict[str, Any]) -> None:
        async with self.jobs.lock:
            job = self.state.jobs.get(download_id)
            if job is not None:
                job.meta = dict(meta)

    async def handed_over(self, handover: Handover) -> Handed:
        h = handover
        async with self.jobs.lock:
            holder = next(
                (
                    other
                    for other in self.state.jobs.values()
                    if other.id != h.download_id
                    and other.client == h.client
                    and other.client_ref == h.ref
                ),
                None,
            )
            if holder is not None:
                if holder.phase in OPEN:
                    return Handed(None, holder.id)
                # a finished download's item, fetched again
                holder.client_ref, holder.client_released_at = None, utcnow()
            job = self.state.jobs.get(h.download_id)
            if job is None:
                return Handed(None)
            if job.canceled_at is None:
                job.phase = (Phase.QUEUED if job.desired_paused else Phase.ACTIVE).value
            job.client, job.client_ref, job.client_released_at = h.client, h.ref, None
            job.lease_worker_id = None
            job.started_at = h.started_at
            job.meta = dict(h.meta)
            if h.source_blob is not None:
                job.source_blob = h.source_blob
            if h.resumed:
                message, kind = f"resumed on {h.client}", "resumed"
            else:
                message, kind = f"added to {h.client}", "handed_over"
            self.state.event(h.download_id, kind, message, client=h.client, ref=h.ref)
            return Handed(job.phase)

    # -- monitor --------------------------------------------------------------------------

    async def watched(self, releasing: Collection[str]) -> list[Watched]:
        return [
            Watched(
                job.id,
                str(job.client),
                str(job.client_ref),
                job.phase,
                job.desired_paused,
                job.cancel_delete_partial,
                bool(job.meta.get("resume_owed")),
                job.owner_key,
                job.speed_limit,
                bool(job.meta.get(HELD_MARK)),
            )
            for job in self.state.jobs.values()
            if _watched(job, releasing)
        ]

    async def load(self, download_id: int) -> Download | None:
        job = self.state.jobs.get(download_id)
        return job.row() if job is not None else None

    async def released(self, download_id: int, message: str | None = None) -> None:
        async with self.jobs.lock:
            job = self.state.jobs.get(download_id)
            if job is not None:
                job.client_released_at = utcnow()
                if message is not None:
                    self.state.event(download_id, "released", message)

    async def resumed(self, download_id: int) -> None:
        async with self.jobs.lock:
            job = self.state.jobs.get(download_id)
            if job is not None:
                job.meta = {k: v for k, v in job.meta.items() if k != "resume_owed"}

    async def schedule_held(self, download_id: int, held: bool, message: str) -> bool:
        async with self.jobs.lock:
            job = self.state.jobs.get(download_id)
            if job is None or bool(job.meta.get(HELD_MARK)) == held:
                return False
            job.meta = marked(job.meta, held)
            self.state.event(download_id, "schedule", message)
            return True

    async def client_finished(
        self,
        download_id: int,
        worker: str | None,
        at: datetime,
        files: list[dict[str, Any]],
        title: str | None,
        message: str,
        seeding: bool,
    ) -> bool:
        async with self.jobs.lock:
            job = self.state.jobs.get(download_id)
            if job is None or job.phase != Phase.ACTIVE.value or job.canceled_at is not None:
                return False  # canceled (or paused) since the monitor looked: theirs wins
            snap = lifecycle.Snapshot(download_id, Phase.ACTIVE)
            change = lifecycle.finish(snap, at=at, worker=worker)  # it processes the files
            for key, value in change.updates.items():
                setattr(job, key, value)
            job.files = list(files)
            job.title = title
            kind = str(change.event)
            self.state.event(download_id, kind, message, files=len(files), seeding=seeding)
            return True


if TYPE_CHECKING:  # the store has every operation of the protocol
    _conforms: type[HandoffStore] = MemoryHandoffStore
