"""How a finished download is recorded, the same in memory, on SQLite and on PostgreSQL."""

from __future__ import annotations

import pytest

from haul.core.admission import Limits
from haul.core.status import Phase
from haul.store.jobs import Completion, JobTransaction, Successor, WorkerInfo
from haul.store.models import utcnow
from tests.contract.conftest import Harness

FILES = [{"path": "a.bin", "name": "a.bin", "size": 1}]


async def leased(h: Harness, worker: str = "w") -> int:
    await h.store.register_worker(WorkerInfo(worker, "host", 1))
    job = await h.add("a")
    await h.store.admission(lambda tx: (tx.admit_waiting(Limits(10)), tx.claim(worker, 1)))
    return job


def completion(job: int, **fields: object) -> Completion:
    return Completion(job, FILES, "Title", {"result": {}}, utcnow(), **fields)  # type: ignore[arg-type]


async def test_a_completion_leaves_the_files_to_processing(harness: Harness) -> None:
    job = await leased(harness)
    recorded = await harness.store.complete(completion(job))
    assert recorded.phase == Phase.PROCESSING.value and recorded.completed_at is not None
    assert await harness.get(job, "files") == FILES
    assert await harness.get(job, "title") == "Title"
    assert await harness.history(job) == ["admitted", "started", "downloaded"]
    again = await harness.store.complete(completion(job))  # after a lost answer: recorded once
    assert again.phase == Phase.PROCESSING.value
    assert await harness.history(job) == ["admitted", "started", "downloaded"]


async def test_a_probed_completion_completes(harness: Harness) -> None:
    job = await leased(harness)
    recorded = await harness.store.complete(
        completion(job, records=[], events=[("probed", None, {})])
    )
    assert (recorded.phase, recorded.lease_worker_id) == (Phase.COMPLETED.value, None)
    assert await harness.history(job) == [
        "admitted",
        "started",
        "downloaded",
        "probed",
        "completed",
    ]


async def test_a_cancel_that_raced_the_end_wins(harness: Harness) -> None:
    job = await leased(harness)
    await harness.set(job, canceled_at=utcnow(), phase=Phase.CANCELED.value)
    recorded = await harness.store.complete(completion(job))
    assert recorded.phase == Phase.CANCELED.value
    assert recorded.lease_worker_id is None
    gone = await harness.store.complete(completion(999))
    assert gone.phase == Phase.CANCELED.value and gone.follow is None


async def test_the_successor_takes_the_freed_slot_in_the_same_write(harness: Harness) -> None:
    job = await leased(harness)
    waiting = await harness.add("a")
    started: list[list[int]] = []

    def within(tx: JobTransaction) -> list[int]:
        tx.admit_waiting(Limits(1))
        return [row.id for row in tx.claim("w", 1)]

    recorded = await harness.store.complete(
        completion(job, successor=Successor(within, started.append))
    )
    assert recorded.follow == [waiting] and started == [[waiting]]


async def test_a_failing_successor_is_undone(harness: Harness) -> None:
    job = await leased(harness)
    undone: list[bool] = []

    def within(tx: JobTransaction) -> None:
        raise RuntimeError("broken")

    successor = Successor(within, rolled_back=lambda: undone.append(True))
    with pytest.raises(RuntimeError):
        await harness.store.complete(completion(job, successor=successor))
    assert undone == [True]
    assert await harness.get(job, "phase") == Phase.ACTIVE.value  # the write rolled back
    assert await harness.history(job) == ["admitted", "started"]
