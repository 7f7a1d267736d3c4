"""How a job's end other than completion is recorded, the same in memory, on SQLite and on
PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

from haul.core.status import Phase
from haul.store.jobs import Failure, Learned, PlaylistEntry
from haul.store.models import utcnow
from tests.contract.conftest import Harness

LEARNED = Learned({"kind": "http", "url": "https://example.invalid/f"}, "Found title")


async def running(h: Harness, **fields: object) -> int:
    return await h.add("a", phase=Phase.ACTIVE.value, client="builtin", **fields)


async def test_a_pause_queues_the_job_and_keeps_what_it_learned(harness: Harness) -> None:
    job = await running(harness)
    row = await harness.store.stopped(job, LEARNED, paused=True)
    assert row is not None and row.phase == Phase.QUEUED.value and row.lease_worker_id is None
    assert await harness.get(job, "phase") == Phase.QUEUED.value
    assert await harness.get(job, "meta") == {"resolved": LEARNED.resolved}
    assert await harness.get(job, "title") == "Found title"
    assert await harness.history(job) == ["paused"]


async def test_a_stop_keeps_a_title_already_there_and_a_cancel_its_phase(harness: Harness) -> None:
    job = await running(harness, title="Mine", canceled_at=utcnow())
    row = await harness.store.stopped(job, LEARNED, paused=True)
    assert row is not None and row.phase == Phase.ACTIVE.value and row.title == "Mine"
    assert await harness.history(job) == []
    shutdown = await running(harness)
    await harness.store.stopped(shutdown, Learned(), paused=False)
    assert await harness.get(shutdown, "phase") == Phase.ACTIVE.value
    assert await harness.store.stopped(999, LEARNED, paused=True) is None


async def test_waiting_for_space_is_said_once(harness: Harness) -> None:
    job = await running(harness)
    until = utcnow() + timedelta(seconds=10)
    for _ in range(2):
        row = await harness.store.waiting_for_space(job, LEARNED, "1 MB free", "disk_full", until)
        assert row is not None and row.phase == Phase.QUEUED.value
    assert await harness.get(job, "last_error_code") == "disk_full"
    assert await harness.get(job, "last_error_message") == "1 MB free"
    assert await harness.get(job, "retry_next_at") is not None
    assert await harness.history(job) == ["waiting_for_space"]
    assert await harness.store.waiting_for_space(999, LEARNED, "", "disk_full", until) is None


async def test_notices_and_released_jobs(harness: Harness) -> None:
    job = await running(harness)
    await harness.store.noted(job, "restarted", ["changed", "changed again"])
    assert await harness.history(job) == ["restarted", "restarted"]
    await harness.store.released(job, LEARNED)
    assert await harness.get(job, "lease_worker_id") is None
    assert await harness.get(job, "phase") == Phase.ACTIVE.value  # claimable again
    assert await harness.get(job, "title") == "Found title"
    await harness.store.released(999, LEARNED)


async def test_a_failure_is_retried_while_the_policy_allows(harness: Harness) -> None:
    job = await running(harness)
    failure = Failure("timeout", "Timed out", "https://example.invalid/f", "a")
    now = utcnow()
    attempts: list[int] = []

    def retry(attempt: int) -> float | None:
        attempts.append(attempt)
        return 30.0 if attempt < 1 else None

    row = await harness.store.failed(job, LEARNED, failure, retry, now)
    assert row is not None and row.phase == Phase.QUEUED.value and row.retry_attempt == 1
    assert await harness.get(job, "last_error_code") == "timeout"
    assert await harness.history(job) == ["retry_scheduled"]
    await harness.set(job, phase=Phase.ACTIVE.value)  # its retry started
    row = await harness.store.failed(job, LEARNED, failure, retry, now)
    assert row is not None and row.phase == Phase.FAILED.value and row.failed_at is not None
    assert attempts == [0, 1]
    assert await harness.history(job) == ["retry_scheduled", "failed"]


async def test_a_permanent_failure_and_a_canceled_one(harness: Harness) -> None:
    job = await running(harness)
    failure = Failure("unsupported", "No", "https://example.invalid/f", "a", unsupported=True)
    row = await harness.store.failed(job, LEARNED, failure, None, utcnow())
    assert row is not None and row.phase == Phase.FAILED.value
    canceled = await running(harness, canceled_at=utcnow())
    row = await harness.store.failed(canceled, LEARNED, failure, lambda attempt: 1.0, utcnow())
    assert row is not None and row.phase == Phase.ACTIVE.value  # the cancel wins
    assert row.last_error_code == "unsupported"
    assert await harness.history(canceled) == []
    assert await harness.store.failed(999, LEARNED, failure, None, utcnow()) is None


async def test_a_playlist_becomes_a_parent_of_queued_children(harness: Harness) -> None:
    await harness.add("a", queue_rank=4)  # queued before: the children go behind it
    page = await running(harness)
    entries = [
        PlaylistEntry("https://example.invalid/one", "k1", "One", None),
        PlaylistEntry("https://example.invalid/page", "k2", None, 2),
    ]
    parent = await harness.store.expand(page, "A playlist", entries)
    assert (parent.id, parent.phase, parent.title) == (page, Phase.PARENT.value, "A playlist")
    assert parent.lease_worker_id is None
    assert parent.meta == {"resolved": {"kind": "playlist", "count": 2}}
    assert await harness.history(page) == ["expanded"]
    first, second = page + 1, page + 2
    assert await harness.get(first, "parent_id") == page
    assert await harness.get(first, "phase") == Phase.QUEUED.value
    assert (await harness.get(first, "queue_rank"), await harness.get(second, "queue_rank")) == (
        5,
        6,
    )
    assert await harness.get(second, "playlist_index") == 2
    assert await harness.get(second, "source_url") == "https://example.invalid/page"
    assert await harness.history(first) == ["created"]
