"""What the processing step reads and writes, in memory (the state and lock of a
:class:`~haul.store.memory.MemoryJobStore`); the same behaviour as
:class:`~haul.store.sql_processing.SqlProcessingStore`."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING

from haul.core import lifecycle
from haul.core.lifecycle import Snapshot
from haul.core.status import Phase
from haul.store.changes import apply
from haul.store.downloads import BUILTIN
from haul.store.memory import MemoryJobStore
from haul.store.memory_state import StoredEvent, StoredJob
from haul.store.models import utcnow
from haul.store.processing import Finished, Job

if TYPE_CHECKING:
    from haul.store.processing import ProcessingStore

_PROCESSING = Phase.PROCESSING.value


class MemoryProcessingStore:
    """:class:`~haul.store.processing.ProcessingStore` on a :class:`MemoryJobStore`'s state."""

    def __init__(self, jobs: MemoryJobStore) -> None:
        self.jobs_store = jobs
        self.state = jobs.state

    async def waiting(self, limit: int) -> list[int]:
        async with self.jobs_store.lock:
            found = sorted(
                j.id
                for j in self.state.jobs.values()
                if j.phase == _PROCESSING and j.lease_worker_id is None
            )
        return found[:limit]

    async def take(self, ids: Sequence[int], worker_id: str) -> list[int]:
        async with self.jobs_store.lock:
            taken = []
            for download_id in ids:
                job = self.state.jobs.get(download_id)
                if job is not None and job.phase == _PROCESSING and job.lease_worker_id is None:
                    job.lease_worker_id = worker_id
                    taken.append(download_id)
            return taken

    async def jobs(self, ids: Sequence[int], worker_id: str) -> list[Job]:
        async with self.jobs_store.lock:
            held = [
                job
                for download_id in sorted(set(ids))
                if (job := self.state.jobs.get(download_id)) is not None
                and job.phase == _PROCESSING
                and job.lease_worker_id == worker_id
            ]
            return [self._job(job) for job in held]

    def _job(self, job: StoredJob) -> Job:
        media = job.media_id
        return Job(
            id=job.id,
            owner_key=job.owner_key,
            title=job.title,
            source_url=job.source_url,
            client=job.client,
            client_held=job.client not in (None, BUILTIN) and job.client_released_at is None,
            files=copy.deepcopy(list(job.files)),
            media_id=media,
            subject=self.state.subjects.get(media) if media is not None else None,
            profile=self.state.profiles.get(job.profile_id) if job.profile_id is not None else None,
            completed_at=job.completed_at,
            error_code=job.last_error_code,
            error_message=job.last_error_message,
        )

    async def finish(self, done: Sequence[Finished]) -> list[bool]:
        async with self.jobs_store.lock:
            self.jobs_store.write_count += 1
            return [self._finish(f) for f in done]

    def _finish(self, done: Finished) -> bool:
        job = self.state.jobs.get(done.download_id)
        if (
            job is None
            or job.phase != _PROCESSING
            or job.lease_worker_id != done.worker_id
            or job.canceled_at is not None
        ):
            return False
        now = utcnow()
        held = Snapshot(done.download_id, Phase.PROCESSING, leased=True)
        change = lifecycle.complete(held, at=now, files=len(done.files))
        apply(job, change)
        job.files = copy.deepcopy(done.files)
        job.last_error_code, job.last_error_message = done.error_code, done.error_message
        self.state.media_files = [
            (i, r) for i, r in self.state.media_files if i != done.download_id
        ] + [(done.download_id, {"probed_at": now, **r}) for r in done.records]
        events = [*done.events, (change.event, change.message, dict(change.event_data))]
        for kind, message, data in events:
            assert kind is not None  # the lifecycle's complete always tells
            self.state.events.append(StoredEvent(done.download_id, now, kind, message, data))
        return True


if TYPE_CHECKING:  # the store has every operation of the protocol
    _conforms: type[ProcessingStore] = MemoryProcessingStore
