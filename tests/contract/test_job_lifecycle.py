"""The job store takes only the lifecycle's steps: what a worker records for a download that
someone canceled (or canceled and retried) meanwhile moves it nowhere the lifecycle refuses.
The same in memory, on SQLite and on PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from haul.core.admission import Limits
from haul.core.status import Phase
from haul.store.jobs import Completion, Failure, JobTransaction, Learned, PlaylistEntry, WorkerInfo
from haul.store.models import utcnow
from tests.contract.conftest import Harness

FILES = [{"path": "a.bin", "name": "a.bin", "size": 1}]
LEARNED = Learned({"kind": "http"}, "Found title")
FAILURE = Failure("timeout", "Timed out", "https://example.invalid/f", "a")


async def leased(h: Harness, worker: str = "w") -> int:
    await h.store.register_worker(WorkerInfo(worker, "host", 1))
    job = await h.add("a")
    await h.store.admission(lambda tx: (tx.admit_waiting(Limits(10)), tx.claim(worker, 1)))
    return job


async def canceled(h: Harness, job: int) -> None:
    """What a person's cancel writes (the worker has not seen it yet)."""
    await h.set(job, phase=Phase.CANCELED.value, canceled_at=utcnow())


async def retried(h: Harness, job: int) -> None:
    """What a person's cancel and then retry write: queued again, a new attempt to come."""
    await h.set(job, phase=Phase.QUEUED.value, canceled_at=None, lease_worker_id=None)


def completion(job: int, **fields: object) -> Completion:
    return Completion(job, FILES, "Title", {"result": {}}, utcnow(), **fields)  # type: ignore[arg-type]


async def test_a_completion_does_not_resurrect_a_canceled_download(harness: Harness) -> None:
    job = await leased(harness)
    await canceled(harness, job)
    for probed in (None, []):
        recorded = await harness.store.complete(completion(job, records=probed))
        assert (recorded.phase, recorded.completed_at) == (Phase.CANCELED.value, None)
        assert recorded.lease_worker_id is None
    assert await harness.get(job, "phase") == Phase.CANCELED.value
    assert await harness.get(job, "files") == FILES  # what arrived is known
    assert "completed" not in await harness.history(job)


async def test_a_completion_of_an_attempt_canceled_and_retried_moves_nothing(
    harness: Harness,
) -> None:
    job = await leased(harness)
    await retried(harness, job)
    recorded = await harness.store.complete(completion(job))
    assert (recorded.phase, recorded.completed_at) == (Phase.QUEUED.value, None)
    assert await harness.get(job, "phase") == Phase.QUEUED.value
    assert await harness.get(job, "completed_at") is None


async def test_a_claim_of_a_download_canceled_after_admission_takes_nothing(
    harness: Harness,
) -> None:
    await harness.store.register_worker(WorkerInfo("w", "host", 1))
    job = await harness.add("a")
    assert await harness.store.admission(lambda tx: tx.admit_waiting(Limits(10))) == [job]
    await canceled(harness, job)

    def claim(tx: JobTransaction) -> list[int]:
        return [row.id for row in tx.claim("w", 10)]

    assert await harness.store.admission(claim) == []
    assert await harness.get(job, "phase") == Phase.CANCELED.value
    assert await harness.get(job, "lease_worker_id") is None
    assert await harness.history(job) == ["admitted"]


async def test_a_pause_a_wait_or_a_failure_leaves_a_canceled_download_canceled(
    harness: Harness,
) -> None:
    until = utcnow() + timedelta(seconds=10)
    jobs = [await leased(harness, f"w{i}") for i in range(3)]
    for job in jobs:
        await canceled(harness, job)
    await harness.store.stopped(jobs[0], LEARNED, paused=True)
    await harness.store.waiting_for_space(jobs[1], LEARNED, "1 MB free", "disk_full", until)
    await harness.store.failed(jobs[2], LEARNED, FAILURE, lambda attempt: 1.0, utcnow())
    for job in jobs:
        assert await harness.get(job, "phase") == Phase.CANCELED.value
        assert await harness.get(job, "lease_worker_id") is None
        assert await harness.get(job, "retry_next_at") is None
        assert await harness.get(job, "title") == "Found title"  # what it learned is kept
        assert await harness.history(job) == ["admitted", "started"]
    assert await harness.get(jobs[1], "last_error_code") == "disk_full"


async def test_a_failure_of_an_attempt_canceled_and_retried_moves_nothing(
    harness: Harness,
) -> None:
    job = await leased(harness)
    await retried(harness, job)
    row = await harness.store.failed(job, LEARNED, FAILURE, None, utcnow())
    assert row is not None and row.phase == Phase.QUEUED.value
    assert (row.failed_at, row.last_error_code) == (None, None)
    assert await harness.history(job) == ["admitted", "started"]


async def test_a_playlist_canceled_while_it_was_read_queues_no_entry(harness: Harness) -> None:
    page = await leased(harness)
    await canceled(harness, page)
    entries = [PlaylistEntry("https://example.invalid/one", "k1", "One", None)]
    parent = await harness.store.expand(page, "A playlist", entries)
    assert (parent.phase, parent.lease_worker_id) == (Phase.CANCELED.value, None)
    assert await harness.history(page) == ["admitted", "started"]
    assert not (await harness.store.queue_state(utcnow())).waiting_due  # nothing was queued


async def test_a_job_given_back_while_paused_is_queued_and_a_canceled_one_stays(
    harness: Harness,
) -> None:
    paused = await leased(harness, "w1")
    gone = await leased(harness, "w2")
    await harness.set(paused, desired_paused=True)
    await canceled(harness, gone)
    assert await harness.store.release_dropped("w1", [paused], lambda i: False) == 1
    assert await harness.store.release_dropped("w2", [gone], lambda i: False) == 1
    assert await harness.get(paused, "phase") == Phase.QUEUED.value
    assert await harness.get(paused, "lease_worker_id") is None
    assert await harness.history(paused) == ["admitted", "started"]  # the pause told it
    assert await harness.get(gone, "phase") == Phase.CANCELED.value
