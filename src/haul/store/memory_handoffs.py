"""What the external-client monitor reads and writes, in memory (the state and lock of a
:class:`~haul.store.memory.MemoryJobStore`); the same behaviour as
:class:`~haul.store.sql_handoffs.SqlHandoffStore`."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import TYPE_CHECKING, Any

from haul.core.status import Phase
from haul.store.downloads import BUILTIN
from haul.store.handoffs import Watched
from haul.store.memory import MemoryJobStore
from haul.store.memory_state import StoredJob
from haul.store.models import Download, utcnow

if TYPE_CHECKING:
    from haul.store.jobs import HandoffStore


def _watched(job: StoredJob, releasing: Collection[str]) -> bool:
    if job.client in (None, BUILTIN) or job.client_ref is None:
        return False
    owed = job.client_released_at is None and (
        job.phase == Phase.CANCELED.value
        or (job.phase == Phase.COMPLETED.value and job.client in releasing)
    )
    paused = job.phase == Phase.QUEUED.value and job.desired_paused
    return job.phase == Phase.ACTIVE.value or paused or owed


class MemoryHandoffStore:
    """:class:`~haul.store.jobs.HandoffStore` in memory."""

    def __init__(self, jobs: MemoryJobStore) -> None:
        self.jobs = jobs
        self.state = jobs.state

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
            job.phase = Phase.PROCESSING.value
            job.lease_worker_id = worker
            job.completed_at = at
            job.files = list(files)
            job.title = title
            job.last_error_code = job.last_error_message = None
            self.state.event(download_id, "downloaded", message, files=len(files), seeding=seeding)
            return True


if TYPE_CHECKING:  # the store has every operation of the protocol
    _conforms: type[HandoffStore] = MemoryHandoffStore
